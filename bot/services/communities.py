"""Cộng đồng học tập cấp thôn: a village's own assessment for the title, its figures, and its
recognition by the commune.

The village is the subject (``Assessment.subject == "village"``, ``unit_id`` the village): its
branch leader or its commune's officer assesses it, as a leader assesses a household, and the
commune reviews it with the households (``bot/services/review.py``). The criteria that are
figures hoctap already holds (the form's ``figure`` questions: the share of households
recognised, the share of working-age people holding Công dân học tập) are never typed: they are
filled from the year's results whenever the assessment is opened or answered, and counted again
just before the commune recognises it, so a household recognised late still counts. Every
change of a figure keeps the earlier value as a revision. Functions never commit. Must not
import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.services import assessing, review, scope
from bot.services.context import CDONG
from bot.services.reports import HOUSEHOLD_FORMS, PERSON_FORMS
from bot.storage import queries
from bot.storage.models import Assessment, Unit
from conversations.engine import evaluate
from conversations.loader import FormRegistry
from conversations.model import Form

ASSESSORS = ("leader", "officer")


def _percent(part: int, whole: int) -> int:
    """A whole percentage rounded down: 69.9 % is 69, never over a threshold it did not reach."""
    return part * 100 // whole if whole else 0


async def figures(session: AsyncSession, village: Unit, year: int) -> dict[str, int]:
    """The figures a village's form may ask, from the report's own counts of the year."""
    rows = await queries.child_counts(session, village, year, HOUSEHOLD_FORMS, PERSON_FORMS)
    counts = sum((row.counts for row in rows), queries.Counts())
    return {
        "family_share": _percent(counts.recognised, counts.households),
        "citizen_share": _percent(counts.confirmed, counts.working_age),
    }


async def may_assess(session: AsyncSession, person_id: int, village: Unit) -> bool:
    """True for the village's branch leader and its commune's officer (and administrators)."""
    return village.level >= queries.VILLAGE and await scope.may(
        session, person_id, village, ASSESSORS
    )


async def open_assessment(
    session: AsyncSession, forms: FormRegistry, village: Unit, year: int, by: int, now: dt.datetime
) -> Assessment:
    """The village's assessment of the year (the newest), or a new draft of the newest form."""
    found = await session.scalar(
        select(Assessment)
        .where(
            Assessment.subject == "village",
            Assessment.unit_id == village.id,
            Assessment.year == year,
            Assessment.form_key == CDONG,
        )
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    if found is not None:
        return found
    assessment = Assessment(
        form_key=CDONG, form_version=forms.get(CDONG).version, year=year, subject="village",
        unit_id=village.id, created_by=by, state="draft", created_at=now, updated_at=now,
    )  # fmt: skip
    session.add(assessment)
    await session.flush()
    return assessment


@dataclass(frozen=True)
class FigureChange:
    """A figure counted again that differs from the one stored (None: there was none)."""

    question_id: str
    before: str | None
    after: str


async def fill_figures(
    session: AsyncSession, form: Form, assessment: Assessment, by: int, now: dt.datetime
) -> list[FigureChange]:
    """Count the form's figures for the assessment's village and year and store those that
    changed (earlier values kept as revisions); return what changed."""
    asked = [q for q in form.questions if q.figure]
    if not asked or assessment.subject != "village" or assessment.unit_id is None:
        return []
    village = await session.get(Unit, assessment.unit_id)
    assert village is not None  # a foreign key
    counted = await figures(session, village, assessment.year)
    stored = await assessing.stored_answers(session, assessment.id)
    changes = [
        FigureChange(q.id, stored.get(q.id), str(counted[q.figure]))
        for q in asked
        if q.figure in counted and stored.get(q.id) != str(counted[q.figure])
    ]
    if changes:
        changed: dict[str, str | None] = {c.question_id: c.after for c in changes}
        await assessing.write_answers(session, assessment, changed, now, by)
    return changes


async def recognise(
    session: AsyncSession,
    forms: FormRegistry,
    actor_id: int,
    assessment_id: int,
    decision_no: str,
    decision_date: dt.date,
    now: dt.datetime,
) -> tuple[Assessment, list[FigureChange]]:
    """Count the village's figures again, score it on them, then recognise it as the commune
    recognises a household (``ReviewError`` if it no longer meets the criteria)."""
    item = await review.review_item(session, actor_id, assessment_id)  # the officer's, or refused
    assessment = await session.get(Assessment, assessment_id)
    assert assessment is not None
    changes: list[FigureChange] = []
    if item.subject == "village" and assessment.state == "submitted":
        form = await assessing.form_of(session, forms, assessment)
        changes = await fill_figures(session, form, assessment, actor_id, now)
        if changes:
            answers = await assessing.stored_answers(session, assessment.id)
            assessing.score(assessment, evaluate(form, answers))
            if not assessment.passed:
                raise review.ReviewError(
                    _(
                        "The village's figures changed since it was submitted, and it no longer "
                        "meets the criteria: return it to the branch leader."
                    )
                )
    return (
        await review.recognise(session, actor_id, assessment_id, decision_no, decision_date, now),
        changes,
    )
