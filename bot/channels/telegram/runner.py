"""Run the Telegram bot with a durable inbox, by long polling or by webhook.

python-telegram-bot acknowledges an update before any handler runs (a webhook answers 200 first,
polling confirms a batch with the next getUpdates), so a crash would drop what was acknowledged.
Here the acknowledgement moves behind the inbox, and every point the process can die at is safe:

- before the raw update is committed: nothing was acknowledged, so Telegram sends it again.
  Polling confirms a batch only by the next getUpdates, asked after the batch is committed; the
  webhook answers 200 only after the commit (an error or a dropped connection makes Telegram
  retry). A copy of an update already stored is ignored on insert (key: channel, update id).
- after the commit, before or during its effect: the effect and the row's ``done_at`` commit in
  one transaction (``router.handle``), so a death rolls both back and the row stays pending; it
  is replayed at the next start (or by another worker's periodic scan), in update id order
  within each chat.
- after the effect committed, before the reply went out: the row is done, nothing is replayed
  and nothing is applied twice; the person misses that one reply and sees the next step when
  they write again (their position lives in the database).

Two webhook workers may drain the same pending rows: the claim of a row (``inbox.claim``,
``people.claim_and_enter``) locks it, so the second waits for the first's transaction and then
skips it. An update the handler could not apply because the database stayed busy stays pending
and is retried, before any later update of its chat. Different chats are applied side by side
(``Dispatcher``), so a reply's round trip to Telegram holds up nobody else, and the next batch
is fetched and stored while one is applied.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import json
import logging
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from urllib.parse import urlsplit

import tornado.web
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import Conflict, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes

from bot.channels.telegram import handlers
from bot.channels.telegram.api import HoctapBot
from bot.channels.telegram.context import (
    APPLIED_KEY,
    SERVICES_KEY,
    STALE_KEY,
    WAKE_KEY,
    HoctapApplication,
    HoctapContext,
)
from bot.channels.telegram.http import AiohttpRequest
from bot.channels.telegram.sender import reminder_sender
from bot.config import Settings
from bot.runtime import reminders as delivery
from bot.runtime.waiting import pause, run_until_stopped, until_stopped
from bot.services.context import Services
from bot.storage import inbox
from bot.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
CHANNEL = handlers.CHANNEL
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news
BATCH = 100  # updates a getUpdates call returns at most (Telegram's default limit)
ALLOWED = ["message", "callback_query"]
FAILED_KEY = "hoctap.failed"  # update id -> how often its handler raised, in this process
ATTEMPTS = 3  # tries of one update before it is left for a later scan
RETRY_SECONDS = 5.0  # pause before a stuck update or a failed store is tried again
DATABASE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)
CHATS_AT_ONCE = 8  # chats applied side by side (each in its own order), see `Dispatcher`
# Telegram refuses to answer a callback query older than about 15 seconds ("query is too old");
# a tap applied later than this (a backlog, a replay after a restart) is not answered.
QUERY_SECONDS = 10.0


def build_application(settings: Settings, services: Services) -> HoctapApplication:
    """The python-telegram-bot Application: handlers, rate limiter, no stock updater."""
    assert settings.telegram_token is not None
    bot = HoctapBot(
        settings.telegram_token.value,
        base_url=settings.telegram_base_url,
        base_file_url=settings.telegram_base_file_url,
        request=AiohttpRequest(),
        get_updates_request=AiohttpRequest(connections=1),
        rate_limiter=AIORateLimiter(overall_max_rate=settings.telegram_max_rate, max_retries=3),
    )
    application = cast(
        HoctapApplication,
        (  # the builder's generic types lose HoctapContext
            ApplicationBuilder()
            .bot(bot)
            .context_types(ContextTypes(context=HoctapContext))
            .updater(None)  # ours stores each update before acknowledging it
            .build()
        ),
    )
    application.bot_data[SERVICES_KEY] = services
    application.bot_data[FAILED_KEY] = {}
    application.bot_data[APPLIED_KEY] = set()
    handlers.setup(application)
    application.add_error_handler(_remember_failure)
    return application


async def _remember_failure(update: object, context: HoctapContext) -> None:
    """Count that a handler raised for this update (``apply`` gives up after ``ATTEMPTS``)."""
    if isinstance(update, Update):
        failures = _failures(context.bot_data)
        failures[update.update_id] = failures.get(update.update_id, 0) + 1


def _failures(bot_data: dict[Any, Any]) -> dict[int, int]:
    failures = bot_data[FAILED_KEY]
    assert isinstance(failures, dict)
    return failures


def chat_key(raw: dict[str, object]) -> str:
    """The chat an update belongs to, for per-chat ordering."""
    for kind in ("message", "edited_message", "callback_query"):
        body = raw.get(kind)
        if isinstance(body, dict):
            sender = body.get("from") or body.get("chat") or {}
            if isinstance(sender, dict):
                return str(sender.get("id", ""))
    return ""


async def store(
    services: Services, raw_updates: Sequence[dict[str, object]]
) -> list[inbox.Waiting]:
    """Commit raw updates to the inbox (a redelivered one is kept once); return the keys of
    those stored now (not the redeliveries)."""
    rows = [
        inbox.Received(
            int(str(raw["update_id"])), chat_key(raw), json.dumps(raw, ensure_ascii=False)
        )
        for raw in raw_updates
    ]
    new = await inbox.store(services.sessions, CHANNEL, rows, services.clock())
    return [inbox.Waiting(row.update_id, row.chat_key) for row in rows if row.update_id in new]


class Dispatcher:
    """Applies stored updates as they arrive, oldest first per chat, ``CHATS_AT_ONCE`` chats at
    a time; a chat that has applied all it had makes room for the next one at once.

    Work comes from the inbox: a ``scan`` reads the pending rows and queues those not yet
    queued behind their chat's earlier ones. The webhook ``wake``s it after storing an update
    (another worker may hold earlier updates of the same chat); the poller, the only one
    fetching, ``offer``s what it just stored, which saves a read per batch. It also scans every
    ``RETRY_SECONDS`` (rows another worker stored and left, or rows left here while the
    database stayed busy). An update that cannot be applied yet stops its chat: the chat's
    queue is dropped (the rows stay pending) and no update of that chat is queued until the next
    scan, a pause later, starts again from its oldest pending row, so no later update of a chat
    overtakes an earlier one. ``fresh`` holds updates already parsed (just received, or read
    back together for a replay): none is parsed twice.
    """

    def __init__(
        self, application: HoctapApplication, services: Services, stop: asyncio.Event
    ) -> None:
        self.application, self.services, self.stop = application, services, stop
        self.wake = asyncio.Event()
        self.fresh: dict[int, Update] = {}
        self._queues: dict[str, deque[inbox.Waiting]] = {}
        self._chats: dict[str, asyncio.Task[None]] = {}
        self._queued: set[int] = set()
        self._gate = asyncio.Semaphore(CHATS_AT_ONCE)
        self._held: dict[str, float] = {}  # chat -> loop time before which it is not retried
        self._arrived: dict[int, float] = {}  # update id -> loop time it came in, this process
        self._scanning = False
        self._partial = False  # the last scan did not reach every pending row
        self.applied = 0

    def busy(self) -> bool:
        """True while anything stored here is not yet applied and answered: a scan is asked
        for or running, a chat has updates in hand or is held back, or rows wait beyond what
        the last scan read."""
        return (
            self.wake.is_set()
            or self._scanning
            or self._partial
            or bool(self._chats)
            or bool(self._held)
        )

    async def run(self) -> None:
        """Scan whenever woken (and every few seconds) until stopped; then let each chat finish
        the update in hand."""
        stop = self.stop
        try:
            while not stop.is_set():
                self.wake.clear()
                try:
                    await self.scan()
                except DATABASE_ERRORS as error:  # the rows stay pending; the next scan takes them
                    log.error("could not read stored updates: %s", type(error).__name__)
                await pause(stop, RETRY_SECONDS, self.wake)
        finally:
            try:
                await self.settle()
            except asyncio.CancelledError:  # out of time: the updates in hand roll back
                chats = list(self._chats.values())
                for chat in chats:
                    chat.cancel()
                await asyncio.gather(*chats, return_exceptions=True)
                raise

    async def scan(self) -> int:
        """Queue the pending rows not queued yet, and start a task for each chat with work;
        return how many were queued."""
        self._scanning = True
        try:
            async with self.services.sessions() as session:
                rows = await inbox.waiting(session, CHANNEL)
                await session.commit()
        finally:
            self._scanning = False
        now = asyncio.get_running_loop().time()
        self._held = {chat: until for chat, until in self._held.items() if until > now}
        queued = sum(self._queue(row) for row in rows)
        for update_id in [u for u in self.fresh if u not in self._queued]:
            del self.fresh[update_id]  # done already (a redelivery), or held back: read again
        # A backlog: rows beyond these wait for later scans (a chat that finishes asks for one),
        # and until a scan reaches them all nothing newer is queued past them.
        self._partial = len(rows) == inbox.PENDING_LIMIT
        return queued

    def offer(
        self,
        rows: Sequence[inbox.Waiting],
        raw: Mapping[int, dict[str, Any]],
        backlog: bool = False,
    ) -> None:
        """Queue updates the poller just stored, as a scan would find them, parsed from ``raw``;
        while older rows wait beyond the last scan, leave them to scans (they must not
        overtake). ``backlog``: they waited at Telegram while this process was not running, so
        their taps may be too old to answer."""
        if self._partial:
            for row in rows:
                self._parse(row.update_id, raw[row.update_id], backlog)
            self.wake.set()
            return
        for row in rows:
            if self._queue(row):
                self._parse(row.update_id, raw[row.update_id], backlog)

    def _queue(self, row: inbox.Waiting) -> bool:
        """Queue one stored row behind its chat's earlier ones; False if it is not for now
        (queued already, or its chat is held back)."""
        if row.update_id in self._queued or row.chat_key in self._held:
            return False
        self._queued.add(row.update_id)
        self._queues.setdefault(row.chat_key, deque()).append(row)
        if row.chat_key not in self._chats:
            self._chats[row.chat_key] = asyncio.create_task(self._chat(row.chat_key))
        return True

    async def settle(self) -> None:
        """Wait until no chat task is left (each stops between updates once asked to)."""
        while self._chats:
            await asyncio.gather(*self._chats.values(), return_exceptions=True)

    async def drain(self) -> int:
        """Apply what is pending now (at start-up: what a crash left), but for chats held back
        because the database refused them; return how many were applied."""
        before = self.applied
        while await self.scan() and not self.stop.is_set():
            await self.settle()
            if not self._partial:
                break
        await self.settle()
        return self.applied - before

    async def _chat(self, key: str) -> None:
        queue = self._queues[key]
        try:
            async with self._gate:
                while queue and not self.stop.is_set():
                    row = queue[0]
                    if row.update_id not in self.fresh:
                        await self._read_back(queue)
                    update = self.fresh.pop(row.update_id, None)
                    self._mark_stale(row.update_id)
                    if update is not None and not await _apply_with_retries(
                        self.application, self.services, update
                    ):
                        self._hold(key)  # left pending, with everything after it in this chat
                        break
                    queue.popleft()
                    self._queued.discard(row.update_id)
                    self.applied += 1
        except DATABASE_ERRORS as error:
            log.error("could not apply stored updates: %s", type(error).__name__)
            self._hold(key)
        except Exception:
            log.exception("applying the updates of a chat failed; they stay pending")
            self._hold(key)
        finally:
            for row in queue:  # not applied here: the rows stay pending for a later scan
                self._queued.discard(row.update_id)
                self.fresh.pop(row.update_id, None)
            del self._queues[key], self._chats[key]
            if self._partial:
                self.wake.set()  # room for rows the last scan did not reach

    def _mark_stale(self, update_id: int) -> None:
        """Tell the handlers a tap is too old to answer: replayed from the inbox, or applied
        long after it came in (they still show its effect)."""
        arrived = self._arrived.pop(update_id, None)
        now = asyncio.get_running_loop().time()
        stale: set[int] = self.application.bot_data.setdefault(STALE_KEY, set())
        if arrived is None or now - arrived > QUERY_SECONDS:
            stale.add(update_id)

    def _hold(self, key: str) -> None:
        """Leave this chat's pending updates for a scan ``RETRY_SECONDS`` from now."""
        self._held[key] = asyncio.get_running_loop().time() + RETRY_SECONDS

    def take(self, update_id: int, raw: dict[str, Any]) -> None:
        """A raw update the webhook just stored: parse it now (not again from the inbox) and
        apply it soon."""
        self._parse(update_id, raw)
        self.wake.set()

    def _parse(self, update_id: int, raw: dict[str, Any], backlog: bool = False) -> None:
        if not backlog:
            self._arrived.setdefault(update_id, asyncio.get_running_loop().time())
        try:
            self.fresh[update_id] = Update.de_json(raw, self.application.bot)
        except Exception:  # read again from the inbox, where a broken one is closed
            log.warning("update %s could not be read as it came", update_id)

    async def _read_back(self, queue: deque[inbox.Waiting]) -> None:
        """Parse the stored payloads of the queued updates not in ``fresh`` (a replay), in one
        read. One gone meanwhile (another worker pruned it) is left out; one that cannot be
        read is closed, logged by id: there is nothing to apply."""
        wanted = [row.update_id for row in queue if row.update_id not in self.fresh]
        async with self.services.sessions() as session:
            payloads = await inbox.payloads_of(session, CHANNEL, wanted)
            broken = []
            for update_id, payload in payloads.items():
                try:
                    self.fresh[update_id] = Update.de_json(
                        json.loads(payload), self.application.bot
                    )
                except Exception:
                    log.error("update %s cannot be read; closing it unapplied", update_id)
                    broken.append(update_id)
            for update_id in broken:
                await inbox.mark_done(session, CHANNEL, update_id, self.services.clock())
            await session.commit()


async def _apply_with_retries(
    application: HoctapApplication, services: Services, update: Update
) -> bool:
    for attempt in range(1, ATTEMPTS + 1):
        if await apply(application, services, update):
            return True
        log.warning(
            "update %s not applied (attempt %d of %d)", update.update_id, attempt, ATTEMPTS
        )
        if attempt < ATTEMPTS:
            await asyncio.sleep(0.2 * attempt)
    return False


async def apply(application: HoctapApplication, services: Services, update: Update) -> bool:
    """Run the handlers for one stored update; return True once its row is closed.

    A handler marks the row done in the transaction of its effect; what no handler takes is
    closed here. A handler that returned without closing the row (the database stayed busy)
    leaves it open, to be tried again. A handler that raised has apologised to the person; after
    ``ATTEMPTS`` failures its update is closed too, so that one broken update cannot hold up
    everyone behind it (logged as an error, by update id only).
    """
    update_id = update.update_id
    applied: set[int] = application.bot_data[APPLIED_KEY]
    await application.process_update(update)
    failures = _failures(application.bot_data)
    if update_id in applied:  # the usual case: no need to ask the database
        applied.discard(update_id)
        failures.pop(update_id, None)  # a handler that raised did so after the commit
        return True
    async with services.sessions() as session:
        if await inbox.is_done(session, CHANNEL, update_id):
            failures.pop(update_id, None)  # a handler that raised did so after the commit
            return True
        if failures.get(update_id, 0) >= ATTEMPTS:
            log.error("update %s failed %d times; closing it unapplied", update_id, ATTEMPTS)
            del failures[update_id]
        elif update_id in failures or _taken(application, update):
            return False
        await inbox.mark_done(session, CHANNEL, update_id, services.clock())
        await session.commit()
    return True


def _taken(application: HoctapApplication, update: Update) -> bool:
    """True when some handler takes this update (its router call closes the row)."""
    return any(
        handler.check_update(update) not in (None, False)
        for group in application.handlers.values()
        for handler in group
    )


async def poll(
    application: HoctapApplication,
    services: Services,
    dispatcher: Dispatcher,
    stop: asyncio.Event,
) -> None:
    """Long polling where the offset moves on only after the batch is committed; each stored
    batch is offered to the dispatcher, and the next batch is fetched while it applies this one."""
    offset: int | None = None
    failures = 0
    behind = True
    while not stop.is_set():
        try:
            updates = await until_stopped(
                stop, application.bot.raw_updates(offset, POLL_TIMEOUT, ALLOWED)
            )
        except (NetworkError, Conflict) as error:  # TimedOut and RetryAfter are NetworkErrors
            failures += 1
            delay = _retry_delay(error, failures)
            log.warning("getUpdates failed (%s); again in %.0f s", type(error).__name__, delay)
            await pause(stop, delay)
            continue
        failures = 0
        if not updates:
            continue
        try:
            stored = await store(services, updates)
        except DATABASE_ERRORS as error:
            # Not stored, so not acknowledged: the same batch comes back with the next call.
            log.error("could not store updates: %s", type(error).__name__)
            await pause(stop, RETRY_SECONDS)
            continue
        # Acknowledged by the next call, after the commit.
        offset = int(updates[-1]["update_id"]) + 1
        raw = {int(update["update_id"]): update for update in updates}
        # Until a batch comes back short of Telegram's 100, what arrives waited at Telegram
        # while no process was polling: its taps may be too old to answer.
        dispatcher.offer(stored, raw, backlog=behind)
        behind = behind and len(updates) >= BATCH
    if offset is not None:
        await _confirm(application, offset)


async def _confirm(application: HoctapApplication, offset: int) -> None:
    """On a clean stop, acknowledge the last stored batch (else Telegram resends it)."""
    try:
        await application.bot.raw_updates(offset, 0, limit=1)
    except NetworkError:
        log.info("last batch not confirmed; it is stored and comes back harmlessly")


async def _poll_and_apply(
    application: HoctapApplication,
    services: Services,
    dispatcher: Dispatcher,
    stop: asyncio.Event,
) -> None:
    """Fetch and store updates while the dispatcher applies them, until ``stop``. If either
    fails, the other is stopped too (nothing outlives the runner)."""
    tasks = [
        asyncio.create_task(poll(application, services, dispatcher, stop)),
        asyncio.create_task(dispatcher.run()),
    ]
    try:
        await asyncio.gather(*tasks)
    finally:  # one failed, or the runner stopped waiting: the other one goes too
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _retry_delay(error: Exception, failures: int) -> float:
    if isinstance(error, RetryAfter):
        wait = error.retry_after
        return wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
    return float(min(2 ** (failures - 1), 30))


def start_reminders(
    settings: Settings, services: Services, application: HoctapApplication, stop: asyncio.Event
) -> asyncio.Task[None]:
    """The one periodic job: plan and send reminders through the Application's bot."""
    deliverer = delivery.Deliverer.configured(
        settings, services, CHANNEL, reminder_sender(application.bot)
    )
    application.bot_data[WAKE_KEY] = deliverer.wake
    return asyncio.create_task(deliverer.run(stop))


Observer = Callable[[Dispatcher], None]  # told the dispatcher once it runs (to watch ``busy``)


async def run_polling(
    settings: Settings, services: Services, stop: asyncio.Event, observe: Observer | None = None
) -> None:
    """Start, replay what a crash left undone, then poll until ``stop`` is set."""
    application = build_application(settings, services)
    async with application:
        await application.bot.delete_webhook()
        await application.start()
        reminders = start_reminders(settings, services, application, stop)
        dispatcher = Dispatcher(application, services, stop)
        if observe is not None:
            observe(dispatcher)
        try:
            replayed = await dispatcher.drain()
            log.info("replayed %d stored updates; polling", replayed)
            work = _poll_and_apply(application, services, dispatcher, stop)
            await run_until_stopped(stop, asyncio.create_task(work))
        finally:
            await delivery.finish(stop, reminders)
            await application.stop()  # else shutting down hides the error with its own


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _WebhookHandler(tornado.web.RequestHandler):
    """Answers Telegram's POST only after the update is committed to the inbox."""

    def initialize(self, services: Services, secret: str, dispatcher: Dispatcher) -> None:
        self.services, self.secret, self.dispatcher = services, secret, dispatcher

    async def post(self) -> None:
        if not hmac.compare_digest(self.request.headers.get(SECRET_HEADER, ""), self.secret):
            self.send_error(403)
            return
        try:
            raw = json.loads(self.request.body)
            update_id = int(raw["update_id"])
        except (ValueError, KeyError, TypeError):
            self.send_error(400)
            return
        # An error here answers 500 and Telegram sends the update again.
        await store(self.services, [raw])
        self.set_status(200)  # committed: now it is safe to say so
        await self.finish()
        self.dispatcher.take(update_id, raw)


async def run_webhook(
    settings: Settings,
    services: Services,
    stop: asyncio.Event,
    public_url: str,
    observe: Observer | None = None,
) -> None:
    """Serve Telegram's webhook calls until ``stop`` is set; replay what a crash left undone."""
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.value
    path = urlsplit(public_url).path or "/"
    application = build_application(settings, services)
    dispatcher = Dispatcher(application, services, stop)
    if observe is not None:
        observe(dispatcher)
    server = tornado.web.Application(
        [
            (
                path,
                _WebhookHandler,
                {"services": services, "secret": secret, "dispatcher": dispatcher},
            )
        ],
        log_function=_log_request,
    ).listen(settings.webhook_port, address=settings.webhook_listen)
    try:
        async with application:
            await application.start()
            await application.bot.set_webhook(
                public_url, secret_token=secret, allowed_updates=ALLOWED
            )
            log.info(
                "webhook listening on %s:%d%s",
                settings.webhook_listen,
                settings.webhook_port,
                path,
            )
            reminders = start_reminders(settings, services, application, stop)
            try:
                await run_until_stopped(stop, asyncio.create_task(dispatcher.run()))
            finally:
                await delivery.finish(stop, reminders)
                await application.stop()
    finally:
        server.stop()
        await server.close_all_connections()


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Log refused webhook calls only (never bodies: they hold personal data)."""
    status = handler.get_status()
    if status >= 400:
        log.warning("webhook call answered %d", status)
