"""The webhook server of every channel: a platform's POST is answered 200 only once its updates
are committed to the inbox.

An error while storing answers 500 (and a dropped connection answers nothing), so the platform
sends the update again; a copy of an update already stored is kept once (the inbox key). What
the channel refuses (a wrong secret, a body that is not an update) is answered with the
channel's status and stored nowhere. Bodies are never logged: they hold personal data.
Must not import any platform library but the web server.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.web

from bot.runtime.channel import Channel, Incoming, Json, Refused

log = logging.getLogger(__name__)
Store = Callable[[Sequence[Json]], Awaitable[list[Incoming]]]
Take = Callable[[list[Incoming]], None]


class _Handler(tornado.web.RequestHandler):
    def initialize(self, channel: Channel, store: Store, take: Take) -> None:
        self.channel, self.store, self.take = channel, store, take

    async def post(self) -> None:
        try:
            raws = self.channel.webhook_updates(self.request.headers, self.request.body)
        except Refused as refused:
            log.warning("%s webhook call refused: %s", self.channel.name, refused)
            self.send_error(refused.status)
            return
        stored = await self.store(raws)  # an error here answers 500: the platform sends again
        self.set_status(200)  # committed: now it is safe to say so
        await self.finish(self.channel.webhook_answer)
        self.take(stored)

    def write_error(self, status_code: int, **kwargs: object) -> None:
        self.finish({"ok": False, "status": status_code})


def serve(
    channel: Channel, public_url: str, listen: str, port: int, store: Store, take: Take
) -> tornado.httpserver.HTTPServer:
    """Listen for the channel's webhook calls at the path of ``public_url``."""
    path = urlsplit(public_url).path or "/"
    application = tornado.web.Application(
        [(path, _Handler, {"channel": channel, "store": store, "take": take})],
        log_function=_log_request,
    )
    server = application.listen(port, address=listen)
    log.info("%s webhook listening on %s:%d%s", channel.name, listen, port, path)
    return server


def _log_request(handler: tornado.web.RequestHandler) -> None:
    """Log refused webhook calls only (never bodies: they hold personal data)."""
    if handler.get_status() >= 400:
        log.warning("webhook call answered %d", handler.get_status())
