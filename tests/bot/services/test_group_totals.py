"""Công dân học tập counted per group: each group apart, the titles of the three working groups
on the households' working-age members, pupils' titles in their own group only; counted by
hand, on each database."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import groups
from bot.services.context import CDHT, CDHT_PUPILS, CDHT_STAFF, CDHT_WORKERS
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import Answer, Assessment, Household, Person, Unit

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM = "00070"
NOW = dt.datetime(2025, 12, 1, 3, 0, tzinfo=dt.UTC)


async def _check(
    session: AsyncSession,
    village: Unit,
    form_key: str,
    state: str,
    passed: bool,
    digital: str = "hiem-khi",
) -> Person:
    """A self-check of the group form, with its answer to indicator 5 (using IT)."""
    person = Person(display_name="Lan", consent_at=NOW)
    session.add(person)
    await session.flush()
    check = Assessment(
        form_key=form_key,
        form_version=1,
        year=2025,
        subject="person",
        person_id=person.id,
        unit_id=village.id,
        created_by=person.id,
        state=state,
        passed=passed,
        score=90 if passed else 60,
        submitted_at=NOW,
    )
    session.add(check)
    await session.flush()
    session.add(Answer(assessment_id=check.id, question_id="cs5", value=digital, answered_at=NOW))
    return person


async def test_each_group_is_counted_apart_and_pupils_stay_out_of_the_working_age_share(
    session: AsyncSession,
) -> None:
    dong = await add_village(session, HOAN_KIEM, "Thôn Đông")
    tay = await add_village(session, HOAN_KIEM, "Thôn Tây")
    for village, working_age in ((dong, 6), (tay, 4)):
        session.add(Household(village_id=village.id, code="H1", head_name="An", members=8,
                              working_age=working_age, created_at=NOW))  # fmt: skip
    # Thôn Đông: two residents (one titled), a worker titled, a pupil titled, a pupil failing.
    await _check(session, dong, CDHT, "recognised", True, "thuong-xuyen")
    await _check(session, dong, CDHT, "submitted", False, "thuong-xuyen")  # not a holder
    await _check(session, dong, CDHT_WORKERS, "recognised", True, "kha")
    await _check(session, dong, CDHT_PUPILS, "recognised", True, "thinh-thoang")
    await _check(session, dong, CDHT_PUPILS, "submitted", False)
    # Thôn Tây: a member of staff meeting the criteria, waiting; a draft, which counts nowhere.
    await _check(session, tay, CDHT_STAFF, "submitted", True)
    await _check(session, tay, CDHT_WORKERS, "draft", False)
    await session.commit()

    report = await build_report(session, HOAN_KIEM, 2025, NOW)
    by_group = {g.group: (g.checked, g.certified, g.confirmed) for g in report.total.groups}
    assert by_group == {
        "resident": (2, 1, 1),
        "worker": (1, 1, 1),
        "staff": (1, 1, 0),
        "pupil": (2, 1, 1),
    }
    # The working-age share: residents, workers and staff (4 checked, 2 titles) of 10 people.
    total = report.total
    assert (total.checked, total.certified, total.confirmed, total.working_age) == (4, 3, 2, 10)
    assert total.citizen_share == pytest.approx(0.2)
    lines = {line.name: line for line in report.lines}
    assert [g.checked for g in lines["Thôn Đông"].groups] == [2, 1, 0, 2]
    assert [g.checked for g in lines["Thôn Tây"].groups] == [0, 0, 1, 0]
    assert [g.group for g in lines["Thôn Tây"].groups] == [g.id for g in groups.GROUPS]

    # QĐ 677: of the 3 holders (every group), 2 use IT often (skills), 1 every day (proficient).
    assert (total.digital_holders, total.digital_skilled, total.digital_proficient) == (3, 2, 1)
    assert total.digital_share == pytest.approx(2 / 3)
    assert total.digital_target is not None and total.digital_target.percent == 70

    village_report = await build_report(session, dong.code, 2025, NOW)
    assert [g.confirmed for g in village_report.total.groups] == [1, 1, 0, 1]
