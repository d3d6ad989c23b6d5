"""Cộng đồng học tập cấp thôn: a village's own assessment for the title, its figures, and its
recognition by the commune.

The village is the subject (``Assessment.subject == "village"``, ``unit_id`` the village): its
branch leader or its commune's officer assesses it, as a leader assesses a household, and the
commune reviews it with the households (``bot/services/review.py``). Its figures (the share of
households recognised, the share of working-age people holding Công dân học tập) are counted
here and kept current by ``bot/services/figures.py``. Functions never commit. Must not import
any platform library.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import scope
from bot.services.context import CDONG
from bot.services.reports import HOUSEHOLD_FORMS, PERSON_FORMS
from bot.storage import queries
from bot.storage.models import Assessment, Unit
from conversations.loader import FormRegistry

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
