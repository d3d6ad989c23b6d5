"""Figures hoctap already holds that a form asks (its ``figure`` questions): counted for the
assessment's subject, never typed.

They are filled whenever the assessment is opened or answered, and counted again just before
the commune recognises it, so a household recognised late still counts; every change keeps the
earlier value as a revision. A village's figures are ``bot/services/communities.py``'s, a clan's
``bot/services/clans.py``'s. Functions never commit. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.services import assessing, clans, communities, review
from bot.storage.models import Assessment, Clan, Unit
from conversations.engine import evaluate
from conversations.loader import FormRegistry
from conversations.model import Form


async def counted(session: AsyncSession, assessment: Assessment) -> dict[str, int]:
    """The figures of the assessment's subject for its year (none for subjects without)."""
    if assessment.subject == "village" and assessment.unit_id is not None:
        village = await session.get(Unit, assessment.unit_id)
        assert village is not None  # a foreign key
        return await communities.figures(session, village, assessment.year)
    if assessment.subject == "clan" and assessment.clan_id is not None:
        clan = await session.get(Clan, assessment.clan_id)
        assert clan is not None  # a foreign key
        return await clans.figures(session, clan, assessment.year)
    return {}


@dataclass(frozen=True)
class FigureChange:
    """A figure counted again that differs from the one stored (None: there was none)."""

    question_id: str
    before: str | None
    after: str


async def fill(
    session: AsyncSession, form: Form, assessment: Assessment, by: int, now: dt.datetime
) -> list[FigureChange]:
    """Count the form's figures for the assessment's subject and year and store those that
    changed (earlier values kept as revisions); return what changed."""
    asked = [q for q in form.questions if q.figure]
    if not asked:
        return []
    found = await counted(session, assessment)
    stored = await assessing.stored_answers(session, assessment.id)
    changes = [
        FigureChange(q.id, stored.get(q.id), str(found[q.figure]))
        for q in asked
        if q.figure in found and stored.get(q.id) != str(found[q.figure])
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
    """Count the subject's figures again, score it on them, then recognise it as the commune
    recognises a household (``ReviewError`` if it no longer meets the criteria): every
    recognition in chat goes through here."""
    await review.review_item(session, actor_id, assessment_id)  # the officer's, or refused
    assessment = await session.get(Assessment, assessment_id)
    assert assessment is not None
    changes: list[FigureChange] = []
    if assessment.state == "submitted":
        form = await assessing.form_of(session, forms, assessment)
        changes = await fill(session, form, assessment, actor_id, now)
        if changes:
            answers = await assessing.stored_answers(session, assessment.id)
            assessing.score(assessment, evaluate(form, answers))
            if not assessment.passed:
                raise review.ReviewError(
                    _(
                        "The figures changed since it was submitted, and it no longer meets the "
                        "criteria: return it to the one who assessed it."
                    )
                )
    return (
        await review.recognise(session, actor_id, assessment_id, decision_no, decision_date, now),
        changes,
    )
