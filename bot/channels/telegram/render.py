"""Show a service's answer on Telegram: inline keyboards, the tapped message edited in place,
a short toast (or an alert that stays) for the tap, documents and photos.

Every text is rendered here, once: ``Text.html()`` escapes what people typed or named, so a
name never breaks Telegram's HTML. Lengths are Telegram's (visible UTF-16 units, ``html``):
long texts are cut between lines, a caption too long for a file goes as a message of its own."""

from __future__ import annotations

import logging
from io import BytesIO

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden

from bot.channels.telegram import html
from bot.channels.telegram.api import HoctapBot
from bot.chat.messages import Outbound, Reply
from bot.rich import Text

CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024 visible units
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
TOAST_LIMIT = 200  # answerCallbackQuery text

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


def split(text: Text, limit: int = TEXT_LIMIT) -> list[str]:
    """The text as Telegram HTML, cut into messages Telegram accepts (see ``html.split``)."""
    return html.split(text.html(), limit)


async def show(bot: HoctapBot, update: Update, out: Outbound, answer_tap: bool = True) -> None:
    """Answer the tap (if any, and not too old to answer), then edit or send each reply; a
    notice that matters (an alert) on a tap too old to answer goes as a message instead."""
    query = update.callback_query
    if query is not None and answer_tap:
        await _answer(query, out.notice, out.alert)
    elif query is not None and out.alert and out.notice is not None:
        out = Outbound([Reply(out.notice), *out.replies])
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


async def _answer(query: CallbackQuery, notice: Text | None, alert: bool) -> None:
    text = html.truncate_plain(notice.plain(), TOAST_LIMIT) if notice else None
    try:
        await query.answer(text, show_alert=alert and text is not None)
    except BadRequest as error:  # the tap is too old to answer; the effect is already applied
        log.info("callback answer refused: %s", error.message)


async def _edit(bot: HoctapBot, query: CallbackQuery, reply: Reply) -> bool:
    """Replace the tapped message; a message that is gone or unchanged is not an error."""
    message = query.message
    parts = split(reply.text)
    if message is None or len(parts) != 1:
        return False
    try:
        await bot.edit_text(message.chat.id, message.message_id, parts[0], keyboard(reply))
    except BadRequest as error:
        if "not modified" in error.message.lower():
            return True
        log.info("edit refused, sending instead: %s", error.message)
        return False
    return True


async def _send(bot: HoctapBot, chat_id: int, reply: Reply) -> None:
    try:
        if reply.attachment is not None:
            await _send_file(bot, chat_id, reply)
            return
        parts = split(reply.text)
        for number, part in enumerate(parts, start=1):
            markup = keyboard(reply) if number == len(parts) else None
            await bot.send_text(chat_id, part, markup)
    except Forbidden:
        log.info("chat %s blocked the bot", chat_id)


async def _send_file(bot: HoctapBot, chat_id: int, reply: Reply) -> None:
    """A document or photo with the reply's text as its caption; a caption longer than
    Telegram allows goes first, as a message of its own, rather than cut."""
    caption: str | None = reply.text.html() if reply.text else None
    if caption is not None and html.visible_length(caption) > CAPTION_LIMIT:
        for part in split(reply.text):
            await bot.send_text(chat_id, part)
        caption = None
    attachment = reply.attachment
    assert attachment is not None
    data = BytesIO(attachment.content)
    if attachment.kind == "photo":
        await bot.send_photo(
            chat_id, data, filename=attachment.filename, caption=caption,
            parse_mode=ParseMode.HTML,
        )  # fmt: skip
    else:
        await bot.send_document(
            chat_id, data, filename=attachment.filename, caption=caption,
            parse_mode=ParseMode.HTML,
        )  # fmt: skip
