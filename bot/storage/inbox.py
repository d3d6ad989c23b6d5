"""The durable inbox: every update is stored raw before it is acknowledged, and marked done in
the same transaction as its effect, with the reply that effect must show. Unfinished rows are
replayed at start-up, in order per chat; replies a crash kept from their people are sent then.

Repositories never commit: the caller owns the transaction. ``store`` (storing comes before
everything, in a transaction of its own) and ``prune`` (housekeeping with no effect to join, in
batches) commit their own. Must not format text for people.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, bindparam, delete, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import insert_new, reconnecting
from bot.storage.models import InboxUpdate, table_of

PRUNE_BATCH = 1000  # rows per DELETE: short transactions let updates in between (SQLite)
PENDING_LIMIT = 500  # pending rows read at once; more are read once these are under way

_inbox = table_of(InboxUpdate)
# Built once: ``claim`` runs for every update, and building the statement cost more than running
# it. A Core statement on the table also skips the ORM's bookkeeping (nothing here is loaded).
_CLAIM = (
    update(_inbox)
    .where(
        _inbox.c.channel == bindparam("of_channel"),
        _inbox.c.update_id == bindparam("of_update"),
        _inbox.c.done_at.is_(None),
    )
    .values(done_at=bindparam("now", type_=_inbox.c.done_at.type))
)
# The claim as a WITH of a query that reads what the update applies to (PostgreSQL): one row if
# claimed. It takes the row only if no other transaction holds it (SKIP LOCKED): a query that
# waited for a lock would have read all else as it was before the wait. When it claimed nothing,
# `WAS_DONE` (read in the same query, as of its start) tells: True, or None (no row), done
# already; False, held by another transaction, or done by one since the query started; either
# way the caller's plain `claim` then waits for the row and finds out.
_unheld = (
    select(_inbox.c.update_id)
    .where(
        _inbox.c.channel == bindparam("of_channel"),
        _inbox.c.update_id == bindparam("of_update"),
        _inbox.c.done_at.is_(None),
    )
    .with_for_update(skip_locked=True)
)
CLAIMED = (
    update(_inbox)
    .where(
        _inbox.c.channel == bindparam("of_channel"),
        _inbox.c.update_id == _unheld.scalar_subquery(),  # a key: one row or none
    )
    .values(done_at=bindparam("now", type_=_inbox.c.done_at.type))
    .returning(_inbox.c.update_id)
    .cte("claimed")
)
WAS_DONE = (
    select(_inbox.c.done_at.is_not(None))
    .where(
        _inbox.c.channel == bindparam("of_channel"),
        _inbox.c.update_id == bindparam("of_update"),
    )
    .scalar_subquery()
)


@dataclass(frozen=True)
class Received:
    """One raw update as the channel delivered it."""

    update_id: int
    chat_key: str
    payload: str


async def record(
    session: AsyncSession, channel: str, updates: Sequence[Received], now: dt.datetime
) -> set[int]:
    """Store updates; one already stored (a redelivery) is left as it was. Return the ids of
    the updates stored now, the redeliveries left out."""
    rows = [
        {
            "channel": channel,
            "update_id": u.update_id,
            "chat_key": u.chat_key,
            "payload": u.payload,
            "received_at": now,
        }
        for u in updates
    ]
    # One statement: a redelivery hits the key and is skipped, even one that another worker
    # stores at the same moment.
    return await insert_new(session, InboxUpdate, rows, ["channel", "update_id"], "update_id")


async def store(
    sessions: async_sessionmaker[AsyncSession],
    channel: str,
    updates: Sequence[Received],
    now: dt.datetime,
) -> set[int]:
    """``record`` in a transaction of its own, committed before the caller acknowledges the
    updates; tried again on a new connection when the first turned out dropped."""

    async def committed() -> set[int]:
        async with sessions() as session:
            new = await record(session, channel, updates, now)
            await session.commit()
        return new

    return await reconnecting(committed)


async def pending(
    session: AsyncSession, channel: str, limit: int = PENDING_LIMIT
) -> list[InboxUpdate]:
    """Updates stored but not yet done, oldest first (update ids grow per bot)."""
    rows = await session.scalars(
        select(InboxUpdate)
        .where(InboxUpdate.channel == channel, InboxUpdate.done_at.is_(None))
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True)
class Waiting:
    """A pending update without its payload: enough to queue it behind its chat's earlier ones."""

    update_id: int
    chat_key: str


async def waiting(
    session: AsyncSession, channel: str, limit: int = PENDING_LIMIT
) -> list[Waiting]:
    """Like ``pending`` without the payloads (the runner reads them often; it parsed most of the
    updates already, and reads payloads with ``payloads_of`` only to replay them)."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.chat_key)
        .where(InboxUpdate.channel == channel, InboxUpdate.done_at.is_(None))
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    return [Waiting(update_id, chat_key) for update_id, chat_key in rows]


async def payloads_of(
    session: AsyncSession, channel: str, update_ids: Sequence[int]
) -> dict[int, str]:
    """The raw updates as stored, by id (one gone meanwhile is left out)."""
    rows = await session.execute(
        select(InboxUpdate.update_id, InboxUpdate.payload).where(
            InboxUpdate.channel == channel, InboxUpdate.update_id.in_(update_ids)
        )
    )
    return {update_id: payload for update_id, payload in rows}


async def is_done(session: AsyncSession, channel: str, update_id: int) -> bool:
    """True when this update's effect was already committed.

    The row is locked until commit (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), so
    two workers replaying the same update apply it once: the second waits, then sees it done.
    """
    done = await session.scalar(
        select(InboxUpdate.done_at)
        .where(InboxUpdate.channel == channel, InboxUpdate.update_id == update_id)
        .with_for_update()
    )
    return done is not None


async def claim(session: AsyncSession, channel: str, update_id: int, now: dt.datetime) -> bool:
    """Mark a stored update done first thing in the transaction that applies it; return False
    when it was done already (a redelivery, or another worker's replay), and then apply nothing.

    One statement instead of ``is_done`` then ``mark_done``: the UPDATE locks the row until
    commit (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises), so of two workers applying
    one update the second waits, then finds it done. A rollback undoes the mark with the effect.
    The update must be stored: an id with no row counts as done.
    """
    result = await session.execute(
        _CLAIM, {"of_channel": channel, "of_update": update_id, "now": now}
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def mark_done(session: AsyncSession, channel: str, update_id: int, now: dt.datetime) -> None:
    """Mark an update done; call inside the transaction that applied its effect."""
    await session.execute(
        update(InboxUpdate)
        .where(
            InboxUpdate.channel == channel,
            InboxUpdate.update_id == update_id,
            InboxUpdate.done_at.is_(None),
        )
        .values(done_at=now)
    )


_KEEP_REPLY = (
    update(_inbox)
    .where(
        _inbox.c.channel == bindparam("of_channel"),
        _inbox.c.update_id == bindparam("of_update"),
    )
    .values(reply=bindparam("reply"))
)


async def keep_reply(session: AsyncSession, channel: str, update_id: int, reply: str) -> None:
    """Keep what applying the update must show; call in the transaction that applies it, so
    the reply commits with the effect (and a crash before it is sent cannot lose it)."""
    await session.execute(
        _KEEP_REPLY, {"of_channel": channel, "of_update": update_id, "reply": reply}
    )


async def mark_replied(
    session: AsyncSession, channel: str, update_ids: Sequence[int], now: dt.datetime
) -> None:
    """Record that the channel took these updates' replies (sent, or given up)."""
    await session.execute(
        update(InboxUpdate)
        .where(InboxUpdate.channel == channel, InboxUpdate.update_id.in_(update_ids))
        .values(replied_at=now)
    )


@dataclass(frozen=True)
class Unsent:
    """A reply kept with its update and not yet taken by the channel."""

    update_id: int
    chat_key: str
    payload: str  # the raw update: where the reply goes (the chat, the tapped message)
    reply: str
    done_at: dt.datetime | None


async def unsent(
    session: AsyncSession,
    channel: str,
    done_before: dt.datetime | None = None,
    limit: int = PENDING_LIMIT,
) -> list[Unsent]:
    """Replies not yet sent, oldest first; with ``done_before``, only those of updates applied
    before then (a live worker sends its own within milliseconds)."""
    query = (
        select(
            InboxUpdate.update_id,
            InboxUpdate.chat_key,
            InboxUpdate.payload,
            InboxUpdate.reply,
            InboxUpdate.done_at,
        )
        .where(
            InboxUpdate.channel == channel,
            InboxUpdate.reply.is_not(None),
            InboxUpdate.replied_at.is_(None),
        )
        .order_by(InboxUpdate.update_id)
        .limit(limit)
    )
    if done_before is not None:
        query = query.where(InboxUpdate.done_at < done_before)
    rows = await session.execute(query)
    return [Unsent(u, c, p, r or "", d) for u, c, p, r, d in rows]


async def prune(
    session: AsyncSession,
    channel: str | None,
    older_than: dt.datetime,
    batch: int = PRUNE_BATCH,
) -> int:
    """Delete updates done before ``older_than`` (of one channel, or all with None); pending ones
    are never touched. Return how many rows went.

    Rows go ``batch`` at a time, each batch in its own committed transaction, so a large backlog
    never holds SQLite's single write lock for long. It commits, so give it a session of its own.
    """
    if session.in_transaction():
        raise RuntimeError("inbox.prune commits its batches: call it with a fresh session")
    due = InboxUpdate.done_at < older_than  # NULL (pending) never compares true
    if channel is not None:
        due = due & (InboxUpdate.channel == channel)
    keys = select(InboxUpdate.channel, InboxUpdate.update_id).where(due).limit(batch)
    statement = delete(InboxUpdate).where(
        tuple_(InboxUpdate.channel, InboxUpdate.update_id).in_(keys)
    )
    removed = 0
    while True:
        result = await session.execute(statement, execution_options={"synchronize_session": False})
        await session.commit()
        count = cast(CursorResult[Any], result).rowcount
        removed += count
        if count < batch:
            return removed
