"""Show an answer on Telegram: inline keyboards, the tapped message edited in place, a short
toast (or an alert that stays) for the tap, documents and photos; and reminders.

Every text is rendered here, once: ``Text.html()`` escapes what people typed or named, so a
name never breaks Telegram's HTML. Lengths are Telegram's (visible UTF-16 units, ``html``):
long texts are cut between lines, a caption too long for a file goes as a message of its own.
What Telegram answers becomes the runner's outcome: shown, undeliverable (blocked, refused) or
to be tried again (the network). Must not import the database or the chat flows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from io import BytesIO

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import FileSizeLimit, MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter

from bot.channels.telegram import html
from bot.chat.messages import Outbound, Reply
from bot.rich import Text
from bot.runtime.channel import AGAIN, SHOWN, UNDELIVERABLE, Incoming, Outcome

CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024 visible units
TEXT_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
TOAST_LIMIT = 200  # answerCallbackQuery text
PHOTO_LIMIT = FileSizeLimit.PHOTOSIZE_UPLOAD  # 10 MB: a larger chart goes as a document

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


async def show(bot: Bot, incoming: Incoming, out: Outbound, fresh: bool) -> str:
    """Answer the tap (if any, and fresh enough to answer), then edit or send each reply; a
    notice that matters (an alert) on a tap too old to answer goes as a message instead."""
    update: Update = incoming.where
    query = update.callback_query
    if query is not None and fresh:
        await _answer(query, out.notice, out.alert)
    elif query is not None and out.alert and out.notice is not None:
        out = Outbound([Reply(out.notice), *out.replies])
    assert incoming.inbound is not None
    chat_id = int(incoming.inbound.actor.chat_id)
    try:
        edited = False
        for reply in out.replies:
            if reply.edit and query is not None and not edited:
                edited = await _edit(bot, query, reply)
                if edited:
                    continue
            await _send(bot, chat_id, reply)
        if out.commands is not None:
            await _set_commands(bot, chat_id, out.commands)
    except Forbidden:
        log.info("update %s: the person blocked the bot", incoming.update_id)
        return UNDELIVERABLE
    except (RetryAfter, NetworkError) as error:  # may not have arrived: shown again later
        log.warning("update %s: reply not sent (%s)", incoming.update_id, type(error).__name__)
        return AGAIN
    except BadRequest as error:
        log.warning("update %s: reply refused: %s", incoming.update_id, error.message)
        return UNDELIVERABLE
    return SHOWN


async def _set_commands(bot: Bot, chat_id: int, commands: Sequence[tuple[str, str]]) -> None:
    """This chat's "/" menu: the person's own commands, in their language (a chat scope
    outranks the lists by language set at start-up). A refusal is logged, not a failure: the
    answer itself went."""
    try:
        await bot.set_my_commands(command_list(commands), scope=BotCommandScopeChat(chat_id))
    except BadRequest as error:
        log.warning("chat %s: commands refused: %s", chat_id, error.message)


def command_list(commands: Sequence[tuple[str, str]]) -> list[BotCommand]:
    """Commands as Telegram takes them: descriptions of 1 to 256 characters."""
    return [BotCommand(name, (what or name)[:256]) for name, what in commands]


async def tell(bot: Bot, chat_id: str, text: Text) -> None:
    """Send one text outside any answer; best effort."""
    try:
        for part in split(text):
            await bot.send_message(int(chat_id), part, parse_mode=ParseMode.HTML)
    except Exception as error:  # the runner carries on; the error is the log's only
        log.warning("could not tell chat %s (%s)", chat_id, type(error).__name__)


async def remind(bot: Bot, chat_id: str, reply: Reply) -> Outcome:
    """Send one reminder; say what Telegram answered."""
    try:
        await _send(bot, int(chat_id), reply)
    except Forbidden:
        return Outcome("blocked")
    except RetryAfter as error:
        wait = error.retry_after
        return Outcome("wait", wait.total_seconds() if isinstance(wait, dt.timedelta) else wait)
    except BadRequest as error:  # the chat is gone, or the text was refused
        log.warning("reminder refused by Telegram: %s", error.message)
        return Outcome("failed")
    except NetworkError:  # includes TimedOut: it may have arrived; sent again later
        return Outcome("retry")
    return Outcome("sent")


async def _answer(query: CallbackQuery, notice: Text | None, alert: bool) -> None:
    text = html.truncate_plain(notice.plain(), TOAST_LIMIT) if notice else None
    try:
        await query.answer(text, show_alert=alert and text is not None)
    except BadRequest as error:  # the tap is too old to answer; the effect is already applied
        log.info("callback answer refused: %s", error.message)


async def _edit(bot: Bot, query: CallbackQuery, reply: Reply) -> bool:
    """Replace the tapped message; a message that is gone or unchanged is not an error."""
    message = query.message
    parts = split(reply.text)
    if message is None or len(parts) != 1:
        return False
    try:
        await bot.edit_message_text(
            parts[0],
            chat_id=message.chat.id,
            message_id=message.message_id,
            parse_mode=ParseMode.HTML,
            reply_markup=keyboard(reply),
        )
    except BadRequest as error:
        if "not modified" in error.message.lower():
            return True
        log.info("edit refused, sending instead: %s", error.message)
        return False
    return True


async def _send(bot: Bot, chat_id: int, reply: Reply) -> None:
    if reply.attachment is not None:
        await _send_file(bot, chat_id, reply)
        return
    parts = split(reply.text)
    for number, part in enumerate(parts, start=1):
        markup = keyboard(reply) if number == len(parts) else None
        await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup)


async def _send_file(bot: Bot, chat_id: int, reply: Reply) -> None:
    """A document or photo with the reply's text as its caption; a caption longer than
    Telegram allows goes first, as a message of its own, rather than cut. A picture larger
    than a photo may be goes as a document, which keeps every pixel."""
    caption: str | None = reply.text.html() if reply.text else None
    if caption is not None and html.visible_length(caption) > CAPTION_LIMIT:
        for part in split(reply.text):
            await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
        caption = None
    attachment = reply.attachment
    assert attachment is not None and attachment.ready
    data = BytesIO(attachment.content)
    if attachment.kind == "photo" and len(attachment.content) <= PHOTO_LIMIT:
        await bot.send_photo(
            chat_id, data, filename=attachment.filename, caption=caption,
            parse_mode=ParseMode.HTML,
        )  # fmt: skip
    else:
        await bot.send_document(
            chat_id, data, filename=attachment.filename, caption=caption,
            parse_mode=ParseMode.HTML,
        )  # fmt: skip
