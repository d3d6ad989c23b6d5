"""The access trail: who created, changed, submitted, reviewed or deleted what, and when.

Entries name objects by id and never copy personal values (names, answers) into ``detail``.
Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import AuditEntry, Unit


async def record(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: object,
    now: dt.datetime,
    unit_id: int | None = None,
    detail: str | None = None,
) -> None:
    """Add one entry to the trail, in the caller's transaction."""
    session.add(
        AuditEntry(
            at=now,
            actor_id=actor_id,
            action=action,
            object_type=object_type,
            object_id=None if object_id is None else str(object_id),
            unit_id=unit_id,
            detail=detail,
        )
    )


async def entries_under(
    session: AsyncSession, unit: Unit, limit: int = 30
) -> Sequence[AuditEntry]:
    """The newest entries about a unit and everything under it."""
    inside = select(Unit.id).where(or_(Unit.id == unit.id, Unit.path.startswith(unit.path)))
    rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.unit_id.in_(inside))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return rows.all()
