"""The Bot API client: python-telegram-bot's ExtBot, with three calls that skip its parsing.

sendMessage and editMessageText answer with the Message as Telegram stored it, which the stock
methods turn into objects, keyboard button by button: about a tenth of the CPU of a whole step
(update stored, applied, answered), for a Message nothing here reads. `send_text` and
`edit_text` post the same request through the same path (rate limiter, errors raised as
exceptions) and drop the answer. They skip what the Application does not use: `Defaults`
and arbitrary callback data (``build_application`` sets neither).

`raw_updates` is getUpdates with the updates as Telegram sent them: the runner stores them raw
(they were turned into objects and back before), then reads each on its own, so one that
cannot be read does not hold up the batch.
"""

from __future__ import annotations

from typing import Any, cast

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import ExtBot


class HoctapBot(ExtBot[int]):  # int: the rate limit arguments of AIORateLimiter
    """The bot of the Application (see ``runner.build_application``)."""

    async def send_text(
        self, chat_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """``send_message(chat_id, text, parse_mode=HTML, reply_markup=markup)``, unread."""
        await self._post(
            "sendMessage",
            {
                "chat_id": chat_id,
                "text": text,
                "parse_mode": ParseMode.HTML,
                "reply_markup": markup,
            },
        )

    async def edit_text(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """``edit_message_text(text, chat_id, message_id, parse_mode=HTML, reply_markup=markup)``,
        unread."""
        await self._post(
            "editMessageText",
            {
                "chat_id": chat_id,
                "message_id": message_id,
                "text": text,
                "parse_mode": ParseMode.HTML,
                "reply_markup": markup,
            },
        )

    async def raw_updates(
        self,
        offset: int | None,
        wait_seconds: int,
        allowed_updates: list[str] | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """getUpdates, Telegram holding the call up to ``wait_seconds`` while there is none;
        the updates as Telegram sent them."""
        data = {
            "offset": offset,
            "limit": limit,
            "timeout": wait_seconds,
            "allowed_updates": allowed_updates,
        }
        result = await self._post("getUpdates", data, read_timeout=wait_seconds + 10)
        return cast(list[dict[str, Any]], result)
