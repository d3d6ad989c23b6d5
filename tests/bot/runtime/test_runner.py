"""The runner drives any channel: a throwaway adapter written here, in the test tree, is stored,
applied once in order, answered, and after a "crash" its kept replies still reach the screen.

``Notebook`` is a channel of a dozen lines that keeps its updates in a list and its screen in
another; the runner, the router and the database are the product's own, unchanged.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.messages import Actor, Inbound, Outbound, Reply, encode
from bot.config import Settings
from bot.rich import Text
from bot.runtime.channel import SHOWN, Incoming, Json, Outcome, Refused
from bot.runtime.outbox import Outbox
from bot.runtime.runner import Runner
from bot.services.context import Services
from bot.storage import inbox
from bot.storage.models import InboxUpdate
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
Sessions = async_sessionmaker[AsyncSession]


@dataclass
class Notebook:
    """A channel that is a list of updates in and a list of screens out."""

    name: str = "notebook"
    keyed: bool = True
    batch: int = 10
    webhook_answer: Json = field(default_factory=dict)
    waiting: list[Json] = field(default_factory=list)
    acknowledged: list[int] = field(default_factory=list)
    shown: list[tuple[int, list[str], bool]] = field(default_factory=list)
    told: list[str] = field(default_factory=list)
    hang: bool = False  # show never returns: the process dies before the reply is out

    async def open(self, webhook_url: str | None, secret: str | None) -> None:
        pass

    async def close(self) -> None:
        pass

    def read(self, raw: Json) -> Incoming | None:
        if not isinstance(raw.get("id"), int):
            return None
        person = str(raw["from"])
        if raw.get("sticker"):
            return Incoming(raw["id"], person, None, "sticker")
        actor = Actor(self.name, person, person, "Chị Lan", "vi")
        inbound = Inbound(
            actor,
            text=raw.get("text"),
            command=raw.get("command"),
            update_id=raw["id"],
            keyed=True,
        )
        return Incoming(raw["id"], person, inbound)

    async def fetch(self) -> list[Json]:
        await asyncio.sleep(0.01)
        found, self.waiting = self.waiting[: self.batch], self.waiting[self.batch :]
        return found

    def fetched(self, raws: list[Json]) -> None:
        self.acknowledged += [raw["id"] for raw in raws if isinstance(raw.get("id"), int)]

    def webhook_updates(self, headers: Mapping[str, str], body: bytes) -> list[Json]:
        raise Refused(404, "no webhook")

    async def show(self, incoming: Incoming, out: Outbound, fresh: bool) -> str:
        if self.hang:
            await asyncio.Event().wait()
        self.shown.append((incoming.update_id, [r.text.plain() for r in out.replies], fresh))
        return SHOWN

    async def tell(self, incoming: Incoming, text: Text) -> None:
        self.told.append(text.plain())

    async def remind(self, chat_id: str, reply: Reply) -> Outcome:
        return Outcome("sent")

    def invite_link(self, code: str) -> str | None:
        return None


def services(sessions: Sessions) -> Services:
    return Services(sessions=sessions, forms=load_forms(), clock=lambda: NOW)


async def run_until(notebook: Notebook, sessions: Sessions, done: object) -> None:
    """Run the channel until ``done()`` holds (or five seconds pass), then stop it cleanly."""
    stop = asyncio.Event()
    task = asyncio.create_task(Runner(Settings(), services(sessions), notebook, stop).run())
    for _ in range(500):
        if done() or task.done():  # type: ignore[operator]
            break
        await asyncio.sleep(0.01)
    stop.set()
    await task


async def test_a_new_channel_is_stored_applied_once_in_order_and_answered(
    session_factory: Sessions,
) -> None:
    notebook = Notebook()
    notebook.waiting = [
        {"id": 1, "from": 7, "command": "start"},
        {"id": 2, "from": 7, "text": "1"},  # the first listed choice: agree
        {"id": 2, "from": 7, "text": "1"},  # the same update again: kept once
        {"id": 3, "from": 7, "sticker": True},  # nothing a flow takes: closed
        {"from": 7, "text": "no id"},  # cannot be stored: dropped
        {"id": 4, "from": 7, "command": "help"},
    ]
    await run_until(notebook, session_factory, lambda: len(notebook.shown) >= 3)
    assert notebook.acknowledged == [1, 2, 2, 3, 4]
    assert [update_id for update_id, _texts, _fresh in notebook.shown] == [1, 2, 4]
    assert "đồng ý" in "\n".join(notebook.shown[1][1])
    # They waited at the platform before the runner started: too old to count as fresh.
    assert not any(fresh for _id, _texts, fresh in notebook.shown)
    async with session_factory() as session:
        rows = (await session.scalars(select(InboxUpdate).order_by(InboxUpdate.update_id))).all()
        await session.commit()
    assert [(row.update_id, row.done_at is not None) for row in rows] == [
        (1, True),
        (2, True),
        (3, True),
        (4, True),
    ]
    kept = [row.update_id for row in rows if row.reply is not None]
    assert kept == [1, 2, 4]  # the sticker had nothing to show
    assert all(row.replied_at is not None for row in rows if row.reply is not None)


async def test_a_reply_kept_when_the_process_died_is_shown_at_the_next_start(
    session_factory: Sessions,
) -> None:
    dying = Notebook(hang=True)  # applies, commits, and dies while showing the reply
    dying.waiting = [{"id": 1, "from": 7, "command": "start"}]
    async with session_factory() as session:
        before = await session.scalar(select(InboxUpdate.update_id).limit(1))
        await session.commit()
    assert before is None

    async def applied() -> bool:
        async with session_factory() as session:
            done = await session.scalar(
                select(InboxUpdate.done_at).where(InboxUpdate.update_id == 1)
            )
            await session.commit()
        return done is not None

    stop = asyncio.Event()
    task = asyncio.create_task(Runner(Settings(), services(session_factory), dying, stop).run())
    for _ in range(500):
        if await applied():
            break
        await asyncio.sleep(0.01)
    task.cancel()  # as SIGKILL would: nothing after this point runs
    await asyncio.gather(task, return_exceptions=True)
    assert dying.shown == []

    restarted = Notebook()
    await run_until(restarted, session_factory, lambda: restarted.shown)
    assert [(update_id, fresh) for update_id, _t, fresh in restarted.shown] == [(1, False)]
    assert "Xin chào" in restarted.shown[0][1][0]


async def test_a_kept_edit_is_superseded_by_a_later_edit_of_the_same_message(
    session_factory: Sessions,
) -> None:
    notebook = Notebook()

    def tap(update_id: int, message: str, text: str) -> tuple[inbox.Received, str]:
        raw = f'{{"id": {update_id}, "from": 7, "text": "x", "message": "{message}"}}'
        out = Outbound([Reply(text, edit=True)])
        return inbox.Received(update_id, "7", raw), encode(out)

    rows = [tap(1, "40", "Câu 2"), tap(2, "40", "Câu 3"), tap(3, "41", "Câu 1 của phiếu khác")]
    async with session_factory() as session:
        await inbox.record(session, notebook.name, [row for row, _reply in rows], NOW)
        for row, reply in rows:
            await inbox.claim(session, notebook.name, row.update_id, NOW)
            await inbox.keep_reply(session, notebook.name, row.update_id, reply)
        await session.commit()

    # The notebook's read gives no message ids; a channel that has them (Telegram) does.
    class Tapped(Notebook):
        def read(self, raw: Json) -> Incoming | None:
            found = super().read(raw)
            assert found is not None and found.inbound is not None
            inbound = Inbound(found.inbound.actor, choice="x", message_id=raw["message"])
            return Incoming(found.update_id, found.chat_key, inbound)

    tapped = Tapped()
    outbox = Outbox(services(session_factory), tapped)
    assert await outbox.replay() == 2
    await outbox.close()
    assert [(update_id, texts) for update_id, texts, _fresh in tapped.shown] == [
        (2, ["Câu 3"]),
        (3, ["Câu 1 của phiếu khác"]),
    ]
    async with session_factory() as session:
        assert await inbox.unsent(session, tapped.name) == []
        await session.commit()
