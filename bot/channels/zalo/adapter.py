"""Zalo updates in, numbered text out: the platform edge of the Zalo channel, with no I/O.

An update (the docs' "Webhook" section; getUpdates answers the same object) is
``{"ok": true, "result": {"event_name": …, "message": {…}}}``; openclaw's webhook notes that
events also arrive unwrapped, so both are read. ``event_name`` is ``message.text.received``,
``message.image.received``, ``message.sticker.received`` or ``message.unsupported.received``
(sent instead of the content for accounts Zalo protects, such as children's). ``message`` holds
``from`` {``id``, ``display_name``, ``is_bot``}, ``chat`` {``id``, ``chat_type``: PRIVATE or
GROUP}, ``text``, ``message_id`` (a hex string) and ``date`` (milliseconds). There is no
``update_id`` and no language: the inbox key is derived from the message (``update_id_of``)
and people start in Vietnamese, switching with the language menu.

Zalo bots have no buttons, so a reply is shown the way the terminal shows it (``numbered``) and
the inbound is marked ``keyed``: the router maps a typed key to the last reply's choice from
the stored conversation. Anything else is typed text, which the engine matches by number or
label anyway. All the
replies to one message go out as one text (a free bot has 3,000 messages a month), cut at line
breaks into messages of at most ``TEXT_LIMIT``. Must not import the database or any platform
library.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.channels.text import numbered
from bot.chat.messages import Actor, Inbound, Outbound

CHANNEL = "zalo"
TEXT_EVENT = "message.text.received"
TEXT_LIMIT = 2000  # sendMessage and captions: 1 to 2,000 characters (counted as UTF-16 units)
EPOCH_MS = 1_700_000_000_000  # Nov 2023: update ids stay ordered by date until 2093
JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Text:
    """A text message to send."""

    text: str


@dataclass(frozen=True)
class Photo:
    """An image to upload, with its caption."""

    content: bytes
    filename: str
    caption: str


Outgoing = Text | Photo


def event_of(body: object) -> JsonDict | None:
    """The event in a webhook body or getUpdates result, if it is a message we can answer."""
    if not isinstance(body, dict):
        return None
    event = body.get("result") if body.get("ok") is True else body
    if not isinstance(event, dict) or not isinstance(event.get("message"), dict):
        return None
    message = event["message"]
    sender, chat = message.get("from"), message.get("chat")
    if not (isinstance(sender, dict) and isinstance(chat, dict)):
        return None
    if not (message.get("message_id") and sender.get("id") and chat.get("id")):
        return None
    if sender.get("is_bot") is True:
        return None
    return event


def update_id_of(event: JsonDict) -> int:
    """A stable inbox key for the event: its date, then 22 bits of its message id's hash.

    Zalo sends no update id. The same message always gets the same key (so a redelivery is
    stored once), and keys grow with the message date (so stored updates replay in the order
    they were written). Two different messages of the same millisecond collide with odds of
    one in four million; the second would be taken for a redelivery.
    """
    message = event["message"]
    date = message.get("date")
    millis = int(date) if isinstance(date, int | float) else 0
    if 0 < millis < 10**11:  # seconds, not milliseconds
        millis *= 1000
    elapsed = min(max(millis - EPOCH_MS, 0), (1 << 41) - 1)
    digest = hashlib.sha256(str(message["message_id"]).encode()).digest()
    return (elapsed << 22) | (int.from_bytes(digest[:3], "big") & ((1 << 22) - 1))


def chat_key_of(event: JsonDict) -> str:
    """The conversation an event belongs to (also where replies go)."""
    return str(event["message"]["chat"]["id"])


def actor_of(event: JsonDict) -> Actor:
    """Who sent the event, as our services know people."""
    message = event["message"]
    sender = message["from"]
    name = str(sender.get("display_name") or sender.get("name") or "")
    return Actor(CHANNEL, str(sender["id"]), chat_key_of(event), name, None)


def is_private(event: JsonDict) -> bool:
    """A person's own chat with the bot (a group's messages are nobody's to answer)."""
    return str(event["message"]["chat"].get("chat_type") or "PRIVATE").upper() == "PRIVATE"


def kind_of(body: object) -> str:
    """What a body holds, for a log line that never shows its content."""
    if not isinstance(body, dict):
        return type(body).__name__
    event = body.get("result") if body.get("ok") is True else body
    name = event.get("event_name") if isinstance(event, dict) else None
    return str(name)[:64] if name else "no event name"


def inbound_of(event: JsonDict, update_id: int) -> Inbound:
    """The event as one ``Inbound``: a command, the choice a typed key stands for, or text.

    Anything but text (a photo, a sticker, withheld content) arrives as ``media``, as on
    Telegram, so the person is told what is expected and sees the question again.
    """
    actor = actor_of(event)
    name = str(event.get("event_name") or "")
    if name != TEXT_EVENT:
        kind = name.removeprefix("message.").removesuffix(".received")
        media = kind if kind in ("image", "sticker") else "other"
        return Inbound(actor, media=media, update_id=update_id, keyed=True)
    text = event["message"].get("text")
    typed = str(text or "").strip()
    if typed.startswith("/") and len(typed) > 1:
        name, _sep, argument = typed[1:].partition(" ")
        return Inbound(
            actor, command=name.lower(), argument=argument.strip(), update_id=update_id, keyed=True
        )
    # A typed "2" is mapped to the last reply's second choice by the router, from the stored
    # conversation, so it means the same after a restart or on another worker.
    return Inbound(actor, text=typed, update_id=update_id, keyed=True)


# --------------------------------------------------------------------------- rendering


def render(out: Outbound) -> list[Outgoing]:
    """The messages to send for one answer, in order."""
    messages: list[Outgoing] = []
    texts = [f"({out.notice.plain()})"] if out.notice else []
    for reply in out.replies:
        shown = numbered(reply)
        attachment = reply.attachment
        if attachment is not None and attachment.kind == "photo" and units(shown) <= TEXT_LIMIT:
            messages.extend(Text(part) for part in split("\n\n".join(texts)))
            texts = []
            messages.append(Photo(attachment.content, attachment.filename, shown.strip()))
        elif attachment is not None:
            # Zalo bots cannot send files: say which file it was (no words: no new message id).
            texts.append(f"{shown}\n📎 {attachment.filename}".strip())
        else:
            texts.append(shown)
    messages.extend(Text(part) for part in split("\n\n".join(texts)))
    return messages


def units(text: str) -> int:
    """The length as Zalo's JavaScript counts it (UTF-16 code units): emoji count twice."""
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a text into messages at line breaks (inside a line only when one line is too long);
    blank parts are dropped, since Zalo refuses empty messages."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        for piece in _pieces(line, limit):
            joined = f"{current}\n{piece}" if current else piece
            if current and units(joined) > limit:
                parts.append(current)
                current = piece
            else:
                current = joined
    parts.append(current)
    return [part.strip("\n") for part in parts if part.strip()]


def _pieces(line: str, limit: int) -> list[str]:
    """One line, cut before ``limit`` at a space where there is one."""
    pieces: list[str] = []
    while units(line) > limit:
        cut = limit
        while units(line[:cut]) > limit:
            cut -= 1
        space = line.rfind(" ", 0, cut)
        cut = space if space > 0 else cut
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ")
    return [*pieces, line]
