"""Show a service's answer on Telegram: inline keyboards, the tapped message edited in place,
a short toast for the tap, documents and photos. Long texts are split at line breaks."""

from __future__ import annotations

import logging
from io import BytesIO

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden

from bot.channels.telegram.api import HoctapBot
from bot.services.messages import Outbound, Reply

log = logging.getLogger(__name__)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as an inline keyboard (ids in callback data, labels for people)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(b.label, callback_data=b.data) for b in row]
            for row in reply.buttons
        ]
    )


def split(text: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Cut a long text into messages at line breaks, never inside a line when avoidable."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            parts.append(line[:limit])
            line = line[limit:]
        if current and len(current) + 1 + len(line) > limit:
            parts.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*parts, current] if current or not parts else parts


async def show(bot: HoctapBot, update: Update, out: Outbound) -> None:
    """Answer the tap (if any), then edit or send each reply."""
    query = update.callback_query
    if query is not None:
        await _answer(query, out.notice)
    chat = update.effective_chat
    if chat is None:
        return
    edited = False
    for reply in out.replies:
        if reply.edit and query is not None and not edited:
            edited = await _edit(bot, query, reply)
            if edited:
                continue
        await _send(bot, chat.id, reply)


async def _answer(query: CallbackQuery, notice: str | None) -> None:
    try:
        await query.answer(notice[:200] if notice else None)
    except BadRequest as error:  # the tap is too old to answer; the effect is already applied
        log.info("callback answer refused: %s", error.message)


async def _edit(bot: HoctapBot, query: CallbackQuery, reply: Reply) -> bool:
    """Replace the tapped message; a message that is gone or unchanged is not an error."""
    message = query.message
    if message is None or len(reply.text) > MessageLimit.MAX_TEXT_LENGTH:
        return False
    try:
        await bot.edit_text(message.chat.id, message.message_id, reply.text, keyboard(reply))
    except BadRequest as error:
        if "not modified" in error.message.lower():
            return True
        log.info("edit refused, sending instead: %s", error.message)
        return False
    return True


async def _send(bot: HoctapBot, chat_id: int, reply: Reply) -> None:
    try:
        if reply.attachment is not None:
            data = BytesIO(reply.attachment.content)
            if reply.attachment.kind == "photo":
                await bot.send_photo(
                    chat_id, data, caption=reply.text[:1024] or None, parse_mode=ParseMode.HTML
                )
            else:
                await bot.send_document(
                    chat_id,
                    data,
                    filename=reply.attachment.filename,
                    caption=reply.text[:1024] or None,
                    parse_mode=ParseMode.HTML,
                )
            return
        parts = split(reply.text)
        for number, part in enumerate(parts, start=1):
            markup = keyboard(reply) if number == len(parts) else None
            await bot.send_text(chat_id, part, markup)
    except Forbidden:
        log.info("chat %s blocked the bot", chat_id)
