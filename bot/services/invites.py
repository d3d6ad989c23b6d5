"""Onboarding by invite codes: an administrator (command line) or a commune officer (chat) makes a
short code for a role over a unit; the person sends ``/join CODE`` or opens the deep link.

Codes are short enough to read out at a village meeting, expire (14 days by default), work once,
and can be revoked. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.rich import Refusal
from bot.services import audit, scope
from bot.storage.models import Clan, Invite, Organisation, Person, RoleAssignment, Unit

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on phones
CODE_LENGTH = 8
DEFAULT_DAYS = 14
ROLE_LEVELS = {"leader": 3, "officer": 2, "province": 1}  # the unit level each role is over
INVITERS = {"leader": ("officer",), "officer": ("province",), "province": ()}


class InviteError(Refusal):
    """An invite that cannot be made or used; the message is for the person."""


def new_code(choice: Callable[[str], str] = secrets.choice) -> str:
    """A random code from the unambiguous alphabet."""
    return "".join(choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise(code: str) -> str:
    """What a person typed, as stored: capitals, without spaces or dashes."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


async def create(
    session: AsyncSession,
    actor_id: int | None,
    role: str,
    unit_code: str,
    now: dt.datetime,
    days: int = DEFAULT_DAYS,
) -> Invite:
    """Make an invite; ``actor_id`` None is the administrator at the command line."""
    if role not in ROLE_LEVELS:
        raise InviteError(
            _("Unknown role {role}: use leader, officer or province.").format(role=role)
        )
    unit = await session.scalar(select(Unit).where(Unit.code == unit_code, Unit.active.is_(True)))
    if unit is None:
        raise InviteError(_("There is no unit with code {code}.").format(code=unit_code))
    wanted = ROLE_LEVELS[role]
    if (unit.level < wanted) if role == "leader" else (unit.level != wanted):
        raise InviteError(
            _("A {role} invite must be for a unit of the right level; {code} is not.").format(
                role=role, code=unit_code
            )
        )
    if actor_id is not None and not await scope.may(session, actor_id, unit, INVITERS[role]):
        raise InviteError(_("You can only invite people for units in your own area."))
    invite = Invite(
        code=new_code(),
        role=role,
        unit_id=unit.id,
        created_by=actor_id,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    session.add(invite)
    await session.flush()
    await audit.record(
        session, actor_id, "invite.created", "invite", invite.id, now, unit.id, detail=role
    )
    return invite


async def join(session: AsyncSession, person: Person, typed: str, now: dt.datetime) -> Unit:
    """Use a code: the person gets the role over the invite's unit."""
    invite = await session.scalar(
        select(Invite).where(Invite.code == normalise(typed)).with_for_update()
    )
    if invite is None:
        raise InviteError(_("That code is not right. Check it and send /join CODE again."))
    if invite.used_by == person.id:
        raise InviteError(_("You have already used this code; your role is active."))
    if invite.revoked_at is not None or invite.used_at is not None:
        raise InviteError(_("That code was already used or withdrawn. Ask for a new one."))
    if invite.expires_at <= now:
        raise InviteError(_("That code has expired. Ask for a new one."))
    unit = await session.get(Unit, invite.unit_id)
    if unit is None or not unit.active:
        raise InviteError(_("The unit of that code no longer exists. Ask for a new one."))
    invite.used_at, invite.used_by = now, person.id
    headed: Organisation | Clan | None = None  # the head of a learning unit or a clan
    if invite.organisation_id is not None:
        headed = await session.get(Organisation, invite.organisation_id)
    elif invite.clan_id is not None:
        headed = await session.get(Clan, invite.clan_id)
    if invite.organisation_id is not None or invite.clan_id is not None:
        if headed is None or headed.removed_at is not None:
            raise InviteError(_("The unit of that code no longer exists. Ask for a new one."))
        headed.head_id = person.id
    else:
        session.add(
            RoleAssignment(person_id=person.id, role=invite.role, unit_id=unit.id, created_at=now)
        )
    await audit.record(
        session, person.id, "role.joined", "invite", invite.id, now, unit.id, detail=invite.role
    )
    return unit


async def revoke(session: AsyncSession, actor_id: int | None, code: str, now: dt.datetime) -> None:
    """Withdraw an unused invite (its creator's area only)."""
    invite = await session.scalar(select(Invite).where(Invite.code == normalise(code)))
    if invite is None or invite.used_at is not None:
        raise InviteError(_("There is no unused invite with that code."))
    unit = await session.get(Unit, invite.unit_id)
    assert unit is not None
    if actor_id is not None and not await scope.may(
        session, actor_id, unit, INVITERS[invite.role]
    ):
        raise InviteError(_("You can only invite people for units in your own area."))
    invite.revoked_at = now
    await audit.record(session, actor_id, "invite.revoked", "invite", invite.id, now, unit.id)
