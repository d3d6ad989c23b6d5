"""Named leases: one process at a time holds a lease until it lapses or is given back.

The reminder sender takes one per channel so that two webhook workers never both send (which
would double the rate Telegram sees and could send a message twice). Must not format text.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_ignore
from bot.storage.models import Lease


async def take(
    session: AsyncSession, name: str, holder: str, now: dt.datetime, seconds: float
) -> bool:
    """Take or renew the lease ``name`` for ``seconds``; False while another holder has it.

    The caller commits. The row is locked (PostgreSQL) or the database is (SQLite, which
    begins with BEGIN IMMEDIATE), so two processes cannot both win.
    """
    until = now + dt.timedelta(seconds=seconds)
    await insert_ignore(session, Lease, {"name": name, "holder": holder, "until": until}, ["name"])
    lease = await session.scalar(
        select(Lease)
        .where(Lease.name == name)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert lease is not None
    if lease.holder != holder and lease.until > now:
        return False
    lease.holder, lease.until = holder, until
    return True


async def give_back(session: AsyncSession, name: str, holder: str) -> None:
    """Let the lease go at once (a clean stop), if this holder has it."""
    await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == holder))


HELD = "held"  # the holder of a hold: a pause that is nobody's lease


async def hold(session: AsyncSession, name: str, until: dt.datetime) -> None:
    """Keep ``name`` paused until ``until`` (a messenger's monthly quota), for every process
    and across restarts. The caller commits."""
    await insert_ignore(session, Lease, {"name": name, "holder": HELD, "until": until}, ["name"])
    row = await session.get(Lease, name, with_for_update=True, populate_existing=True)
    assert row is not None
    row.holder, row.until = HELD, max(row.until, until) if row.holder == HELD else until


async def lift(session: AsyncSession, name: str) -> bool:
    """End the pause ``name`` now (an operator's decision); False when there was none. The
    caller commits."""
    result = await session.execute(delete(Lease).where(Lease.name == name, Lease.holder == HELD))
    return bool(getattr(result, "rowcount", 0))


async def held_until(session: AsyncSession, name: str, now: dt.datetime) -> dt.datetime | None:
    """When the pause ``name`` ends, or None when there is none now."""
    return await session.scalar(
        select(Lease.until).where(Lease.name == name, Lease.holder == HELD, Lease.until > now)
    )
