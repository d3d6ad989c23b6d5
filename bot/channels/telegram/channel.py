"""The Telegram adapter the runner drives: python-telegram-bot's ``ExtBot`` as the Bot API client.

The bot is python-telegram-bot's own, with its stock ``HTTPXRequest`` and ``AIORateLimiter``
(answers and reminders share it, so Telegram's limits hold for both). getUpdates goes through
the stock request's public ``post``, so each update comes as Telegram sent it: the runner
stores it raw before it is acknowledged (the offset of the next call), and reads each one on
its own (``updates.read``). Must not import the database or the chat flows.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
from collections.abc import Mapping
from urllib.parse import urlencode

from telegram import Bot
from telegram.error import BadRequest, Conflict, NetworkError, RetryAfter
from telegram.ext import AIORateLimiter, ExtBot
from telegram.helpers import create_deep_linked_url
from telegram.request import HTTPXRequest

from bot.channels.telegram import render, updates
from bot.chat.menus import everyone_commands
from bot.chat.messages import Outbound, Reply
from bot.config import Settings
from bot.i18n import use_locale
from bot.rich import Text
from bot.runtime.channel import Incoming, Json, Outcome, Refused, Unreachable

log = logging.getLogger(__name__)
POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CONNECTIONS = 32  # to the Bot API at once: chats answered side by side, and the reminders


class TelegramChannel:
    """Telegram, by long polling or webhook."""

    name = updates.CHANNEL
    keyed = False
    batch = 100  # getUpdates returns at most 100

    def __init__(self, settings: Settings) -> None:
        self.webhook_answer: Json = {}
        assert settings.telegram_token is not None
        self._polling = HTTPXRequest(connection_pool_size=1, read_timeout=POLL_TIMEOUT + 10)
        self.bot: ExtBot[int] = ExtBot(
            settings.telegram_token.value,
            base_url=settings.telegram_base_url,
            base_file_url=settings.telegram_base_file_url,
            request=HTTPXRequest(connection_pool_size=CONNECTIONS),
            get_updates_request=self._polling,
            rate_limiter=AIORateLimiter(
                overall_max_rate=settings.telegram_max_rate, max_retries=3
            ),
        )
        self._secret = ""
        self._offset: int | None = None
        self._confirmed: int | None = None

    async def open(self, webhook_url: str | None, secret: str | None) -> None:
        await self.bot.initialize()  # getMe: a wrong token stops the start here
        await self._set_default_commands()
        if webhook_url is None:
            await self.bot.delete_webhook()  # getUpdates is refused while a webhook is set
            return
        self._secret = secret or ""
        await self.bot.set_webhook(
            webhook_url, secret_token=secret, allowed_updates=updates.ALLOWED
        )

    async def _set_default_commands(self) -> None:
        """The "/" menu of everyone without one of their own: a citizen's commands, in
        Vietnamese, and in English for Telegram apps set to English. People with a role get
        their own list (a chat scope) when their menu is shown."""
        for language in ("vi", "en"):
            with use_locale(language):
                commands = render.command_list(everyone_commands())
            code = "" if language == "vi" else language
            try:
                await self.bot.set_my_commands(commands, language_code=code or None)
            except BadRequest as error:  # the bot still works without a "/" menu
                log.warning("commands for %s refused: %s", language, error.message)

    async def close(self) -> None:
        """On a clean stop, acknowledge the last stored batch (else Telegram sends it again,
        harmlessly: it is stored already)."""
        try:
            if self._offset is not None and self._offset != self._confirmed:
                await self._get_updates(0, limit=1)
        except NetworkError:
            pass
        finally:
            await self.bot.shutdown()

    def read(self, raw: Json) -> Incoming | None:
        return updates.read(raw, self.bot)

    async def fetch(self) -> list[Json]:
        try:
            found = await self._get_updates(POLL_TIMEOUT)
        except RetryAfter as error:
            wait = error.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            raise Unreachable("flood control", seconds) from error
        except (NetworkError, Conflict) as error:  # TimedOut is a NetworkError
            raise Unreachable(type(error).__name__) from error
        return [raw for raw in found if isinstance(raw, dict)]

    async def _get_updates(self, wait: int, limit: int | None = None) -> list[Json]:
        """getUpdates from the offset, the updates as Telegram sent them."""
        query: dict[str, object] = {
            "timeout": wait,
            "allowed_updates": json.dumps(updates.ALLOWED),
        }
        if self._offset is not None:
            query["offset"] = self._offset
        if limit is not None:
            query["limit"] = limit
        url = f"{self.bot.base_url}/getUpdates?{urlencode(query)}"
        result = await self._polling.post(url, read_timeout=wait + 10)
        self._confirmed = self._offset
        return result if isinstance(result, list) else []

    def fetched(self, raws: list[Json]) -> None:
        ids = [raw["update_id"] for raw in raws if type(raw.get("update_id")) is int]
        if ids:
            self._offset = max(ids) + 1
        elif raws and self._offset is not None:
            # Only updates without a usable id: Telegram numbers updates one after another,
            # so the next offset is past them (else they would be fetched again at once).
            self._offset += len(raws)

    def webhook_updates(self, headers: Mapping[str, str], body: bytes) -> list[Json]:
        if not hmac.compare_digest(headers.get(SECRET_HEADER, ""), self._secret):
            raise Refused(403, "wrong secret")
        try:
            raw = json.loads(body)
        except ValueError:
            raise Refused(400, "not JSON") from None
        if not isinstance(raw, dict):
            raise Refused(400, "not an update")
        return [raw]

    async def show(self, incoming: Incoming, out: Outbound, fresh: bool) -> str:
        return await render.show(self.bot, incoming, out, fresh)

    async def tell(self, incoming: Incoming, text: Text) -> None:
        if incoming.inbound is not None:
            await render.tell(self.bot, incoming.inbound.actor.chat_id, text)

    async def remind(self, chat_id: str, reply: Reply) -> Outcome:
        return await render.remind(self.bot, chat_id, reply)

    def invite_link(self, code: str) -> str | None:
        return invite_link(self.bot, code)


def invite_link(bot: Bot, code: str) -> str | None:
    """``https://t.me/<bot>?start=<code>``: python-telegram-bot's helper checks the characters
    and the length Telegram allows; None before getMe told the bot's username."""
    try:
        return create_deep_linked_url(bot.username, code)
    except (RuntimeError, ValueError):  # not initialised yet; a code a link cannot carry
        return None
