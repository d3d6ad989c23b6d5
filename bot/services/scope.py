"""Who may see and change which unit: the one place every service asks.

A leader acts on the villages assigned to them, an officer on their commune and everything under
it, a province viewer reads their province, an administrator everything. Must not import any
platform library.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import RoleAssignment, Unit

READ_ROLES = ("leader", "officer", "province", "admin")
WRITE_ROLES = ("leader", "officer", "admin")


def contains(outer: Unit, inner: Unit) -> bool:
    """True when ``inner`` is ``outer`` or lies anywhere under it."""
    return inner.id == outer.id or inner.path.startswith(outer.path)


async def units_of(session: AsyncSession, person_id: int, roles: tuple[str, ...]) -> list[Unit]:
    """The units a person holds one of these roles over (active roles, active units)."""
    rows = await session.scalars(
        select(Unit)
        .join(RoleAssignment, RoleAssignment.unit_id == Unit.id)
        .where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.role.in_(roles),
            RoleAssignment.revoked_at.is_(None),
        )
        .order_by(Unit.level, Unit.name)
    )
    return list(rows)


async def is_admin(session: AsyncSession, person_id: int) -> bool:
    """Administrators are set up from the command line and may act everywhere."""
    found = await session.scalar(
        select(RoleAssignment.id)
        .where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.role == "admin",
            RoleAssignment.revoked_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def may(session: AsyncSession, person_id: int, unit: Unit, roles: tuple[str, ...]) -> bool:
    """True when the person holds one of ``roles`` over ``unit`` or a unit above it."""
    if await is_admin(session, person_id):
        return True
    return any(contains(held, unit) for held in await units_of(session, person_id, roles))
