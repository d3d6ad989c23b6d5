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
