"""Zalo OA webhook events in, messages with buttons out: the platform edge, with no I/O.

An event (developers.zalo.me, "Webhook") is a JSON object with ``app_id``, ``event_name``,
``timestamp`` (milliseconds, sent as a string) and, by kind:

- ``user_send_text``: ``sender.id`` (the person, as this OA knows them), ``recipient.id`` (the
  OA), ``message.text`` and ``message.msg_id``. A tapped ``oa.query.show`` button arrives the
  same way, its payload as the text;
- ``user_send_image``, ``user_send_sticker``, ``user_send_gif``, ``user_send_audio``,
  ``user_send_video``, ``user_send_file``, ``user_send_link``, ``user_send_location``,
  ``user_send_business_card``: the same, with ``message.attachments``;
- ``follow`` and ``unfollow``: ``follower.id`` and ``oa_id``, no message id;
- the OA's own messages and receipts (``oa_send_*``, ``user_received_message``,
  ``user_seen_message``), which nobody answers.

Events carry no update id and no name: the inbox key is derived from the message id (or, for
follow and unfollow, from the person and the time), the name is the channel's to look up, and
a person starts in Vietnamese.

A reply is shown as numbered text (so typing "2" works everywhere, as on the Zalo bot); its
first ``MAX_BUTTONS`` choices (Zalo puts at most five under a message) are buttons too, each an
``oa.query.show`` whose payload is what the person then "says": the key and the label, then
``#`` and the choice's callback data, which ``inbound_of`` reads back as a tap. Must not import
the database or any platform library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.channels.keys import ordered_id
from bot.channels.text import numbered, split_lines, units
from bot.channels.zalo_oa.api import MAX_BUTTONS, PAYLOAD_LIMIT, TEXT_LIMIT, TITLE_LIMIT
from bot.chat.messages import Actor, Inbound, Outbound, Reply

CHANNEL = "zalo-oa"
TEXT_EVENT = "user_send_text"
FOLLOW, UNFOLLOW = "follow", "unfollow"
MEDIA = {
    "user_send_image": "photo",
    "user_send_gif": "photo",
    "user_send_sticker": "sticker",
    "user_send_audio": "voice",
    "user_send_video": "video",
    "user_send_file": "document",
    "user_send_link": "other",
    "user_send_location": "location",
    "user_send_business_card": "contact",
}
# A tapped button: "2. Có #<callback data>"; callback data is at most 64 printable ASCII bytes
# and always holds a ":" (``bot.chat.callbacks``), which a typed hashtag does not.
TAP = re.compile(r"\s#([!-~]*:[!-~]*)\Z")
CALLBACK_LIMIT = 64
JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Message:
    """One message to send: text, with buttons (title, payload) under it."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()

    def body(self) -> JsonDict:
        """The ``message`` of a ``message/cs`` call."""
        if not self.buttons:
            return {"text": self.text}
        buttons = [
            {"title": title, "type": "oa.query.show", "payload": payload}
            for title, payload in self.buttons
        ]
        return {
            "text": self.text,
            "attachment": {"type": "template", "payload": {"buttons": buttons}},
        }


@dataclass(frozen=True)
class Image:
    """An image to upload and send, after its caption as a text."""

    content: bytes = field(repr=False)
    filename: str


Outgoing = Message | Image


def person_of(event: JsonDict) -> str | None:
    """The id of the person an event is from (None: not from a person)."""
    name = str(event.get("event_name") or "")
    who = event.get("follower") if name in (FOLLOW, UNFOLLOW) else event.get("sender")
    if not name.startswith("user_send_") and name not in (FOLLOW, UNFOLLOW):
        return None
    if "group" in name:  # a group chat's message (user_send_group_*): nobody's private chat
        return None
    ident = who.get("id") if isinstance(who, dict) else None
    return str(ident) if isinstance(ident, str | int) and str(ident) else None


def update_id_of(event: JsonDict) -> int | None:
    """A stable inbox key: the message's, or for follow and unfollow the person's and the
    moment's; None when the event has neither."""
    person = person_of(event)
    if person is None:
        return None
    name = str(event.get("event_name"))
    if name in (FOLLOW, UNFOLLOW):
        return ordered_id(event.get("timestamp"), f"{name}:{person}:{event.get('timestamp')}")
    message = event.get("message")
    ident = message.get("msg_id") if isinstance(message, dict) else None
    if not isinstance(ident, str | int) or not str(ident):
        return None
    return ordered_id(event.get("timestamp"), str(ident))


def inbound_of(event: JsonDict, update_id: int, name: str = "") -> Inbound:
    """The event as what the person did: followed (a /start), unfollowed, tapped, typed, or
    sent something that is no text. ``name`` is their Zalo name where the channel knows it
    (events carry none)."""
    person = person_of(event)
    assert person is not None  # read() leaves out events from nobody
    actor = Actor(CHANNEL, person, person, name, None)
    name = str(event.get("event_name"))
    if name == FOLLOW:  # greeted, and asked for consent, as a /start
        return Inbound(actor, command="start", update_id=update_id, keyed=True)
    if name == UNFOLLOW:
        return Inbound(actor, membership="blocked", update_id=update_id)
    if name != TEXT_EVENT:
        return Inbound(actor, media=MEDIA.get(name, "other"), update_id=update_id, keyed=True)
    message = event.get("message")
    typed = str(message.get("text") or "").strip() if isinstance(message, dict) else ""
    tap = TAP.search(typed)
    if tap is not None and len(tap.group(1)) <= CALLBACK_LIMIT:
        return Inbound(actor, choice=tap.group(1), update_id=update_id, keyed=True)
    if typed.startswith("/") and len(typed) > 1:
        command, _sep, argument = typed[1:].partition(" ")
        return Inbound(
            actor,
            command=command.lower(),
            argument=argument.strip(),
            update_id=update_id,
            keyed=True,
        )
    return Inbound(actor, text=typed, update_id=update_id, keyed=True)


# --------------------------------------------------------------------------- rendering


def render(out: Outbound) -> list[Outgoing]:
    """The messages to send for one answer, in order: the texts of replies without buttons
    go together, a reply with buttons closes a message and carries them."""
    messages: list[Outgoing] = []
    texts = [f"({out.notice.plain()})"] if out.notice else []
    for reply in out.replies:
        texts.append(numbered(reply))
        attachment = reply.attachment
        if attachment is not None and attachment.kind == "photo" and attachment.content:
            messages.extend(Message(part) for part in split("\n\n".join(texts)))
            texts = []
            messages.append(Image(attachment.content, attachment.filename))
        elif attachment is not None:  # an OA's messages carry no spreadsheets: named
            texts[-1] = f"{texts[-1]}\n📎 {attachment.filename}".strip()
        buttons = buttons_of(reply)
        if buttons:
            parts = split("\n\n".join(texts))
            messages.extend(Message(part) for part in parts[:-1])
            messages.append(Message(parts[-1], buttons))
            texts = []
    if texts:
        messages.extend(Message(part) for part in split("\n\n".join(texts)))
    return messages


def buttons_of(reply: Reply) -> tuple[tuple[str, str], ...]:
    """A reply's first ``MAX_BUTTONS`` choices as buttons (the answers of a question come
    first; what follows them, such as ⏸, is typed by its number like every choice)."""
    choices = reply.choices()
    found = []
    for key, button in list(zip(reply.keys(), choices, strict=True))[:MAX_BUTTONS]:
        title = _cut(button.label, TITLE_LIMIT)
        marker = f" #{button.data}"
        payload = _cut(f"{key}. {button.label}", PAYLOAD_LIMIT - units(marker)) + marker
        found.append((title, payload))
    return tuple(found)


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` UTF-16 units (as texts are counted), an ellipsis where cut."""
    if units(text) <= limit:
        return text
    cut = limit - 1
    while units(text[:cut]) > limit - 1:
        cut -= 1
    return text[:cut].rstrip() + "…"


def split(text: str) -> list[str]:
    """The text in messages Zalo takes (never none: Zalo refuses an empty message)."""
    return split_lines(text, TEXT_LIMIT) or ["…"]
