"""Run the Telegram bot with a durable inbox, by long polling or by webhook.

python-telegram-bot acknowledges an update before any handler runs (a webhook answers 200 first,
polling confirms a batch with the next getUpdates), so a crash would drop what was acknowledged.
Here every update is committed raw to the inbox *before* it is acknowledged: polling asks for the
next batch only after the last one is stored, and the webhook answers 200 only after the commit.
Handlers mark an update done in the transaction of its effect; what is left undone when the
process dies is replayed at the next start, in update order (so in order per chat).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Sequence
from urllib.parse import urlsplit

import tornado.web
from telegram import Update
from telegram.ext import AIORateLimiter, ApplicationBuilder, ContextTypes

from bot.channels.telegram import handlers
from bot.channels.telegram.context import SERVICES_KEY, HoctapApplication, HoctapContext
from bot.config import Settings
from bot.services.context import Services
from bot.storage import inbox

log = logging.getLogger(__name__)
CHANNEL = handlers.CHANNEL
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news
ALLOWED = ["message", "callback_query"]


def build_application(settings: Settings, services: Services) -> HoctapApplication:
    """The python-telegram-bot Application: handlers, rate limiter, no stock updater."""
    assert settings.telegram_token is not None
    application: HoctapApplication = (
        ApplicationBuilder()
        .token(settings.telegram_token.value)
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.telegram_base_file_url)
        .context_types(ContextTypes(context=HoctapContext))
        .rate_limiter(AIORateLimiter(max_retries=3))
        .updater(None)  # ours stores each update before acknowledging it
        .build()
    )
    application.bot_data[SERVICES_KEY] = services
    handlers.setup(application)
    return application


def chat_key(raw: dict[str, object]) -> str:
    """The chat an update belongs to, for per-chat ordering."""
    for kind in ("message", "edited_message", "callback_query"):
        body = raw.get(kind)
        if isinstance(body, dict):
            sender = body.get("from") or body.get("chat") or {}
            if isinstance(sender, dict):
                return str(sender.get("id", ""))
    return ""


async def store(services: Services, raw_updates: Sequence[dict[str, object]]) -> None:
    """Commit raw updates to the inbox (a redelivered one is kept once)."""
    rows = [
        inbox.Received(
            int(str(raw["update_id"])), chat_key(raw), json.dumps(raw, ensure_ascii=False)
        )
        for raw in raw_updates
    ]
    async with services.sessions() as session:
        await inbox.record(session, CHANNEL, rows, services.clock())
        await session.commit()


async def drain(application: HoctapApplication, services: Services) -> int:
    """Apply every stored update not yet done, oldest first; return how many were run."""
    count = 0
    while True:
        async with services.sessions() as session:
            rows = await inbox.pending(session, CHANNEL)
            await session.commit()
        if not rows:
            return count
        for row in rows:
            await apply(application, services, row.update_id, json.loads(row.payload))
            count += 1


async def apply(
    application: HoctapApplication, services: Services, update_id: int, raw: dict[str, object]
) -> None:
    """Run the handlers for one stored update, then close it even if no handler took it."""
    update = Update.de_json(raw, application.bot)
    await application.process_update(update)
    async with services.sessions() as session:
        # Handlers that changed something marked it done with their effect; this closes the
        # rest (updates no handler takes, or whose handler failed and apologised).
        await inbox.mark_done(session, CHANNEL, update_id, services.clock())
        await session.commit()


async def poll(application: HoctapApplication, services: Services, stop: asyncio.Event) -> None:
    """Long polling where the offset moves on only after the batch is committed."""
    offset: int | None = None
    while not stop.is_set():
        updates = await application.bot.get_updates(
            offset=offset,
            timeout=POLL_TIMEOUT,
            allowed_updates=ALLOWED,
            read_timeout=POLL_TIMEOUT + 10,
        )
        if not updates:
            continue
        await store(services, [update.to_dict() for update in updates])
        offset = updates[-1].update_id + 1  # acknowledged by the next call, after the commit
        await drain(application, services)


async def run_polling(settings: Settings, services: Services, stop: asyncio.Event) -> None:
    """Start, replay what a crash left undone, then poll until ``stop`` is set."""
    application = build_application(settings, services)
    async with application:
        await application.bot.delete_webhook()
        await application.start()
        replayed = await drain(application, services)
        log.info("replayed %d stored updates; polling", replayed)
        poller = asyncio.create_task(poll(application, services, stop))
        await _until(stop, poller)
        await application.stop()


async def _until(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Wait for a stop request or for the task to end (its error is raised here)."""
    waiter = asyncio.create_task(stop.wait())
    done, _pending = await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    for pending_task in (waiter, task):
        if pending_task not in done:
            pending_task.cancel()
    await asyncio.gather(waiter, task, return_exceptions=True)
    if task in done and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class _WebhookHandler(tornado.web.RequestHandler):
    """Answers Telegram's POST only after the update is committed to the inbox."""

    def initialize(self, services: Services, secret: str, queue: asyncio.Queue[int]) -> None:
        self.services, self.secret, self.queue = services, secret, queue

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
        await store(self.services, [raw])  # committed: now it is safe to say 200
        self.set_status(200)
        await self.finish()
        self.queue.put_nowait(update_id)


async def _work(
    application: HoctapApplication, services: Services, queue: asyncio.Queue[int]
) -> None:
    """Apply webhook updates one at a time, in arrival order."""
    while True:
        await queue.get()
        await drain(application, services)


async def run_webhook(
    settings: Settings,
    services: Services,
    stop: asyncio.Event,
    public_url: str,
) -> None:
    """Serve Telegram's webhook calls until ``stop`` is set; replay what a crash left undone."""
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.value
    path = urlsplit(public_url).path or "/"
    application = build_application(settings, services)
    queue: asyncio.Queue[int] = asyncio.Queue()
    server = tornado.web.Application(
        [(path, _WebhookHandler, {"services": services, "secret": secret, "queue": queue})]
    ).listen(settings.webhook_port, address=settings.webhook_listen)
    async with application:
        await application.start()
        await drain(application, services)
        await application.bot.set_webhook(public_url, secret_token=secret, allowed_updates=ALLOWED)
        worker = asyncio.create_task(_work(application, services, queue))
        log.info(
            "webhook listening on %s:%d%s", settings.webhook_listen, settings.webhook_port, path
        )
        await _until(stop, worker)
        server.stop()
        await server.close_all_connections()
        await application.stop()
