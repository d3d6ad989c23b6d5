"""Telegram updates as the runner keeps them: each raw update read into an ``Incoming``.

A raw update is read on its own (``Update.de_json``), so one that python-telegram-bot cannot
read is closed alone rather than holding up its batch. What no flow takes — an edited message,
a channel post, a message in a group, a message without a sender, a tap without data — is
kept with ``inbound`` None and a note for the log, and closed unapplied. Must not import the
database or the chat flows.
"""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message, Update
from telegram.constants import ChatMemberStatus, ChatType, MessageEntityType

from bot.chat.messages import Actor, Inbound
from bot.runtime.channel import Incoming, Json

CHANNEL = "telegram"
# The kinds of update the bot asks Telegram for (getUpdates and setWebhook).
# my_chat_member: a person blocked or unblocked the bot (reminders skip blocked chats).
ALLOWED = ["message", "callback_query", "my_chat_member"]
# What a message may hold instead of text, by Telegram's field names (the first found names it).
MEDIA = (
    "photo", "sticker", "voice", "video", "video_note", "audio", "animation", "document",
    "location", "contact", "poll", "dice",
)  # fmt: skip


def read(raw: Json, bot: Bot) -> Incoming | None:
    """The update as an ``Incoming``; None when it has no update id to key it by."""
    update_id = raw.get("update_id")
    if type(update_id) is not int:  # a bool is an int to isinstance, not to Telegram
        return None
    chat_key = chat_key_of(raw)
    try:
        update = Update.de_json(raw, bot)
        inbound, note = _inbound(update)
    except Exception:  # a shape no handler expects: stored and closed, by id
        return Incoming(update_id, chat_key, None, "unreadable")
    return Incoming(update_id, chat_key, inbound, note, update)


def chat_key_of(raw: Json) -> str:
    """The person an update comes from, for per-chat ordering (the chat when there is none)."""
    for kind in ("message", "edited_message", "callback_query", "my_chat_member"):
        body = raw.get(kind)
        if isinstance(body, dict):
            sender = body.get("from") or body.get("chat") or {}
            if isinstance(sender, dict):
                return str(sender.get("id", ""))[:64]
    return ""


def _inbound(update: Update) -> tuple[Inbound | None, str]:
    """What the person did, or None and what the update was."""
    if update.callback_query is not None:
        query = update.callback_query
        if query.data is None:
            return None, "tap without data"
        message = query.message
        actor = _actor(update)
        if actor is None:
            return None, "tap without a chat"
        return Inbound(
            actor,
            choice=query.data,
            update_id=update.update_id,
            message_id=str(message.message_id) if message is not None else None,
        ), "tap"
    if update.my_chat_member is not None:
        return _membership(update)
    message = update.message
    if message is None:
        return None, _kind(update)
    if message.chat is None:  # PTB leaves it out when Telegram's update lacks it
        return None, "message without a chat"
    if message.chat.type != ChatType.PRIVATE:
        return None, "message in a group"
    actor = _actor(update)
    if actor is None:
        return None, "message without a sender"
    command = _command(message)
    if command is not None:
        name, argument = command
        return Inbound(
            actor, command=name, argument=argument, update_id=update.update_id
        ), "command"
    if message.text is None:  # a photo, sticker, voice message…: what is expected is said
        kind = next((k for k in MEDIA if getattr(message, k, None)), "other")
        return Inbound(actor, media=kind, update_id=update.update_id), kind
    return Inbound(actor, text=message.text, update_id=update.update_id), "message"


def _membership(update: Update) -> tuple[Inbound | None, str]:
    """A person who blocked the bot ("kicked") or started it again ("member"), in a private
    chat; a group's membership changes are nobody's."""
    change = update.my_chat_member
    assert change is not None
    actor = _actor(update)
    if change.chat.type != ChatType.PRIVATE or actor is None:
        return None, "membership in a group"
    status = change.new_chat_member.status
    if status == ChatMemberStatus.BANNED:
        return Inbound(actor, membership="blocked", update_id=update.update_id), "blocked"
    if status == ChatMemberStatus.MEMBER:
        return Inbound(actor, membership="unblocked", update_id=update.update_id), "unblocked"
    return None, f"membership {status}"


def _actor(update: Update) -> Actor | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return Actor(CHANNEL, str(user.id), str(chat.id), user.full_name, user.language_code)


def _command(message: Message) -> tuple[str, str] | None:
    """``/name argument`` when Telegram marked a command at the start (only ``/[A-Za-z0-9_]+``
    is a command to Telegram; "/chào" is text)."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntityType.BOT_COMMAND and entity.offset == 0:
            word = message.parse_entity(entity)[1:]
            argument = text[entity.length :]
            return word.split("@")[0].lower(), argument.strip()
    return None


def _kind(update: Update) -> str:
    """The kind of an update no flow takes (its first field besides the id)."""
    found: dict[str, Any] = update.to_dict()
    return next((key for key in found if key != "update_id"), "empty")
