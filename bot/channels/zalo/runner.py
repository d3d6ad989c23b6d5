"""Run the Zalo bot with the durable inbox, by long polling or by webhook.

The same guarantees as the Telegram runner, within what Zalo allows:

- webhook: an event is committed to the inbox (channel "zalo") before the POST is answered
  200; an error or a dropped connection answers nothing good, and Zalo may send it again.
- polling: Zalo's getUpdates has no offset and no acknowledgement (see ``client``): an event it
  hands out is gone. So the event is committed before the next getUpdates; while the database
  refuses it, it is kept and retried, and no further event is fetched. Only a process killed
  between receiving an event and committing it loses it: Zalo's own docs recommend the
  webhook for production for that reason.
- the effect and the row's ``done_at`` commit in one transaction (``router.handle``); rows
  still pending replay at start-up and after every poll, in inbox key order, which follows the
  message date, so in order per chat. A redelivered event has the same key and is stored once.
- what the person can type next ("2" for the second choice) is stored with the conversation in
  that same transaction; then the answer is sent. A death in between loses one reply, never an
  answer.

Quota: when Zalo refuses sends for the monthly quota (``sender``), inbound messages go on being
stored and applied, so nothing a person typed is lost and they see the right question once the
quota resets. Busy and error apologies go out once per update, as every message counts.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import tornado.web
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.zalo import adapter
from bot.channels.zalo.client import POLL_TIMEOUT, Unauthorized, ZaloClient, ZaloError
from bot.channels.zalo.sender import Sender, reminder_sender
from bot.chat import router
from bot.chat.messages import Outbound, Reply
from bot.config import Settings, SettingsError
from bot.i18n import _
from bot.rich import t
from bot.runtime import reminders as delivery
from bot.runtime.waiting import pause, run_until_stopped, until_stopped
from bot.services.context import Services
from bot.storage import inbox
from bot.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
CHANNEL = adapter.CHANNEL
SECRET_HEADER = "X-Bot-Api-Secret-Token"
ATTEMPTS = 3  # tries of one update within a drain before it is left for later
RETRY_SECONDS = 5.0  # pause before a failed store or fetch is tried again
MAX_WAIT = 30.0  # longest pause asked for by a rate limit that is honoured
DATABASE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)


@dataclass
class ZaloBot:
    """What the runner shares: the API, the services, the sender and the stop signal."""

    client: ZaloClient
    services: Services
    stop: asyncio.Event
    sender: Sender = field(init=False)
    failures: dict[int, int] = field(default_factory=dict)  # update id -> failed attempts
    told_busy: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sender = Sender(self.client, self.stop)


async def store(services: Services, events: Sequence[adapter.JsonDict]) -> None:
    """Commit events to the inbox (a redelivered one is kept once)."""
    rows = [
        inbox.Received(
            adapter.update_id_of(event),
            adapter.chat_key_of(event),
            json.dumps(event, ensure_ascii=False),
        )
        for event in events
    ]
    await inbox.store(services.sessions, CHANNEL, rows, services.clock())


async def drain(bot: ZaloBot) -> int:
    """Apply every stored update not yet done, oldest first; return how many were closed.

    Stops early, leaving the rest pending, when asked to stop or when an update cannot be
    applied yet (the database stayed busy): later updates must not overtake it.
    """
    count = 0
    while not bot.stop.is_set():
        async with bot.services.sessions() as session:
            rows = [
                (r.update_id, r.chat_key, r.payload) for r in await inbox.pending(session, CHANNEL)
            ]
            await session.commit()
        if not rows:
            return count
        for update_id, chat_key, payload in rows:
            if bot.stop.is_set() or not await _apply_with_retries(
                bot, update_id, chat_key, payload
            ):
                return count
            count += 1
    return count


async def _apply_with_retries(bot: ZaloBot, update_id: int, chat_key: str, payload: str) -> bool:
    for attempt in range(1, ATTEMPTS + 1):
        if await apply(bot, update_id, chat_key, payload):
            return True
        log.warning("update %s not applied (attempt %d); trying again", update_id, attempt)
        await pause(bot.stop, 0.2 * attempt)
    return False


async def apply(bot: ZaloBot, update_id: int, chat_key: str, payload: str) -> bool:
    """Apply one stored update and send its answer; return True once its row is closed."""
    inbound = adapter.inbound_of(json.loads(payload), update_id)
    try:
        out = await router.handle(bot.services, inbound)
    except router.Busy as busy:
        if update_id not in bot.told_busy:  # once: every message counts against the quota
            bot.told_busy.add(update_id)
            await bot.sender.send(chat_key, Outbound([Reply(busy.text)]))
        return False
    except Exception:
        return await _failed(bot, update_id, chat_key)
    bot.told_busy.discard(update_id)
    bot.failures.pop(update_id, None)
    await bot.sender.send(chat_key, out)
    return True


async def _failed(bot: ZaloBot, update_id: int, chat_key: str) -> bool:
    """Log a failed update by id (never its text), apologise once, close it after ATTEMPTS."""
    log.error("update %s failed", update_id, exc_info=True)
    failures = bot.failures[update_id] = bot.failures.get(update_id, 0) + 1
    if failures == 1:
        apology = t(
            _(
                "Sorry, something went wrong on our side. Your earlier answers are saved; "
                "please try again."
            )
        )
        await bot.sender.send(chat_key, Outbound([Reply(apology)]))
    if failures < ATTEMPTS:
        return False
    log.error("update %s failed %d times; closing it unapplied", update_id, failures)
    del bot.failures[update_id]
    async with bot.services.sessions() as session:
        await inbox.mark_done(session, CHANNEL, update_id, bot.services.clock())
        await session.commit()
    return True


# --------------------------------------------------------------------------- polling


async def poll(bot: ZaloBot) -> None:
    """Fetch one event at a time, commit it, apply what is pending, and fetch again."""
    unsaved: list[adapter.JsonDict] = []
    failures = 0
    while not bot.stop.is_set():
        if unsaved and not await _store_kept(bot, unsaved):
            await pause(bot.stop, RETRY_SECONDS)
            continue
        await _drain_logged(bot)
        try:
            body = await until_stopped(bot.stop, bot.client.get_update(POLL_TIMEOUT))
        except Unauthorized:
            raise
        except ZaloError as error:
            failures += 1
            wait = getattr(error, "retry_after", None) or min(2.0 ** (failures - 1), 30.0)
            log.warning("Zalo getUpdates failed (%s); again in %.0f s", error.code, wait)
            await pause(bot.stop, min(wait, MAX_WAIT))
            continue
        failures = 0
        event = adapter.event_of(body)
        if event is not None:
            unsaved.append(event)
    if unsaved and not await _store_kept(bot, unsaved):
        log.error("stopped with %d Zalo events not stored; Zalo sends none twice", len(unsaved))


async def _store_kept(bot: ZaloBot, unsaved: list[adapter.JsonDict]) -> bool:
    """Store what was fetched; keep it in hand while the database refuses."""
    try:
        await store(bot.services, unsaved)
    except DATABASE_ERRORS as error:
        log.error("could not store %d Zalo events: %s", len(unsaved), type(error).__name__)
        return False
    unsaved.clear()
    return True


async def _drain_logged(bot: ZaloBot) -> int:
    try:
        return await drain(bot)
    except DATABASE_ERRORS as error:  # stored rows are safe; the next round applies them
        log.error("could not apply stored Zalo updates: %s", type(error).__name__)
        return 0


def _client(settings: Settings) -> ZaloClient:
    if settings.zalo_token is None:
        raise SettingsError("HOCTAP_ZALO_TOKEN: set the token from Zalo Bot Creator")
    return ZaloClient(settings.zalo_token.value, settings.zalo_base_url)


def start_reminders(
    settings: Settings, services: Services, client: ZaloClient, stop: asyncio.Event
) -> asyncio.Task[None]:
    """The one periodic job: plan and send reminders to Zalo chats (numbered choices)."""
    deliverer = delivery.Deliverer.configured(
        settings, services, CHANNEL, reminder_sender(client), keyed=True
    )
    return asyncio.create_task(deliverer.run(stop))


async def run_polling(settings: Settings, services: Services, stop: asyncio.Event) -> None:
    """Check the token, replay what a crash left undone, then poll until ``stop`` is set."""
    async with _client(settings) as client:
        await client.get_me()
        await client.delete_webhook()  # getUpdates does not work while a webhook is set
        bot = ZaloBot(client, services, stop)
        reminders = start_reminders(settings, services, client, stop)
        try:
            log.info("replayed %d stored Zalo updates; polling", await _drain_logged(bot))
            await run_until_stopped(stop, asyncio.create_task(poll(bot)))
        finally:
            await delivery.finish(stop, reminders)


# --------------------------------------------------------------------------- webhook


class _WebhookHandler(tornado.web.RequestHandler):
    """Answers Zalo's POST only after the event is committed to the inbox."""

    def initialize(self, services: Services, secret: str, wake: asyncio.Event) -> None:
        self.services, self.secret, self.wake = services, secret, wake

    async def post(self) -> None:
        given = self.request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret.encode()):
            self.send_error(403)
            return
        try:
            body = json.loads(self.request.body)
        except ValueError:
            self.send_error(400)
            return
        event = adapter.event_of(body)
        if event is not None:
            try:
                await store(self.services, [event])
            except DATABASE_ERRORS as error:  # not stored: no 200, so Zalo may send it again
                log.error("could not store a Zalo event: %s", type(error).__name__)
                self.send_error(500)
                return
        # else: no message to answer (another kind of event); acknowledged and left.
        self.set_status(200)  # committed: now it is safe to say so
        await self.finish({"message": "Success"})
        if event is not None:
            self.wake.set()


async def _work(bot: ZaloBot, wake: asyncio.Event) -> None:
    """Apply stored updates whenever one arrives, and every few seconds (what another worker
    left, or what waited for a busy database)."""
    while not bot.stop.is_set():
        wake.clear()
        await _drain_logged(bot)
        await pause(bot.stop, RETRY_SECONDS, wake)


def webhook_secret(settings: Settings) -> str:
    """The webhook secret, checked against Zalo's rule (8 to 256 characters)."""
    secret = settings.webhook_secret.value if settings.webhook_secret else ""
    if not 8 <= len(secret) <= 256:
        raise SettingsError("HOCTAP_WEBHOOK_SECRET: Zalo needs 8 to 256 characters")
    return secret


async def run_webhook(
    settings: Settings, services: Services, stop: asyncio.Event, public_url: str
) -> None:
    """Serve Zalo's webhook calls until ``stop`` is set; replay what a crash left undone."""
    secret = webhook_secret(settings)
    path = urlsplit(public_url).path or "/"
    wake = asyncio.Event()
    server = tornado.web.Application(
        [(path, _WebhookHandler, {"services": services, "secret": secret, "wake": wake})],
        log_function=_log_request,
    ).listen(settings.webhook_port, address=settings.webhook_listen)
    try:
        async with _client(settings) as client:
            await client.get_me()
            bot = ZaloBot(client, services, stop)
            await client.set_webhook(public_url, secret)
            log.info(
                "Zalo webhook listening on %s:%d%s",
                settings.webhook_listen,
                settings.webhook_port,
                path,
            )
            reminders = start_reminders(settings, services, client, stop)
            try:
                await run_until_stopped(stop, asyncio.create_task(_work(bot, wake)))
            finally:
                await delivery.finish(stop, reminders)
    finally:
        server.stop()
        await server.close_all_connections()


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Log refused webhook calls only (never bodies: they hold personal data)."""
    if handler.get_status() >= 400:
        log.warning("Zalo webhook call answered %d", handler.get_status())
