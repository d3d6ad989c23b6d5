"""What a channel adapter gives the runner: platform updates in as ``Incoming``, replies out.

A channel (Telegram, Zalo, a test's own) is one class with the methods of ``Channel``; the
runner (``bot/runtime/runner.py``) does everything else — storing each update before it is
acknowledged, applying it once, in order per chat, sending the reply kept with its effect,
retrying, serving the webhook. An adapter holds no SQL and no rules.

Must not import any platform library, the database or the chat flows' modules but messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bot.chat.messages import Inbound, Outbound, Reply
from bot.rich import Text

Json = dict[str, Any]


@dataclass(frozen=True)
class Incoming:
    """One platform update as the runner keeps it.

    ``update_id`` and ``chat_key`` are its inbox key and the chat it is ordered within;
    ``inbound`` is what the person did (None: a kind no flow takes, closed at once unapplied);
    ``note`` names what it was, for the log (never its content); ``where`` is what the channel
    needs to show the reply (on Telegram, the parsed update: its chat, query and message);
    ``courtesy``, for an update no flow takes, names the one line it gets instead (``GROUP``:
    a message in a group chat, told that hoctap answers in private chats only)."""

    update_id: int
    chat_key: str
    inbound: Inbound | None
    note: str = ""
    where: Any = None
    courtesy: str = ""


GROUP = "group"  # a courtesy: hoctap answers people in their private chat only


class Refused(Exception):
    """A webhook call the channel refuses: answered with ``status``, nothing stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


class Unreachable(Exception):
    """The platform could not be asked for updates; try again in ``retry_after`` seconds (the
    platform's own figure), or after the runner's growing pause when None."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


# What became of a reply: shown; not shown and never will be (blocked, refused); or the platform
# could not be reached and the reply is to be sent again later.
SHOWN = "shown"
UNDELIVERABLE = "undeliverable"
AGAIN = "again"


@dataclass(frozen=True)
class Outcome:
    """What the messenger said to one reminder: ``result`` is "sent", "blocked", "failed",
    "retry" (a network failure: later), "wait" (the whole channel pauses ``wait`` seconds),
    "held" (this person cannot be written to until they write again: it stays due) or "quota"
    (the month's messages are used up: everything waits for the next month)."""

    result: str
    wait: float = 0.0


SENT = Outcome("sent")


class Channel(Protocol):
    """One messenger, as the runner drives it."""

    name: str  # the inbox's channel key ("telegram", "zalo")
    keyed: bool  # no buttons: choices are typed as numbers (kept with the conversation)
    batch: int  # updates one fetch returns at most (a full one means more are waiting)
    webhook_answer: Json  # the body of the 200 a stored webhook call is answered with

    async def open(self, webhook_url: str | None, secret: str | None) -> None:
        """Connect (check the token), then set the webhook to ``webhook_url`` or remove it
        for polling."""

    async def close(self) -> None:
        """Acknowledge what was stored, and let go of the connection."""

    def read(self, raw: Json) -> Incoming | None:
        """One raw update as the runner keeps it; None when it has no usable key (it cannot
        be stored, and is dropped with a log line). Pure: no I/O."""

    async def fetch(self) -> list[Json]:
        """Long-poll for the next raw updates (an empty list when none came in time); raise
        ``Unreachable`` when the platform cannot be asked."""

    def fetched(self, raws: list[Json]) -> None:
        """These updates are committed to the inbox: acknowledge them (with the next fetch)."""

    def webhook_updates(self, headers: Mapping[str, str], body: bytes) -> list[Json]:
        """The raw updates of one webhook call; raise ``Refused`` for a call to refuse."""

    async def show(self, incoming: Incoming, out: Outbound, fresh: bool) -> str:
        """Show the answer to ``incoming``: ``SHOWN``, ``UNDELIVERABLE`` or ``AGAIN``. ``fresh``
        is False for an update applied long after it came (a replay, a backlog): a tap is then
        too old for the platform to answer, and its answer is shown another way."""

    async def tell(self, incoming: Incoming, text: Text) -> None:
        """Say one thing outside any unit of work (the database is busy, an apology); best
        effort, never raises."""

    async def remind(self, chat_id: str, reply: Reply) -> Outcome:
        """Send one reminder to a chat."""

    def invite_link(self, code: str) -> str | None:
        """A link that opens the chat with the bot and joins with ``code`` (known once
        ``open`` has connected); None where the platform has none."""
