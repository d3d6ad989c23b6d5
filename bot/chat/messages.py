"""Channel-neutral messages: what a channel adapter hands a service and what it gets back.

An adapter turns a platform update into an ``Inbound`` and renders each ``Reply``: inline keyboards
and in-place edits on Telegram, numbered options on Zalo and in the terminal. Services never learn
which platform a message came from. Must not import any platform library or the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.rich import Text, data
from bot.services.people import Actor

LETTERS = "abcdefghijklmnopqrstuvwxyz"
__all__ = ["Actor", "Attachment", "Button", "Inbound", "Outbound", "Reply"]


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


@dataclass(frozen=True)
class Button:
    """A choice a person can tap (or type the number of, where there are no buttons)."""

    label: str
    data: str


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: a spreadsheet (document) or a chart (photo)."""

    filename: str
    content: bytes
    kind: str = "document"  # "document" | "photo"


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

    def __post_init__(self) -> None:
        if self.notice is not None and not isinstance(self.notice, Text):
            self.notice = data(self.notice)

    def add(self, reply: Reply) -> Outbound:
        self.replies.append(reply)
        return self
