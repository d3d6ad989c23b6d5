"""Zalo updates in, numbered text out: the platform edge of the Zalo channel, with no I/O.

An update (the docs' "Webhook" section; getUpdates answers the same object) is
``{"ok": true, "result": {"event_name": …, "message": {…}}}``; openclaw's webhook notes that
events also arrive unwrapped, so both are read. ``event_name`` is ``message.text.received``,
``message.image.received``, ``message.sticker.received`` or ``message.unsupported.received``
(sent instead of the content for accounts Zalo protects, such as children's). ``message`` holds
``from`` {``id``, ``display_name``, ``is_bot``}, ``chat`` {``id``, ``chat_type``: PRIVATE or
GROUP}, ``text``, ``message_id`` (a hex string) and ``date`` (milliseconds). There is no
``update_id`` and no language: the inbox key is derived from the message (``update_id_of``)
and people start in Vietnamese, switching with the language menu. In a group (the docs' group
guide, "coming soon" there), ``chat.id`` is the group's and the bot hears only the messages
that mention it or reply to it (``is_private`` tells them apart).

Zalo bots have no buttons, so a reply is shown the way the terminal shows it (``numbered``) and
the inbound is marked ``keyed``: the router maps a typed key to the last reply's choice from
the stored conversation. Anything else is typed text, which the engine matches by number or
label anyway. All the replies to one message go out as one text (the docs answer 429 "quota
exceeded" past the API's usage limit, without saying how many messages it allows), cut at line
breaks into messages of at most ``TEXT_LIMIT``. Files are not sent: sendPhoto takes only an
image URL, and hoctap has no public URL for its charts; a file is named in the text instead.
Must not import the database or any platform library.
"""

from __future__ import annotations

from typing import Any

from bot.channels.keys import ordered_id
from bot.channels.text import numbered, split_lines
from bot.chat.messages import Actor, Attachment, Inbound, Outbound
from bot.i18n import _, current_locale, use_locale

CHANNEL = "zalo"
TEXT_EVENT = "message.text.received"
TEXT_LIMIT = 2000  # sendMessage and captions: 1 to 2,000 characters (counted as UTF-16 units)
JsonDict = dict[str, Any]


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
    """A stable inbox key for the event (Zalo sends no update id): its date, then a hash of
    its message id (``bot/channels/keys.py``)."""
    message = event["message"]
    date = message.get("date")
    return ordered_id(date if isinstance(date, int | float) else 0, str(message["message_id"]))


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


def render(out: Outbound) -> list[str]:
    """The texts to send for one answer, in order: its replies joined, cut to Zalo's limit.

    Zalo bots cannot send files: a spreadsheet is named (by its file name, nothing to
    translate), and a chart (a photo: sendPhoto takes only a public URL, and hoctap's charts
    have none) comes as its caption and a line saying where the chart is."""
    texts = [f"({out.notice.plain()})"] if out.notice else []
    for reply in out.replies:
        shown = numbered(reply)
        attachment = reply.attachment
        if attachment is not None and attachment.kind == "photo":
            texts.append(f"{shown}\n📊 {chart_elsewhere(attachment)}".strip())
        elif attachment is not None:
            texts.append(f"{shown}\n📎 {attachment.filename}".strip())
        else:
            texts.append(shown)
    return split("\n\n".join(texts))


def chart_elsewhere(attachment: Attachment) -> str:
    """Where a chart Zalo cannot show is, in the language it was made for."""
    with use_locale(attachment.locale or current_locale()):
        # TRANSLATORS: on Zalo, under a report's caption: the chart itself cannot be sent there.
        return _("Zalo cannot show the chart here: open the report on Telegram to see it.")


def split(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Cut a text into messages at line breaks (inside a line only when one line is too long);
    blank parts are dropped, since Zalo refuses empty messages."""
    return split_lines(text, limit)
