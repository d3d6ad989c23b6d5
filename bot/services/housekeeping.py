"""Housekeeping the periodic job does beside the reminders: report totals kept fresh before
anyone asks, and handled raw updates deleted past their retention.

Each step commits its own short transactions, so SQLite's one write lock is never held for
long. Must not import any platform library or the chat layer.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.reports import HOUSEHOLD_FORMS, PERSON_FORMS
from bot.storage import inbox, queries
from bot.storage.models import Unit


async def keep_totals_fresh(sessions: async_sessionmaker[AsyncSession], year: int) -> int:
    """Recount, before anyone asks, the units whose rows changed since their totals were stored,
    one province per transaction (short, so SQLite's write lock is never held for long); then a
    report, even a province's, only adds up stored rows. Return how many units were recounted."""
    async with sessions() as session:
        provinces = list(await session.scalars(select(Unit.id).where(Unit.level == 1)))
    recounted = 0
    for province_id in provinces:
        async with sessions() as session:
            province = await session.get(Unit, province_id)
            assert province is not None
            # Seconds, after an import; the driver's thread runs it, people are answered
            # meanwhile (their writes wait for this transaction, on SQLite).
            recounted += await queries.refresh_totals(
                session, province, year, HOUSEHOLD_FORMS, PERSON_FORMS
            )
            await session.commit()
    return recounted


async def prune_inbox(
    sessions: async_sessionmaker[AsyncSession], channel: str, older_than: dt.datetime
) -> int:
    """Delete the channel's handled raw updates (personal data) done before ``older_than``;
    pending ones stay. Return how many went."""
    async with sessions() as session:  # prune commits batch by batch
        return await inbox.prune(session, channel, older_than)
