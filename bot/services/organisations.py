"""Learning units (Đơn vị học tập): the schools, agencies, enterprises and cooperatives of a
commune, their heads, their assessment against the unit form and its TT 22/2020 rating.

A commune officer (or the administrator at the command line) adds a unit, invites its head with
a one-time code (``/join CODE``, as a branch leader is invited) and may move it to another
commune; a move carries its open assessments along, and the reports count a unit where it is
now. The head or the commune officer assesses it; the commune reviews it with the villages'
submissions (``bot/services/review.py``). Functions never commit. Must not import any platform
library.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.rich import Refusal
from bot.services import assessing, audit, heads, scope
from bot.services.context import DVHT
from bot.services.review import find_unit
from bot.storage.models import ORGANISATION_KINDS, Assessment, Invite, Organisation, Unit
from conversations.loader import FormRegistry
from conversations.model import Form

MANAGERS = heads.MANAGERS
COMMUNE = 2  # the unit level a learning unit belongs to
NAME_MAX = 200
HEAD = heads.HEAD


class OrganisationError(Refusal):
    """A refused change of a learning unit; the message is for the person."""


async def _commune(session: AsyncSession, actor_id: int | None, ref: str | int | Unit) -> Unit:
    commune = await find_unit(session, ref)
    if commune.level != COMMUNE or not commune.active:
        raise OrganisationError(
            _("A learning unit belongs to a commune; {code} is not one.").format(code=commune.code)
        )
    if actor_id is not None and not await scope.may(session, actor_id, commune, MANAGERS):
        raise OrganisationError(_("You can only manage the learning units of your own commune."))
    return commune


async def add(
    session: AsyncSession,
    actor_id: int | None,
    commune_ref: str | int | Unit,
    kind: str,
    name: str,
    staff: int | None,
    now: dt.datetime,
) -> Organisation:
    """Add a learning unit to a commune; ``actor_id`` None is the administrator."""
    commune = await _commune(session, actor_id, commune_ref)
    cleaned = " ".join(name.split())
    if kind not in ORGANISATION_KINDS:
        raise OrganisationError(
            _("Unknown kind {kind}; use one of: {kinds}.").format(
                kind=kind, kinds=", ".join(ORGANISATION_KINDS)
            )
        )
    if not cleaned or len(cleaned) > NAME_MAX:
        raise OrganisationError(_("Give the unit's name (1 to {maximum} characters).").format(
            maximum=NAME_MAX))  # fmt: skip
    if staff is not None and staff < 0:
        raise OrganisationError(_("The number of staff cannot be negative."))
    organisation = Organisation(commune_id=commune.id, kind=kind, name=cleaned, staff=staff,
                                created_at=now)  # fmt: skip
    session.add(organisation)
    await session.flush()
    await audit.record(session, actor_id, "organisation.added", "organisation", organisation.id,
                       now, commune.id, detail=kind)  # fmt: skip
    return organisation


async def get(session: AsyncSession, organisation_id: int) -> Organisation:
    """A unit that is still there; ``OrganisationError`` otherwise."""
    found = await session.get(Organisation, organisation_id)
    if found is None or found.removed_at is not None:
        raise OrganisationError(_("There is no learning unit {id}.").format(id=organisation_id))
    return found


async def move(
    session: AsyncSession,
    actor_id: int | None,
    organisation_id: int,
    commune_ref: str | int | Unit,
    now: dt.datetime,
) -> Organisation:
    """Move a unit to another commune (after a merger of communes, say): its open assessments
    go with it; recognised ones keep the commune that recognised them."""
    organisation = await get(session, organisation_id)
    await _commune(session, actor_id, organisation.commune_id)  # an officer of where it is
    target = await _commune(session, None, commune_ref)
    before, organisation.commune_id = organisation.commune_id, target.id
    for assessment in await session.scalars(
        select(Assessment).where(
            Assessment.organisation_id == organisation.id,
            Assessment.state.in_((*assessing.OPEN_STATES, "submitted")),
        )
    ):
        assessment.unit_id = target.id
    await audit.record(session, actor_id, "organisation.moved", "organisation", organisation.id,
                       now, target.id, detail=f"{before}->{target.id}")  # fmt: skip
    return organisation


async def of_commune(session: AsyncSession, commune: Unit) -> list[Organisation]:
    """A commune's units, by name."""
    rows = await session.scalars(
        select(Organisation)
        .where(Organisation.commune_id == commune.id, Organisation.removed_at.is_(None))
        .order_by(Organisation.name, Organisation.id)
    )
    return list(rows)


async def headed_by(session: AsyncSession, person_id: int) -> list[Organisation]:
    """The units this person is the head of."""
    return await heads.headed_by(session, Organisation, person_id)


async def may_assess(session: AsyncSession, person_id: int, organisation: Organisation) -> bool:
    """True for its head and its commune's officer (and administrators)."""
    return await heads.may_assess(session, person_id, organisation)


async def invite_head(
    session: AsyncSession, actor_id: int | None, organisation_id: int, now: dt.datetime
) -> Invite:
    """A one-time code that makes whoever uses it the head."""
    organisation = await get(session, organisation_id)
    commune = await _commune(session, actor_id, organisation.commune_id)
    return await heads.invite(session, actor_id, commune, organisation, now)


async def open_assessment(
    session: AsyncSession,
    forms: FormRegistry,
    organisation: Organisation,
    year: int,
    by: int,
    now: dt.datetime,
) -> Assessment:
    """The unit's assessment of the year (the newest), or a new draft of the newest form."""
    found = await session.scalar(
        select(Assessment)
        .where(Assessment.organisation_id == organisation.id, Assessment.year == year,
               Assessment.form_key == DVHT)
        .order_by(Assessment.id.desc())
        .limit(1)
    )  # fmt: skip
    if found is not None:
        return found
    assessment = Assessment(
        form_key=DVHT, form_version=forms.get(DVHT).version, year=year, subject="organisation",
        organisation_id=organisation.id, unit_id=organisation.commune_id, created_by=by,
        state="draft", created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(assessment)
    await session.flush()
    return assessment


def rating(form: Form, total: float, passed: bool) -> str | None:
    """TT 22/2020's rating of a score: "good", "fair" or "average" (None: not achieved, or a
    form without ratings)."""
    good, fair = form.parameters.get("rating_good"), form.parameters.get("rating_fair")
    if good is None or fair is None or not passed:
        return None
    if total >= good.value:
        return "good"
    return "fair" if total >= fair.value else "average"
