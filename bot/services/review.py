"""The commune's review of submitted household assessments, and of villages' own assessments
for Cộng đồng học tập (``subject == "village"``; their figures: ``bot/services/communities.py``).

States: a leader's submitted assessment is recognised (with the UBND decision's number and date),
not recognised, or returned for changes with a comment; a returned one is open again in the
engine flow (``assessing.OPEN_STATES``), so the leader edits and resubmits it. A recognised
result is final: no state change or edit reaches it again.

Only an officer of the commune holding the household's village (or an administrator) reviews
it; anyone else gets a ``ReviewError`` with a message in their language. Every change writes an
audit entry naming the object and unit, never a personal value. Functions never commit.
Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.rich import Refusal
from bot.services import audit, scope
from bot.services.context import GDHT
from bot.storage.models import (
    Answer,
    AnswerRevision,
    Assessment,
    Clan,
    Household,
    Organisation,
    Unit,
)
from bot.storage.queries import deciding
from conversations.text import vietnamese_key

REVIEWERS = ("officer",)
HOUSEHOLD_FORMS = (GDHT,)
DECISION_MAX, COMMENT_MAX = 64, 500


class ReviewError(Refusal):
    """A refused review or target change; str() is one line for the person."""


class TypedTextError(ReviewError):
    """What was typed for a decision (its number, a comment) cannot be taken as it is: the
    person is asked again."""


@dataclass(frozen=True)
class ReviewItem:
    """A household assessment as the reviewing officer sees it."""

    assessment_id: int
    year: int
    village_id: int
    village: str
    household_code: str
    head_name: str
    score: float | None
    max_score: float | None
    passed: bool
    state: str
    comment: str | None = None
    form_key: str = GDHT
    form_version: int = 1
    submissions: int = 0  # 2 or more: resubmitted after the commune returned it
    subject: str = "household"  # or "village": the village's own (no household code or head)


@dataclass(frozen=True)
class AnswerChange:
    """One answer as it was at the previous submission and as it is now (None: no answer)."""

    question_id: str
    before: str | None
    after: str | None


async def find_unit(session: AsyncSession, ref: str | int | Unit) -> Unit:
    """A unit by its code or id; ``ReviewError`` when there is none."""
    if isinstance(ref, Unit):
        return ref
    column = Unit.id if isinstance(ref, int) else Unit.code
    unit = await session.scalar(select(Unit).where(column == ref))
    if unit is None:
        raise ReviewError(_("There is no unit with code {code}.").format(code=ref))
    return unit


async def reviewable_village(session: AsyncSession, actor_id: int, village_id: int) -> Unit:
    """A village whose households this person may review; ``ReviewError`` otherwise."""
    village = await session.get(Unit, village_id)
    if village is None:
        raise ReviewError(_("There is no unit with code {code}.").format(code=village_id))
    await _authorise(session, actor_id, village)
    return village


async def _authorise(session: AsyncSession, actor_id: int, village: Unit) -> None:
    if not await scope.may(session, actor_id, village, REVIEWERS):
        raise ReviewError(_("Only an officer of this commune can review its households."))


ITEM_COLUMNS = (
    Assessment.id, Assessment.year, Unit.id, Unit.name, Household.code, Household.head_name,
    Assessment.score, Assessment.max_score, Assessment.passed, Assessment.state,
    Assessment.review_comment, Assessment.form_key, Assessment.form_version,
    Assessment.submissions,
)  # fmt: skip


async def _fetch(session: AsyncSession, *where: ColumnElement[bool]) -> list[ReviewItem]:
    """Review items in the order of ``ITEM_COLUMNS``, which is ``ReviewItem``'s."""
    rows = await session.execute(
        select(*ITEM_COLUMNS)
        .join(Household, Household.id == Assessment.household_id)
        .join(Unit, Unit.id == Household.village_id)
        .where(*where)
        .order_by(Assessment.year, Unit.name, Household.code)
    )
    return [ReviewItem(*row[:8], bool(row[8]), *row[9:]) for row in rows]


VILLAGE_COLUMNS = (
    Assessment.id, Assessment.year, Unit.id, Unit.name, Assessment.score, Assessment.max_score,
    Assessment.passed, Assessment.state, Assessment.review_comment, Assessment.form_key,
    Assessment.form_version, Assessment.submissions,
)  # fmt: skip


async def _fetch_villages(session: AsyncSession, *where: ColumnElement[bool]) -> list[ReviewItem]:
    """Villages' own assessments as review items (no household code or head's name)."""
    rows = await session.execute(
        select(*VILLAGE_COLUMNS)
        .join(Unit, Unit.id == Assessment.unit_id)
        .where(Assessment.subject == "village", *where)
        .order_by(Assessment.year, Unit.name)
    )
    return [
        ReviewItem(aid, year, vid, name, "", "", score, top, bool(passed), state, comment,
                   key, version, rounds, subject="village")
        for aid, year, vid, name, score, top, passed, state, comment, key, version, rounds in rows
    ]  # fmt: skip


async def _fetch_headed(
    session: AsyncSession, model: type[Organisation] | type[Clan], *where: ColumnElement[bool]
) -> list[ReviewItem]:
    """Learning units' or clans' assessments as review items, listed under their commune
    (``head_name`` holds the unit's or clan's name)."""
    subject, key = (
        ("organisation", Assessment.organisation_id)
        if model is Organisation
        else ("clan", Assessment.clan_id)
    )
    rows = await session.execute(
        select(Assessment.id, Assessment.year, Unit.id, Unit.name, model.name, Assessment.score,
               Assessment.max_score, Assessment.passed, Assessment.state,
               Assessment.review_comment, Assessment.form_key, Assessment.form_version,
               Assessment.submissions)
        .join(model, model.id == key)
        .join(Unit, Unit.id == model.commune_id)
        .where(Assessment.subject == subject, *where)
        .order_by(Assessment.year, model.name)
    )  # fmt: skip
    return [
        ReviewItem(aid, year, cid, commune, "", name, score, top, bool(passed), state, comment,
                   form, version, rounds, subject=subject)
        for aid, year, cid, commune, name, score, top, passed, state, comment, form, version,
        rounds in rows
    ]  # fmt: skip


async def _fetch_organisations(
    session: AsyncSession, *where: ColumnElement[bool]
) -> list[ReviewItem]:
    return await _fetch_headed(session, Organisation, *where)


async def _fetch_clans(session: AsyncSession, *where: ColumnElement[bool]) -> list[ReviewItem]:
    return await _fetch_headed(session, Clan, *where)


async def pending_reviews(
    session: AsyncSession, actor_id: int, commune: str | int | Unit, year: int | None = None
) -> list[ReviewItem]:
    """The commune's submitted household assessments, by village (in Vietnamese alphabetical
    order: Hạ before Hòa, Đông after Dân), year and household."""
    unit = await find_unit(session, commune)
    await _authorise(session, actor_id, unit)
    a = Assessment
    in_year = a.year == year if year is not None else true()
    found = await _fetch(
        session,
        Unit.path.startswith(unit.path),
        Household.removed_at.is_(None),
        a.form_key.in_(HOUSEHOLD_FORMS),
        a.state == "submitted",
        deciding(a, HOUSEHOLD_FORMS),
        in_year,
    )
    # A village's own assessment comes first in its village's list.
    villages = await _fetch_villages(
        session, Unit.path.startswith(unit.path), a.state == "submitted", in_year
    )
    units = await _fetch_organisations(
        session, Unit.path.startswith(unit.path), a.state == "submitted", in_year,
        Organisation.removed_at.is_(None),
    )  # fmt: skip
    families = await _fetch_clans(
        session, Unit.path.startswith(unit.path), a.state == "submitted", in_year,
        Clan.removed_at.is_(None),
    )  # fmt: skip
    return sorted(
        [*villages, *found, *units, *families],
        key=lambda item: (
            vietnamese_key(item.village),
            item.village_id,
            item.subject != "village",
        ),
    )


async def review_item(session: AsyncSession, actor_id: int, assessment_id: int) -> ReviewItem:
    """One household assessment, for an officer of its commune."""
    assessment, _village = await _load(session, actor_id, assessment_id, lock=False)
    fetchers = {
        "village": _fetch_villages,
        "organisation": _fetch_organisations,
        "clan": _fetch_clans,
    }
    fetch = fetchers.get(assessment.subject, _fetch)
    [item] = await fetch(session, Assessment.id == assessment_id)
    return item


async def changes_since_last_submission(
    session: AsyncSession, actor_id: int, assessment_id: int
) -> list[AnswerChange]:
    """What the leader changed after the commune returned the assessment, for its officer.

    Edits happen only while it is open, so the revisions of the round after the previous
    submission hold every value it had then. An answer given for the first time in that round
    (a question an edit made visible) has no revision; it is found by its time, after the return.
    """
    assessment, _village = await _load(session, actor_id, assessment_id, lock=False)
    if assessment.submissions < 2:
        return []
    rows = await session.execute(
        select(AnswerRevision.question_id, AnswerRevision.value)
        .where(
            AnswerRevision.assessment_id == assessment_id,
            AnswerRevision.submission_round == assessment.submissions - 1,
        )
        .order_by(AnswerRevision.id)
    )
    before: dict[str, str | None] = {}
    for question_id, value in rows:
        before.setdefault(question_id, value)  # the first revision of the round: as submitted
    now: dict[str, str] = {}
    for question_id, value, answered_at in await session.execute(
        select(Answer.question_id, Answer.value, Answer.answered_at).where(
            Answer.assessment_id == assessment_id
        )
    ):
        now[question_id] = value
        if question_id not in before and _after(answered_at, assessment.reviewed_at):
            before[question_id] = None
    return [
        AnswerChange(question_id, value, now.get(question_id))
        for question_id, value in before.items()
        if value != now.get(question_id)
    ]


def _after(moment: dt.datetime, returned_at: dt.datetime | None) -> bool:
    return returned_at is not None and moment > returned_at


async def _load(
    session: AsyncSession, actor_id: int, assessment_id: int, lock: bool = True
) -> tuple[Assessment, Unit]:
    query = select(Assessment).where(Assessment.id == assessment_id)
    assessment = await session.scalar(query.with_for_update() if lock else query)
    if (
        assessment is not None
        and assessment.subject in ("village", "organisation", "clan")
        and (assessment.unit_id)
    ):
        own = await session.get(Unit, assessment.unit_id)
        assert own is not None  # a foreign key
        await _authorise(session, actor_id, own)
        return assessment, own
    household = (
        await session.get(Household, assessment.household_id)
        if assessment is not None and assessment.household_id is not None
        else None
    )
    if assessment is None or household is None:
        raise ReviewError(_("There is no household assessment {id}.").format(id=assessment_id))
    village = await session.get(Unit, household.village_id)
    assert village is not None  # a foreign key
    await _authorise(session, actor_id, village)
    return assessment, village


def require(assessment: Assessment | ReviewItem, *states: str) -> None:
    """Refuse a decision on an assessment that is not in one of ``states`` any more (a stale
    button: it was decided meanwhile), before anything is asked for it."""
    if assessment.state == "recognised":
        raise ReviewError(
            _("This village is already recognised; the result can no longer change.")
            if assessment.subject == "village"
            else _("This unit is already recognised; the result can no longer change.")
            if assessment.subject == "organisation"
            else _("This clan is already recognised; the result can no longer change.")
            if assessment.subject == "clan"
            else _("This household is already recognised; the result can no longer change.")
        )
    if assessment.state not in states:
        raise ReviewError(_("Only a submitted assessment can be reviewed."))


async def change_state(
    session: AsyncSession,
    actor_id: int,
    assessment: Assessment,
    village: Unit,
    state: str,
    now: dt.datetime,
) -> None:
    """Move a reviewed assessment to ``state``, recording who did it and when, in the audit
    trail too (by ids only)."""
    before, assessment.state = assessment.state, state
    assessment.reviewed_at = assessment.updated_at = now
    assessment.reviewed_by = actor_id
    await audit.record(
        session,
        actor_id,
        f"assessment.{state}",
        "assessment",
        assessment.id,
        now,
        village.id,
        detail=f"{before}->{state}",
    )


def _decision(decision_no: str) -> str:
    cleaned = " ".join(decision_no.split())
    if not cleaned or len(cleaned) > DECISION_MAX:
        raise TypedTextError(
            _(
                "Give the number of the recognition decision (at most {maximum} characters)."
            ).format(maximum=DECISION_MAX)
        )
    return cleaned


async def recognise(
    session: AsyncSession,
    actor_id: int,
    assessment_id: int,
    decision_no: str,
    decision_date: dt.date,
    now: dt.datetime,
) -> Assessment:
    """Record the commune's recognition of a submitted, passing assessment; it is then final."""
    assessment, village = await _load(session, actor_id, assessment_id)
    require(assessment, "submitted")
    if not assessment.passed:
        raise ReviewError(
            _("This assessment does not meet the criteria, so it cannot be recognised.")
        )
    assessment.decision_no, assessment.decision_date = _decision(decision_no), decision_date
    await change_state(session, actor_id, assessment, village, "recognised", now)
    return assessment


async def refuse(
    session: AsyncSession, actor_id: int, assessment_id: int, comment: str, now: dt.datetime
) -> Assessment:
    """Decide that a submitted assessment is not recognised this year."""
    assessment, village = await _load(session, actor_id, assessment_id)
    require(assessment, "submitted")
    assessment.review_comment = " ".join(comment.split())[:COMMENT_MAX] or None
    await change_state(session, actor_id, assessment, village, "not_recognised", now)
    return assessment


async def return_for_changes(
    session: AsyncSession, actor_id: int, assessment_id: int, comment: str, now: dt.datetime
) -> Assessment:
    """Send an assessment back to its leader with what to change; it is open again."""
    assessment, village = await _load(session, actor_id, assessment_id)
    require(assessment, "submitted", "not_recognised")
    cleaned = " ".join(comment.split())
    if not cleaned or len(cleaned) > COMMENT_MAX:
        raise TypedTextError(
            _("Say what should change (1 to {maximum} characters).").format(maximum=COMMENT_MAX)
        )
    assessment.review_comment, assessment.cursor = cleaned, None
    await change_state(session, actor_id, assessment, village, "returned", now)
    return assessment


async def recognise_all_passing(
    session: AsyncSession,
    actor_id: int,
    village_id: int,
    year: int,
    decision_no: str,
    decision_date: dt.date,
    now: dt.datetime,
) -> int:
    """After the village meeting: recognise every submitted, passing household of the year."""
    village = await reviewable_village(session, actor_id, village_id)
    number = _decision(decision_no)
    a = Assessment
    rows = await session.scalars(
        select(a)
        .join(Household, Household.id == a.household_id)
        .where(
            Household.village_id == village.id,
            Household.removed_at.is_(None),
            a.year == year,
            a.form_key.in_(HOUSEHOLD_FORMS),
            a.state == "submitted",
            a.passed.is_(True),
            deciding(a, HOUSEHOLD_FORMS),
        )
        .order_by(a.id)
        .with_for_update()
    )
    found = list(rows)
    for assessment in found:
        assessment.decision_no, assessment.decision_date = number, decision_date
        await change_state(session, actor_id, assessment, village, "recognised", now)
    return len(found)
