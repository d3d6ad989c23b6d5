"""The report counts, checked against a commune whose numbers are worked out by hand: households
added during the year or after it, removed ones, resubmissions, returned and recognised results,
a merged village, working-age members given or not, citizens' self-checks and confirmed titles,
and targets found up the unit tree."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.reports.model import Goal
from bot.services.context import CDHT, GDHT
from bot.services.targets import goals
from bot.services.units import add_village, merge_villages
from bot.storage.models import Assessment, Household, Person, Registration, Target, Unit
from bot.storage.queries import (
    TITLE_CITIZEN,
    TITLE_FAMILY,
    Counts,
    UnitCounts,
    child_counts,
    targets,
    year_end,
)

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM = "00070"  # Phường Hoàn Kiếm, Hà Nội
HA_NOI = "01"
YEAR = 2025
UTC = dt.UTC
LAST_YEAR = dt.datetime(2024, 3, 1, tzinfo=UTC)
VIETNAM = dt.timezone(dt.timedelta(hours=7))


class Commune:
    """Builds the hand-counted commune; every row is written through the session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.leader = 0

    async def start(self) -> None:
        person = Person(display_name="Trưởng thôn")
        self.session.add(person)
        await self.session.flush()
        self.leader = person.id

    async def household(
        self,
        village: Unit,
        code: str,
        members: int = 4,
        created: dt.datetime = LAST_YEAR,
        removed: dt.datetime | None = None,
        registered: bool = True,
        working_age: int | None = None,
    ) -> Household:
        household = Household(
            village_id=village.id,
            code=code,
            head_name="Nguyễn Văn An",
            members=members,
            working_age=working_age,
            created_at=created,
            removed_at=removed,
        )
        self.session.add(household)
        await self.session.flush()
        if registered:
            self.session.add(Registration(household_id=household.id, year=YEAR))
        return household

    async def assess(
        self, household: Household, state: str, passed: bool | None = True, year: int = YEAR
    ) -> Assessment:
        assessment = Assessment(
            form_key=GDHT,
            form_version=1,
            year=year,
            subject="household",
            household_id=household.id,
            unit_id=household.village_id,
            created_by=self.leader,
            state=state,
            passed=passed,
        )
        self.session.add(assessment)
        await self.session.flush()
        return assessment

    async def self_check(
        self,
        village: Unit,
        passed: bool,
        state: str = "submitted",
        year: int = YEAR,
        person: Person | None = None,
    ) -> Person:
        if person is None:
            person = Person(display_name="Công dân")
            self.session.add(person)
            await self.session.flush()
        self.session.add(
            Assessment(
                form_key=CDHT,
                form_version=1,
                year=year,
                subject="person",
                person_id=person.id,
                unit_id=village.id,
                created_by=person.id,
                state=state,
                passed=passed,
            )
        )
        await self.session.flush()
        return person


async def _build(session: AsyncSession) -> dict[str, Unit]:
    c = Commune(session)
    await c.start()
    a = await add_village(session, HOAN_KIEM, "Thôn Đông")
    b = await add_village(session, HOAN_KIEM, "Xóm Chùa")
    merged = await add_village(session, HOAN_KIEM, "Thôn Tây")
    d = await add_village(session, HOAN_KIEM, "Xóm Giữa")
    await _village_a(c, a)
    await c.assess(await c.household(b, "B1", working_age=2), "submitted", passed=False)
    await c.assess(await c.household(b, "B2", working_age=2), "not_recognised", passed=False)
    await c.household(b, "B3", registered=False, working_age=3)
    await c.assess(await c.household(merged, "C1"), "recognised")  # working age not given
    await c.household(d, "D1", registered=False)
    await c.self_check(b, passed=True, year=2024, state="recognised")  # another year
    await c.self_check(b, passed=True)
    await merge_villages(session, merged.code, b.code)
    await session.commit()
    return {"a": a, "b": b, "merged": merged, "d": d}


async def _village_a(c: Commune, a: Unit) -> None:
    await c.assess(await c.household(a, "A1", members=3, working_age=2), "recognised")
    resubmitted = await c.household(a, "A2", members=4, working_age=3)
    await c.assess(resubmitted, "returned", passed=False)
    await c.assess(resubmitted, "submitted")  # counted once, by its latest assessment
    locked = await c.household(a, "A3", members=5)
    await c.assess(locked, "recognised")
    await c.assess(locked, "draft", passed=None)  # a later row does not undo recognition
    mid_year = dt.datetime(2025, 6, 15, tzinfo=UTC)
    await c.assess(
        await c.household(a, "A4", members=2, created=mid_year, working_age=1), "returned"
    )
    removed = await c.household(
        a, "A5", removed=dt.datetime(2025, 9, 1, tzinfo=UTC), working_age=3
    )
    await c.assess(removed, "recognised")
    after = dt.datetime(2026, 1, 1, 0, 30, tzinfo=VIETNAM)  # already 2026 in Vietnam
    await c.assess(await c.household(a, "A6", created=after, working_age=2), "recognised")
    last_minute = dt.datetime(2025, 12, 31, 23, 59, tzinfo=VIETNAM)
    await c.household(a, "A7", members=1, created=last_minute, registered=False)
    old = await c.household(a, "A8", members=6, registered=False, working_age=4)
    await c.assess(old, "recognised", year=2024)  # last year's title is not this year's
    twice = await c.self_check(a, passed=True)
    await c.self_check(a, passed=False, person=twice)  # one person, counted once, passing
    await c.self_check(a, passed=False)
    await c.self_check(a, passed=True, state="draft")  # not submitted
    confirmed = await c.self_check(a, passed=True, state="recognised")  # the title, confirmed
    await c.self_check(a, passed=True, person=confirmed)  # a later estimate changes nothing
    await c.self_check(a, passed=True, state="not_recognised")  # an estimate declined


# Thôn Đông in 2025, by hand. In scope: A1 A2 A3 A4 A7 A8 (A5 removed, A6 created in 2026).
# Working age: A1 2 + A2 3 + A4 1 + A8 4 = 10; A3 and A7 did not give it. Citizens who checked
# themselves: "twice", the one who failed, the confirmed one, the declined one = 4; passing by
# their own estimate: all but the one who failed = 3; holding the confirmed title: 1.
VILLAGE_A = Counts(
    households=6,
    members=21,
    registered=4,
    assessed=3,
    passing=3,
    pending=1,
    returned=1,
    recognised=2,
    checked=4,
    certified=3,
    working_age=10,
    working_age_missing=2,
    confirmed=1,
    villages=1,
    villages_reporting=1,
)
# Xóm Chùa with Thôn Tây merged into it: B1 2 + B2 2 + B3 3 = 7 of working age, C1 not given.
VILLAGE_B = Counts(
    households=4,
    members=16,
    registered=3,
    assessed=3,
    passing=1,
    pending=1,
    returned=0,
    recognised=1,
    checked=1,
    certified=1,
    working_age=7,
    working_age_missing=1,
    villages=1,
    villages_reporting=1,
)
VILLAGE_D = Counts(households=1, members=4, working_age_missing=1, villages=1)


async def _unit(session: AsyncSession, code: str) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.code == code))
    assert unit is not None
    return unit


async def _counts(session: AsyncSession, code: str, year: int = YEAR) -> list[UnitCounts]:
    return await child_counts(session, await _unit(session, code), year, [GDHT], [CDHT])


async def test_a_commune_counts_each_village_as_worked_out_by_hand(session: AsyncSession) -> None:
    villages = await _build(session)
    rows = {row.code: row for row in await _counts(session, HOAN_KIEM)}
    assert set(rows) == {villages["a"].code, villages["b"].code, villages["d"].code}
    assert rows[villages["a"].code].counts == VILLAGE_A
    assert rows[villages["b"].code].counts == VILLAGE_B  # with the merged village's household
    assert rows[villages["d"].code].counts == VILLAGE_D
    total = sum((row.counts for row in rows.values()), Counts())
    assert (total.households, total.recognised, total.villages, total.villages_reporting) == (
        11,
        3,
        3,
        2,
    )


async def test_a_village_reports_itself(session: AsyncSession) -> None:
    villages = await _build(session)
    [row] = await _counts(session, villages["a"].code)
    assert (row.code, row.level, row.counts) == (villages["a"].code, 3, VILLAGE_A)


async def test_a_merged_village_has_no_row_of_its_own(session: AsyncSession) -> None:
    villages = await _build(session)
    assert await _counts(session, villages["merged"].code) == []


async def test_a_province_has_one_row_per_commune(session: AsyncSession) -> None:
    await _build(session)
    province = await _unit(session, HA_NOI)
    communes = (await session.scalars(select(Unit).where(Unit.parent_id == province.id))).all()
    rows = await _counts(session, HA_NOI)
    assert len(rows) == len(communes)
    hoan_kiem = next(row for row in rows if row.code == HOAN_KIEM)
    assert hoan_kiem.counts == VILLAGE_A + VILLAGE_B + VILLAGE_D
    assert all(row.counts == Counts() for row in rows if row.code != HOAN_KIEM)


async def test_other_years_count_only_their_own_assessments(session: AsyncSession) -> None:
    await _build(session)
    rows = await _counts(session, HOAN_KIEM, 2024)
    assert sum(row.counts.recognised for row in rows) == 1  # A8, in 2024
    assert sum(row.counts.checked for row in rows) == 1  # the 2024 self-check in Xóm Chùa
    assert sum(row.counts.confirmed for row in rows) == 1  # …whose title was confirmed
    assert sum(row.counts.registered for row in rows) == 0


def test_the_year_ends_at_midnight_in_vietnam() -> None:
    assert year_end(2025) == dt.datetime(2025, 12, 31, 17, 0, tzinfo=UTC)


async def test_national_targets_move_from_2025_to_2030_along_a_straight_line(
    session: AsyncSession,
) -> None:
    commune = await _unit(session, HOAN_KIEM)
    titles = [TITLE_FAMILY, TITLE_CITIZEN]
    assert await targets(session, [commune.path], titles, 2026) == dict.fromkeys(
        [(commune.path, TITLE_FAMILY), (commune.path, TITLE_CITIZEN)]
    )  # nothing stored: the defaults come from the documents
    for year, family, citizen in (
        (2024, None, None),
        (2025, 70, 40),
        (2026, 72, 44),
        (2029, 78, 56),
        (2030, 80, 60),
        (2035, 80, 60),
    ):
        found = await goals(session, [commune.path], titles, year)
        got = [found[(commune.path, title)] for title in titles]
        assert [g.percent if g else None for g in got] == [family, citizen], year
        assert all(g is None or g.origin == "default" for g in got)
    [family] = (await goals(session, [commune.path], ["gdht"], 2027)).values()
    assert family == Goal(74, "default", documents="QĐ 387/QĐ-TTg")


async def test_the_nearest_unit_with_a_target_wins(session: AsyncSession) -> None:
    villages = await _build(session)
    province, commune = await _unit(session, HA_NOI), await _unit(session, HOAN_KIEM)
    other = await _unit(session, "00073")  # Phường Cửa Nam, same province
    for unit, percent in ((province, 75.0), (commune, 85.0), (villages["b"], 90.0)):
        session.add(Target(unit_id=unit.id, title=TITLE_FAMILY, year=YEAR, percent=percent))
    session.add(Target(unit_id=commune.id, title=TITLE_FAMILY, year=2026, percent=99.0))
    await session.commit()
    paths = [province.path, commune.path, other.path, villages["a"].path, villages["b"].path]
    found = await goals(session, paths, [TITLE_FAMILY], YEAR)
    assert [found[(path, TITLE_FAMILY)] for path in paths] == [
        Goal(75, "unit", "Thành phố Hà Nội"),
        Goal(85, "unit", "Phường Hoàn Kiếm"),
        Goal(75, "unit", "Thành phố Hà Nội"),
        Goal(85, "unit", "Phường Hoàn Kiếm"),
        Goal(90, "unit", "Xóm Chùa"),
    ]


async def test_a_target_set_for_the_whole_country_says_so(session: AsyncSession) -> None:
    commune = await _unit(session, HOAN_KIEM)
    session.add(Target(unit_id=None, title=TITLE_FAMILY, year=2027, percent=77.0))
    await session.commit()
    found = await goals(session, [commune.path], [TITLE_FAMILY], 2027)
    assert found[(commune.path, TITLE_FAMILY)] == Goal(77, "national")
