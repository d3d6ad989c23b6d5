"""The inbox on whichever database the suite runs: claiming an update once, and pruning done rows
after the retention time without ever touching a pending one."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import inbox
from bot.storage.models import InboxUpdate

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
Sessions = async_sessionmaker[AsyncSession]


async def _store(
    sessions: Sessions, channel: str, ids: range, received: dt.datetime, done: dt.datetime | None
) -> None:
    async with sessions() as session:
        await inbox.record(
            session, channel, [inbox.Received(i, str(i % 3), "{}") for i in ids], received
        )
        for update_id in ids if done is not None else ():
            assert done is not None
            await inbox.mark_done(session, channel, update_id, done)
        await session.commit()


async def _left(sessions: Sessions) -> dict[str, list[int]]:
    async with sessions() as session:
        rows = await session.execute(
            select(InboxUpdate.channel, InboxUpdate.update_id).order_by(
                InboxUpdate.channel, InboxUpdate.update_id
            )
        )
        left: dict[str, list[int]] = {}
        for channel, update_id in rows:
            left.setdefault(channel, []).append(update_id)
        return left


async def test_prune_deletes_old_done_rows_and_keeps_pending_and_recent_ones(
    session_factory: Sessions,
) -> None:
    await _store(session_factory, "telegram", range(1, 6), NOW - 30 * DAY, NOW - 9 * DAY)
    await _store(session_factory, "telegram", range(6, 9), NOW - 30 * DAY, None)  # never done
    await _store(session_factory, "telegram", range(9, 11), NOW - 2 * DAY, NOW - DAY)
    async with session_factory() as session:
        removed = await inbox.prune(session, "telegram", NOW - 7 * DAY)
    assert removed == 5
    assert await _left(session_factory) == {"telegram": [6, 7, 8, 9, 10]}


async def test_prune_keeps_other_channels_unless_asked_for_all(session_factory: Sessions) -> None:
    await _store(session_factory, "telegram", range(1, 4), NOW - 9 * DAY, NOW - 9 * DAY)
    await _store(session_factory, "zalo", range(1, 3), NOW - 9 * DAY, NOW - 9 * DAY)
    async with session_factory() as session:
        assert await inbox.prune(session, "zalo", NOW - 7 * DAY) == 2
    assert await _left(session_factory) == {"telegram": [1, 2, 3]}
    async with session_factory() as session:
        assert await inbox.prune(session, None, NOW - 7 * DAY) == 3
    assert await _left(session_factory) == {}


async def test_prune_works_through_a_backlog_in_committed_batches(
    session_factory: Sessions,
) -> None:
    await _store(session_factory, "telegram", range(1, 12), NOW - 9 * DAY, NOW - 9 * DAY)
    await _store(session_factory, "telegram", range(12, 14), NOW - 9 * DAY, None)
    async with session_factory() as session:
        assert await inbox.prune(session, None, NOW, batch=4) == 11
        assert not session.in_transaction()  # every batch committed
    assert await _left(session_factory) == {"telegram": [12, 13]}
    async with session_factory() as session:
        assert await inbox.prune(session, None, NOW, batch=4) == 0


async def test_prune_refuses_a_session_with_work_in_progress(session_factory: Sessions) -> None:
    async with session_factory() as session:
        await inbox.pending(session, "telegram")
        with pytest.raises(RuntimeError, match="fresh session"):
            await inbox.prune(session, None, NOW)


async def test_an_update_is_claimed_once_and_a_rollback_gives_it_back(
    session_factory: Sessions,
) -> None:
    await _store(session_factory, "telegram", range(1, 2), NOW, None)
    async with session_factory() as session:
        assert await inbox.claim(session, "telegram", 1, NOW)
        await session.rollback()  # the effect failed: the mark goes with it
        assert not await inbox.is_done(session, "telegram", 1)
        assert await inbox.claim(session, "telegram", 1, NOW)
        await session.commit()
    async with session_factory() as session:
        assert not await inbox.claim(session, "telegram", 1, NOW)  # a redelivery: applied already
        assert await inbox.is_done(session, "telegram", 1)


async def test_record_names_the_updates_stored_now_and_leaves_redeliveries_alone(
    session_factory: Sessions,
) -> None:
    async with session_factory() as session:
        first = await inbox.record(session, "telegram", [inbox.Received(1, "a", "{}")], NOW)
        again = await inbox.record(
            session,
            "telegram",
            [inbox.Received(1, "a", '{"changed": true}'), inbox.Received(2, "a", "{}")],
            NOW + DAY,
        )
        other = await inbox.record(session, "zalo", [inbox.Received(1, "z", "{}")], NOW)
        await session.commit()
    assert (first, again, other) == ({1}, {2}, {1})
    async with session_factory() as session:
        assert await inbox.payloads_of(session, "telegram", [1]) == {1: "{}"}  # first copy kept
        waiting = await inbox.waiting(session, "telegram")
    assert waiting == [inbox.Waiting(1, "a"), inbox.Waiting(2, "a")]


async def test_store_commits_a_batch_once_even_with_an_update_twice_in_it(
    session_factory: Sessions,
) -> None:
    batch = [inbox.Received(5, "a", "{}"), inbox.Received(5, "a", "{}")]
    batch.append(inbox.Received(6, "b", "{}"))
    assert await inbox.store(session_factory, "telegram", batch, NOW) == {5, 6}
    assert await inbox.store(session_factory, "telegram", batch, NOW) == set()
    assert await _left(session_factory) == {"telegram": [5, 6]}
