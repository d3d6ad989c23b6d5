"""Công dân học tập titles: a citizen's self-check that meets the criteria is their own estimate
until the village branch or the commune confirms it (or declines it).

No public text names who confirms the title (DOMAIN.md, "Corrections and findings"): the form's
parameter ``confirmer`` says (1 the village branch leader, 2 the commune officer, 3 either,
the default), and a commune can set it like any other parameter. A confirmed title is final,
as a recognised household is: no state change or edit reaches it again. Every decision is in
the audit trail, by ids. Functions never commit. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.services import assessing, review, scope
from bot.services.context import CDHT, CDHT_FORMS
from bot.storage.models import Assessment, Person, Unit
from conversations.loader import FormRegistry
from conversations.text import vietnamese_key

LEADER, OFFICER = "leader", "officer"
BY_PARAMETER = {1: (LEADER,), 2: (OFFICER,), 3: (LEADER, OFFICER)}
COMMENT_MAX = review.COMMENT_MAX


@dataclass(frozen=True)
class CitizenItem:
    """A citizen's self-check waiting for confirmation, as a confirmer sees it."""

    assessment_id: int
    person_id: int | None
    name: str
    village_id: int
    village: str
    year: int
    score: float | None
    submitted_at: dt.datetime | None
    form_key: str = CDHT  # the group's form (bot/services/groups.py)


ITEM_COLUMNS = (
    Assessment.id, Assessment.person_id, Person.display_name, Unit.id, Unit.name,
    Assessment.year, Assessment.score, Assessment.submitted_at, Assessment.form_key,
)  # fmt: skip


def _waiting(year: int | None) -> list[ColumnElement[bool]]:
    found = [
        Assessment.subject == "person",
        Assessment.form_key.in_(CDHT_FORMS),
        Assessment.state == "submitted",
        Assessment.passed.is_(True),
        Person.erased_at.is_(None),
    ]
    return found if year is None else [*found, Assessment.year == year]


async def waiting_in(
    session: AsyncSession,
    forms: FormRegistry,
    actor_id: int,
    area: Unit,
    year: int | None = None,
) -> list[CitizenItem]:
    """The self-checks that meet the criteria and wait for a decision, in the villages of
    ``area`` (a village or a commune) this person may confirm in, by village and name."""
    rows = await session.execute(
        select(*ITEM_COLUMNS)
        .join(Person, Person.id == Assessment.person_id)
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(*_waiting(year), (Unit.id == area.id) | Unit.path.startswith(area.path))
    )
    items = sorted(
        (CitizenItem(*row) for row in rows),
        key=lambda i: (vietnamese_key(i.village), vietnamese_key(i.name), i.assessment_id),
    )
    allowed: dict[tuple[int, str], bool] = {}
    kept = []
    for item in items:
        key = (item.village_id, item.form_key)
        if key not in allowed:
            village = await session.get(Unit, item.village_id)
            assert village is not None
            allowed[key] = await may_confirm(session, forms, actor_id, village, item.form_key)
        if allowed[key]:
            kept.append(item)
    return kept


async def may_confirm(
    session: AsyncSession,
    forms: FormRegistry,
    actor_id: int,
    village: Unit,
    form_key: str = CDHT,
) -> bool:
    """True when this person may confirm titles of people living in ``village`` made with
    the group form ``form_key``: the roles its newest version's ``confirmer`` names, as the
    village's commune or province set it."""
    form = await assessing.with_settings(session, forms.get(form_key), village.id)
    parameter = form.parameters.get("confirmer")
    roles = (
        BY_PARAMETER.get(int(parameter.value), BY_PARAMETER[3]) if parameter else (LEADER, OFFICER)
    )
    return await scope.may(session, actor_id, village, roles)


async def citizen_item(
    session: AsyncSession, forms: FormRegistry, actor_id: int, assessment_id: int
) -> CitizenItem:
    """One self-check for its confirmer; ``ReviewError`` for anyone else."""
    await _load(session, forms, actor_id, assessment_id, lock=False)
    row = (
        await session.execute(
            select(*ITEM_COLUMNS)
            .join(Person, Person.id == Assessment.person_id)
            .join(Unit, Unit.id == Assessment.unit_id)
            .where(Assessment.id == assessment_id)
        )
    ).one()
    return CitizenItem(*row)


async def _load(
    session: AsyncSession,
    forms: FormRegistry,
    actor_id: int,
    assessment_id: int,
    lock: bool = True,
) -> tuple[Assessment, Unit]:
    query = select(Assessment).where(Assessment.id == assessment_id)
    assessment = await session.scalar(query.with_for_update() if lock else query)
    village = (
        await session.get(Unit, assessment.unit_id)
        if assessment is not None
        and assessment.subject == "person"
        and assessment.form_key in CDHT_FORMS
        and assessment.unit_id
        else None
    )
    if assessment is None or village is None:
        raise review.ReviewError(
            _("There is no self-check {id} to confirm.").format(id=assessment_id)
        )
    if not await may_confirm(session, forms, actor_id, village, assessment.form_key):
        raise review.ReviewError(
            _("Only the branch leader of this village or its commune officer can confirm it.")
        )
    return assessment, village


def _require_waiting(assessment: Assessment) -> None:
    if assessment.state == "recognised":
        raise review.ReviewError(_("This title is already confirmed; it can no longer change."))
    if assessment.state != "submitted" or not assessment.passed:
        raise review.ReviewError(_("Only a self-check that meets the criteria can be confirmed."))


async def confirm(
    session: AsyncSession, forms: FormRegistry, actor_id: int, assessment_id: int, now: dt.datetime
) -> Assessment:
    """Confirm the Công dân học tập title of a self-check that meets the criteria."""
    assessment, village = await _load(session, forms, actor_id, assessment_id)
    _require_waiting(assessment)
    await review.change_state(session, actor_id, assessment, village, "recognised", now)
    return assessment


async def decline(
    session: AsyncSession,
    forms: FormRegistry,
    actor_id: int,
    assessment_id: int,
    comment: str,
    now: dt.datetime,
) -> Assessment:
    """Decline it this year (the person's evidence did not bear the estimate out)."""
    assessment, village = await _load(session, forms, actor_id, assessment_id)
    _require_waiting(assessment)
    assessment.review_comment = " ".join(comment.split())[:COMMENT_MAX] or None
    await review.change_state(session, actor_id, assessment, village, "not_recognised", now)
    return assessment
