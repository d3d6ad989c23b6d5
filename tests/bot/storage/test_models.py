"""The schema's invariants hold in the database itself: foreign keys, one answer per question, one
national target per title and year, aware UTC times, and answers going with their assessment."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.db import insert_ignore
from bot.storage.models import Answer, Assessment, Household, Person, Target, Unit

VIETNAM = dt.timezone(dt.timedelta(hours=7))


async def _assessment(session: AsyncSession) -> Assessment:
    person = Person(display_name="Lan")
    session.add(person)
    await session.flush()
    assessment = Assessment(
        form_key="cong-dan", form_version=1, year=2025, subject="person",
        person_id=person.id, created_by=person.id,
    )  # fmt: skip
    session.add(assessment)
    await session.flush()
    return assessment


async def test_foreign_keys_are_enforced(session: AsyncSession) -> None:
    session.add(Household(village_id=999, code="H1", head_name="An", members=3))
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_a_question_is_answered_once_per_assessment(session: AsyncSession) -> None:
    assessment = await _assessment(session)
    session.add(Answer(assessment_id=assessment.id, question_id="q1", value="a"))
    await session.commit()
    session.add(Answer(assessment_id=assessment.id, question_id="q1", value="b"))
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_a_redelivered_answer_is_ignored(session: AsyncSession) -> None:
    assessment = await _assessment(session)
    answer = {"assessment_id": assessment.id, "question_id": "q1", "value": "a"}
    keys = ["assessment_id", "question_id"]
    assert await insert_ignore(session, Answer, answer, keys) == 1
    assert await insert_ignore(session, Answer, {**answer, "value": "b"}, keys) == 0
    await session.commit()
    assert await session.scalar(select(Answer.value)) == "a"


async def test_deleting_an_assessment_deletes_its_answers(session: AsyncSession) -> None:
    assessment = await _assessment(session)
    await insert_ignore(
        session,
        Answer,
        [{"assessment_id": assessment.id, "question_id": f"q{n}", "value": "x"} for n in range(3)],
        ["assessment_id", "question_id"],
    )
    await session.delete(assessment)
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(Answer)) == 0


async def test_an_assessment_names_its_subject(session: AsyncSession) -> None:
    person = Person(display_name="Lan")
    session.add(person)
    await session.flush()
    session.add(
        Assessment(form_key="gia-dinh", form_version=1, year=2025, subject="household",
                   created_by=person.id)
    )  # fmt: skip
    with pytest.raises(IntegrityError):
        await session.flush()


async def test_only_one_national_target_per_title_and_year(session: AsyncSession) -> None:
    session.add(Target(unit_id=None, title="gia-dinh-hoc-tap", year=2030, percent=80.0))
    await session.commit()
    session.add(Target(unit_id=None, title="gia-dinh-hoc-tap", year=2030, percent=75.0))
    with pytest.raises(IntegrityError):
        await session.commit()


async def test_times_are_stored_as_utc_and_read_back_aware(session: AsyncSession) -> None:
    consent = dt.datetime(2026, 1, 2, 8, 30, tzinfo=VIETNAM)
    session.add(Person(display_name="Lan", consent_at=consent))
    await session.commit()
    session.expunge_all()
    stored = await session.scalar(select(Person.consent_at))
    assert stored == consent
    assert stored is not None
    assert stored.utcoffset() == dt.timedelta(0)
    assert stored.hour == 1


async def test_naive_times_are_refused(session: AsyncSession) -> None:
    session.add(Person(display_name="Lan", consent_at=dt.datetime(2026, 1, 2, 8, 30)))
    with pytest.raises(StatementError, match="naive datetime"):
        await session.flush()


async def test_unit_codes_are_unique(session: AsyncSession) -> None:
    for _ in range(2):
        session.add(Unit(code="01", name="Hà Nội", kind="city", level=1, path="/", depth=1))
    with pytest.raises(IntegrityError):
        await session.flush()
