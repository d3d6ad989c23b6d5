"""Assessments: open or resume one, apply one engine step, store exactly what changed.

Every answer is written in the caller's transaction, which commits before the next question is
shown, so nothing typed is lost. The position is the stored cursor plus the stored answers; the
engine derives everything else. Must not import any platform library or format text for people.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from sqlalchemy import bindparam, insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from bot.storage.db import on_postgresql
from bot.storage.models import (
    Answer,
    AnswerRevision,
    Assessment,
    FormSetting,
    Household,
    Unit,
    table_of,
    update_of,
)
from conversations.engine import Input, Outcome, Result, State, advance, evaluate
from conversations.loader import FormRegistry
from conversations.model import Form

OPEN_STATES = ("draft", "returned")

# Built once: these run for every answer, and building a statement costs about as much as
# running it.
_LOCK = (
    select(Assessment, Answer.question_id, Answer.value)
    .outerjoin(Answer, Answer.assessment_id == Assessment.id)
    .where(Assessment.id == bindparam("id"))
    .with_for_update(of=Assessment)
)
_MOVE = update_of(Assessment, "id", "assessment", cursor="new_cursor", updated_at="moved_at")
_answers = table_of(Answer)
# PostgreSQL only (SQLite has no INSERT inside WITH): the new answer and the new position.
_ANSWER_AND_MOVE = _MOVE.add_cte(
    insert(_answers)
    .values(
        assessment_id=bindparam("assessment"),
        question_id=bindparam("question", type_=_answers.c.question_id.type),
        value=bindparam("value", type_=_answers.c.value.type),
        answered_at=bindparam("moved_at"),
    )
    .cte("answered")
)


@dataclass(frozen=True)
class Locked:
    """An assessment loaded for change, and its answers as stored, by question id."""

    assessment: Assessment
    answers: Mapping[str, str]


async def form_of(session: AsyncSession, forms: FormRegistry, assessment: Assessment) -> Form:
    """The form version an assessment was made with, with its unit's parameter settings."""
    form = forms.get(assessment.form_key, assessment.form_version)
    return await with_settings(session, form, assessment.unit_id)


async def with_settings(session: AsyncSession, form: Form, unit_id: int | None) -> Form:
    """Apply the parameter values a province or commune set; the nearest unit wins."""
    if unit_id is None:
        return form
    unit, setter = aliased(Unit), aliased(Unit)
    # One query: the settings of every unit whose path starts the unit's own ("/1/57/" of
    # "/1/57/1200/"), that is of its ancestors and itself.
    rows = await session.execute(
        select(setter.depth, FormSetting.name, FormSetting.value)
        .join(setter, setter.id == FormSetting.unit_id)
        .join(unit, unit.path.startswith(setter.path))
        .where(unit.id == unit_id, FormSetting.form_key == form.key)
        .order_by(setter.depth)
    )
    values = {name: value for _depth, name, value in rows}
    known = {k: v for k, v in values.items() if k in form.parameters}
    return form.with_overrides(known) if known else form


async def open_household_assessment(
    session: AsyncSession, form: Form, household: Household, year: int, by: int, now: dt.datetime
) -> Assessment:
    """The household's assessment for the year: the open or submitted one, or a new draft."""
    found = await session.scalar(
        select(Assessment)
        .where(
            Assessment.household_id == household.id,
            Assessment.year == year,
            Assessment.form_key == form.key,
        )
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    if found is not None:
        return found
    return await _create(
        session,
        form,
        year,
        by,
        now,
        subject="household",
        household_id=household.id,
        unit_id=household.village_id,
    )


async def open_own_assessment(
    session: AsyncSession,
    form: Form,
    person_id: int,
    year: int,
    now: dt.datetime,
    unit_id: int | None = None,
) -> Assessment:
    """A person's own draft of a form (a self-check), or a new one, counted in ``unit_id``."""
    found = await session.scalar(
        select(Assessment)
        .where(
            Assessment.person_id == person_id,
            Assessment.subject == "person",
            Assessment.form_key == form.key,
            Assessment.state.in_(OPEN_STATES),
        )
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    if found is not None:
        found.unit_id = found.unit_id or unit_id  # a home village set since it was started
        return found
    return await _create(
        session,
        form,
        year,
        person_id,
        now,
        subject="person",
        person_id=person_id,
        unit_id=unit_id,
    )


async def _create(
    session: AsyncSession, form: Form, year: int, by: int, now: dt.datetime, **subject: object
) -> Assessment:
    assessment = Assessment(
        form_key=form.key,
        form_version=form.version,
        year=year,
        created_by=by,
        state="draft",
        created_at=now,
        updated_at=now,
        **subject,
    )
    session.add(assessment)
    await session.flush()
    return assessment


async def lock(session: AsyncSession, assessment_id: int) -> Locked | None:
    """Load an assessment for change with its answers so far, in one query (this runs for every
    answer); on PostgreSQL the assessment's row is locked until commit."""
    rows = (await session.execute(_LOCK, {"id": assessment_id})).all()
    if not rows:
        return None
    answers = {question_id: value for _a, question_id, value in rows if question_id is not None}
    return Locked(rows[0][0], answers)


async def stored_answers(session: AsyncSession, assessment_id: int) -> dict[str, str]:
    """The answers given so far, by question id."""
    rows = await session.execute(
        select(Answer.question_id, Answer.value).where(Answer.assessment_id == assessment_id)
    )
    return {question_id: value for question_id, value in rows}


class AssessmentLocked(ValueError):
    """An answer was to be stored on an assessment no longer open (submitted or decided)."""


async def apply(
    session: AsyncSession,
    assessment: Assessment,
    form: Form,
    inp: Input,
    lang: str,
    now: dt.datetime,
    answers: Mapping[str, str] | None = None,
    *,
    by: int,
) -> Outcome:
    """Run one engine step on an open assessment and store what it changed, as person ``by``.

    ``answers`` are its stored answers when the caller has just read them (see ``lock``).
    """
    if assessment.state not in OPEN_STATES:
        # Callers check first and tell the person; this keeps a recognised result untouched
        # even if a new path forgets to.
        raise AssessmentLocked(f"assessment {assessment.id} is {assessment.state}")
    before = dict(answers) if answers is not None else await stored_answers(session, assessment.id)
    outcome = advance(form, State(before, assessment.cursor), inp, lang)
    fresh = await _write(session, assessment, before, outcome.changed, now, by)
    if isinstance(outcome.reply, Result):
        await _insert(session, fresh)
        assessment.cursor, assessment.updated_at = outcome.state.cursor, now
        submit(assessment, outcome.reply, now)
    else:
        await _move(session, assessment, outcome.state.cursor, now, fresh)
    return outcome


async def _move(
    session: AsyncSession,
    assessment: Assessment,
    cursor: str | None,
    now: dt.datetime,
    fresh: list[dict[str, object]],
) -> None:
    """Store the new answers and the new position: Core statements, then the loaded row told
    it is stored (the ORM's flush of it cost more than the rest of a step's statements
    together). The usual step, one new answer, is one statement on PostgreSQL, where each
    statement is a round trip to the server."""
    state = sa_inspect(assessment)
    if not state.persistent or state.modified:  # the flush writes it anyway: let it do all
        await _insert(session, fresh)
        assessment.cursor, assessment.updated_at = cursor, now
        return
    moved = {"assessment": assessment.id, "new_cursor": cursor, "moved_at": now}
    if len(fresh) == 1 and on_postgresql(session):
        answer = {"question": fresh[0]["question_id"], "value": fresh[0]["value"]}
        await session.execute(_ANSWER_AND_MOVE, {**moved, **answer})
    else:
        await _insert(session, fresh)
        await session.execute(_MOVE, moved)
    set_committed_value(assessment, "cursor", cursor)
    set_committed_value(assessment, "updated_at", now)


async def _insert(session: AsyncSession, fresh: list[dict[str, object]]) -> None:
    if fresh:  # one Core INSERT (no ORM flush)
        await session.execute(insert(_answers), fresh)


async def _write(
    session: AsyncSession,
    assessment: Assessment,
    before: Mapping[str, str],
    changed: Mapping[str, str | None],
    now: dt.datetime,
    by: int,
) -> list[dict[str, object]]:
    """Store the changed answers that replace or clear stored ones, each old value first kept
    as a revision; return the rows of the new answers, for the caller to insert (see `_move`).
    ``before`` (the stored answers) spares the query when only new questions were answered."""
    if not changed:
        return []
    replaced = [qid for qid in changed if qid in before]
    stored: dict[str, Answer] = {}
    if replaced:
        rows = await session.scalars(
            select(Answer).where(
                Answer.assessment_id == assessment.id, Answer.question_id.in_(replaced)
            )
        )
        stored = {row.question_id: row for row in rows}
    fresh = [
        {"assessment_id": assessment.id, "question_id": qid, "value": value, "answered_at": now}
        for qid, value in changed.items()
        if value is not None and qid not in stored
    ]
    edited = False
    for qid, value in changed.items():
        row = stored.get(qid)
        if row is None or row.value == value:
            continue
        edited = True
        session.add(_revision(assessment, row, now, by))
        if value is None:
            await session.delete(row)
        else:
            row.value, row.answered_at = value, now
    if edited:
        await session.flush()
    return fresh


async def write_answers(
    session: AsyncSession,
    assessment: Assessment,
    changed: Mapping[str, str | None],
    now: dt.datetime,
    by: int,
) -> None:
    """Store answers the bot gives (figures it holds), each replaced one kept as a revision."""
    before = await stored_answers(session, assessment.id)
    await _insert(session, await _write(session, assessment, before, changed, now, by))


def score(assessment: Assessment, result: Result) -> None:
    """Record a result again on an assessment already submitted (its figures changed)."""
    assessment.score = result.total
    assessment.max_score = result.max_total
    assessment.passed = result.recognised
    assessment.level = result.level
    assessment.result = json.dumps(asdict(result), ensure_ascii=False, default=str)


def _revision(assessment: Assessment, row: Answer, now: dt.datetime, by: int) -> AnswerRevision:
    return AnswerRevision(
        assessment_id=assessment.id,
        question_id=row.question_id,
        value=row.value,
        answered_at=row.answered_at,
        replaced_at=now,
        replaced_by=by,
        submission_round=assessment.submissions or 0,
    )


def submit(assessment: Assessment, result: Result, now: dt.datetime) -> None:
    """Record the result on the assessment and mark it submitted."""
    assessment.state = "submitted"
    assessment.submitted_at = now
    assessment.submissions = (assessment.submissions or 0) + 1
    score(assessment, result)


async def result_of(
    session: AsyncSession, forms: FormRegistry, assessment: Assessment, lang: str
) -> Result:
    """Re-evaluate a stored assessment in a language (results are shown, not re-stored)."""
    form = await form_of(session, forms, assessment)
    return evaluate(form, await stored_answers(session, assessment.id), lang)
