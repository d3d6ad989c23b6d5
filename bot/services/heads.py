"""What clans and learning units share: a subject of a commune with a head, who is invited with
a one-time code (``invites.join`` makes them the head) and assesses it, as the commune's officer
may. ``bot/services/clans.py`` and ``organisations.py`` hold what differs. Functions never
commit. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit, invites, scope
from bot.storage.models import Clan, Invite, Organisation, Unit

MANAGERS = ("officer",)  # who manages a commune's clans and units, and may assess them
HEAD = "head"  # an invite's role for a head (not a role over a unit: see invites.join)
Headed = TypeVar("Headed", Clan, Organisation)


async def headed_by(session: AsyncSession, model: type[Headed], person_id: int) -> list[Headed]:
    """The clans (or units) this person is the head of, by name."""
    rows = await session.scalars(
        select(model)
        .where(model.head_id == person_id, model.removed_at.is_(None))
        .order_by(model.name)
    )
    return list(rows)


async def may_assess(session: AsyncSession, person_id: int, subject: Clan | Organisation) -> bool:
    """True for its head and its commune's officer (and administrators)."""
    if subject.removed_at is not None:
        return False
    if subject.head_id == person_id:
        return True
    commune = await session.get(Unit, subject.commune_id)
    return commune is not None and await scope.may(session, person_id, commune, MANAGERS)


async def invite(
    session: AsyncSession,
    actor_id: int | None,
    commune: Unit,
    subject: Clan | Organisation,
    now: dt.datetime,
) -> Invite:
    """A one-time code that makes whoever uses it the head of ``subject``."""
    target = {"clan_id": subject.id} if isinstance(subject, Clan) else {
        "organisation_id": subject.id
    }  # fmt: skip
    made = Invite(code=invites.new_code(), role=HEAD, unit_id=commune.id, created_by=actor_id,
                  created_at=now, expires_at=now + dt.timedelta(days=invites.DEFAULT_DAYS),
                  **target)  # fmt: skip
    session.add(made)
    await session.flush()
    await audit.record(session, actor_id, "invite.created", "invite", made.id, now, commune.id,
                       detail=HEAD)  # fmt: skip
    return made
