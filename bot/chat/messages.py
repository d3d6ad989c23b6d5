"""Channel-neutral messages: what a channel adapter hands a service and what it gets back.

An adapter turns a platform update into an ``Inbound`` and renders each ``Reply``: inline keyboards
and in-place edits on Telegram, numbered options on Zalo and in the terminal. Services never learn
which platform a message came from.

An ``Outbound`` is kept with the update it answers, in the transaction of the update's effect,
as JSON (``encode``/``decode``), so that a crash before it is sent does not lose it. A file
that takes long to render (a report's spreadsheet or chart) is kept as the report it is made
from (``Attachment.report``) and rendered after the commit (``bot/runtime/files.py``). Must not
import any platform library.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field, replace
from typing import Any

from bot.reports.model import Report
from bot.rich import Text, data
from bot.services.people import Actor

LETTERS = "abcdefghijklmnopqrstuvwxyz"
# Control characters but tab and line breaks: PostgreSQL refuses NUL in text, and none of them
# means anything in a name or an answer.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
__all__ = ["Actor", "Attachment", "Button", "Inbound", "Outbound", "Reply", "decode", "encode"]


@dataclass(frozen=True)
class Inbound:
    """One thing a person did: typed text, a command, or a tapped choice."""

    actor: Actor
    text: str | None = None
    choice: str | None = None  # packed callback data of a tapped button
    command: str | None = None  # "start", "help", … without the slash
    argument: str = ""
    update_id: int | None = None  # names a row already stored in the inbox (None: no inbox)
    # True from channels without buttons (Zalo, terminal): a typed "2" or "b" may stand for the
    # second choice of the last reply, which the router remembers with the conversation.
    keyed: bool = False
    message_id: str | None = None  # for a tapped choice: the message its button is on
    media: str = ""  # a message that is no text: "photo", "sticker", "voice", …
    # The person "blocked" the bot or "unblocked" it (Telegram's my_chat_member): no answer.
    membership: str = ""

    def __post_init__(self) -> None:
        """What a person sent is kept without control characters, whatever the channel and
        the database (SQLite would keep a NUL that PostgreSQL refuses)."""
        if self.text is not None:
            object.__setattr__(self, "text", printable(self.text))
        object.__setattr__(self, "argument", printable(self.argument))
        if _CONTROL.search(self.actor.name):
            object.__setattr__(self, "actor", replace(self.actor, name=printable(self.actor.name)))


def printable(text: str) -> str:
    """``text`` without control characters (tab and line breaks stay)."""
    return _CONTROL.sub("", text)


@dataclass(frozen=True)
class Button:
    """A choice a person can tap (or type the number of, where there are no buttons)."""

    label: str
    data: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: a spreadsheet (document) or a chart (photo).

    ``report``: the file is that report's spreadsheet or chart (by the file name's extension),
    rendered in ``locale`` once the unit of work has committed; ``content`` is empty until
    then."""

    filename: str
    content: bytes = b""
    kind: str = "document"  # "document" | "photo"
    report: Report | None = None
    locale: str = ""

    @property
    def ready(self) -> bool:
        """True when the file's bytes are here (nothing left to render)."""
        return self.report is None or bool(self.content)

    def rendered(self, content: bytes) -> Attachment:
        return replace(self, content=content, report=None)


@dataclass(frozen=True)
class Reply:
    """One message to show. ``edit`` asks to replace the message the tapped button was on.

    The text is a ``Text``: its data is escaped by the channel that renders it, never here.
    Button labels are plain: no messenger reads markup in them."""

    text: Text
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False
    attachment: Attachment | None = None
    expects_text: bool = False  # a number or words are typed; buttons only navigate

    def __post_init__(self) -> None:
        if not isinstance(self.text, Text):  # a bare string is data, never markup
            object.__setattr__(self, "text", data(self.text))

    def choices(self) -> list[Button]:
        """The buttons in reading order, as numbered options are listed."""
        return [button for row in self.buttons for button in row]

    def keys(self) -> list[str]:
        """What to type for each choice where there are no buttons: 1, 2, … or, where a number
        is itself the answer (a number or text question), a, b, …"""
        count = len(self.choices())
        if self.expects_text:
            return list(LETTERS[:count])
        return [str(n) for n in range(1, count + 1)]


@dataclass
class Outbound:
    """Everything a service answers to one inbound message."""

    replies: list[Reply] = field(default_factory=list)
    notice: Text | None = None  # a short toast for a tapped button (Telegram answerCallbackQuery)
    # The notice matters (a refusal: not your village): it stays on screen until dismissed.
    alert: bool = False
    wake_reminders: bool = False  # reminders were planned to go now (a broadcast)
    # The update was applied before (a redelivery, or another worker's): whoever applied it
    # answered it, so nothing is shown, not even the tap's answer.
    redelivered: bool = False
    # The commands this person can use now, (name, what it does), for the messenger's own
    # command menu (Telegram's "/" list); None: unchanged.
    commands: tuple[tuple[str, str], ...] | None = None

    def __post_init__(self) -> None:
        if self.notice is not None and not isinstance(self.notice, Text):
            self.notice = data(self.notice)

    def add(self, reply: Reply) -> Outbound:
        self.replies.append(reply)
        return self


def encode(out: Outbound) -> str:
    """The answer as JSON, to keep with its update (see ``decode``)."""
    return json.dumps(
        {
            "replies": [_reply_data(reply) for reply in out.replies],
            "notice": out.notice.to_data() if out.notice is not None else None,
            "alert": out.alert,
            "wake": out.wake_reminders,
            "commands": out.commands,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def decode(text: str) -> Outbound:
    """The answer ``encode`` kept."""
    found = json.loads(text)
    notice = found.get("notice")
    commands = found.get("commands")
    return Outbound(
        [_reply_of(reply) for reply in found["replies"]],
        Text.from_data(notice) if notice is not None else None,
        alert=bool(found.get("alert")),
        wake_reminders=bool(found.get("wake")),
        commands=tuple((name, text) for name, text in commands) if commands else None,
    )


def _reply_data(reply: Reply) -> dict[str, Any]:
    found: dict[str, Any] = {"text": reply.text.to_data()}
    if reply.buttons:
        found["buttons"] = [[[b.label, b.data] for b in row] for row in reply.buttons]
    if reply.edit:
        found["edit"] = True
    if reply.expects_text:
        found["expects_text"] = True
    attachment = reply.attachment
    if attachment is not None:
        found["attachment"] = {
            "filename": attachment.filename,
            "kind": attachment.kind,
            "locale": attachment.locale,
            # a report is kept, not its file: rendering waits for the commit
            "report": attachment.report.to_data() if attachment.report is not None else None,
            "content": None
            if attachment.report is not None
            else base64.b64encode(attachment.content).decode("ascii"),
        }
    return found


def _reply_of(found: dict[str, Any]) -> Reply:
    attachment = None
    if (kept := found.get("attachment")) is not None:
        report = kept.get("report")
        attachment = Attachment(
            kept["filename"],
            base64.b64decode(kept["content"]) if kept.get("content") else b"",
            kept.get("kind", "document"),
            Report.from_data(report) if report is not None else None,
            kept.get("locale", ""),
        )
    return Reply(
        Text.from_data(found["text"]),
        tuple(
            tuple(Button(label, data) for label, data in row) for row in found.get("buttons", [])
        ),
        edit=bool(found.get("edit")),
        attachment=attachment,
        expects_text=bool(found.get("expects_text")),
    )
