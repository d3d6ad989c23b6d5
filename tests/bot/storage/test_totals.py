"""Stored totals equal the live GROUP BY: after every kind of change, by every kind of writer
(ORM objects, bulk Core statements, the services), at every level and year, on both databases;
and a change to anything the counts do not read leaves the stored totals current."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.context import CDHT, GDHT
from bot.services.units import add_village, merge_villages
from bot.storage.models import Assessment, Household, Person, Registration, Unit, UnitTotals
from bot.storage.queries import child_counts, live_child_counts, refresh_totals

pytestmark = pytest.mark.usefixtures("geography")

HA_NOI, HOAN_KIEM, CUA_NAM = "01", "00070", "00073"
YEARS = (2024, 2025, 2026)
STATES = ("draft", "submitted", "returned", "recognised", "not_recognised")
FORM_SETS = (([GDHT], [CDHT]), ([GDHT], []))
UTC = dt.UTC


class World:
    """Villages in two communes and a random stream of changes to what the reports count."""

    def __init__(self, session: AsyncSession, seed: int) -> None:
        self.session = session
        self.random = random.Random(seed)
        self.serial = 0

    async def build(self) -> World:
        self.villages = [await add_village(self.session, HOAN_KIEM, f"Thôn {n}") for n in range(3)]
        self.villages.append(await add_village(self.session, CUA_NAM, "Tổ 1"))
        person = Person(display_name="Trưởng thôn")
        self.session.add(person)
        await self.session.flush()
        self.leader = person.id
        return self

    def moment(self) -> dt.datetime:
        year = self.random.choice(YEARS)
        return dt.datetime(year, 1, 1, tzinfo=UTC) + dt.timedelta(
            days=self.random.randrange(365), hours=self.random.randrange(24)
        )

    async def pick(self, model: type[Household] | type[Assessment]) -> int | None:
        ids = list(await self.session.scalars(select(model.id)))
        return self.random.choice(ids) if ids else None

    async def change(self) -> str:
        """Make one random change; return its name for the failure message."""
        name = self.random.choice(
            ["household"] * 3 + ["assessment"] * 4 + ["registration"] * 2
            + ["remove", "members", "move", "state", "delete", "self_check", "unregister"]
        )  # fmt: skip
        await getattr(self, f"_{name}")()
        return name

    async def _household(self) -> None:
        self.serial += 1
        self.session.add(
            Household(
                village_id=self.random.choice(self.villages).id,
                code=f"H{self.serial:03d}",
                head_name="Nguyễn Văn An",
                members=self.random.randint(1, 6),
                created_at=self.moment(),
            )
        )

    async def _assessment(self) -> None:
        household_id = await self.pick(Household)
        if household_id is None:
            return
        household = await self.session.get(Household, household_id)
        assert household is not None
        self.session.add(
            Assessment(
                form_key=GDHT, form_version=1, year=self.random.choice(YEARS),
                subject="household", household_id=household.id, unit_id=household.village_id,
                created_by=self.leader, state=self.random.choice(STATES),
                passed=self.random.choice([True, False, None]),
            )
        )  # fmt: skip

    async def _self_check(self) -> None:
        person = Person(display_name="Công dân")
        self.session.add(person)
        await self.session.flush()
        for _time in range(self.random.randint(1, 2)):  # a second one: counted once
            self.session.add(
                Assessment(
                    form_key=CDHT, form_version=1, year=self.random.choice(YEARS),
                    subject="person", person_id=person.id,
                    unit_id=self.random.choice(self.villages).id, created_by=person.id,
                    state=self.random.choice(STATES), passed=self.random.random() < 0.6,
                )
            )  # fmt: skip

    async def _registration(self) -> None:
        household_id, year = await self.pick(Household), self.random.choice(YEARS)
        if household_id is None or await self.session.get(Registration, (household_id, year)):
            return
        self.session.add(Registration(household_id=household_id, year=year))

    async def _unregister(self) -> None:  # a bulk Core DELETE
        await self.session.execute(
            delete(Registration).where(Registration.year == self.random.choice(YEARS))
            .where(Registration.household_id == await self.pick(Household))
        )  # fmt: skip

    async def _remove(self) -> None:
        household = await self.session.get(Household, await self.pick(Household) or 0)
        if household is not None:
            household.removed_at = self.moment()

    async def _members(self) -> None:  # a bulk Core UPDATE of one village
        village = self.random.choice(self.villages)
        await self.session.execute(
            update(Household).where(Household.village_id == village.id).values(members=2)
        )

    async def _move(self) -> None:  # a household moves village; its assessments follow
        household_id, village = await self.pick(Household), self.random.choice(self.villages)
        await self.session.execute(
            update(Household).where(Household.id == household_id).values(village_id=village.id)
        )
        await self.session.execute(
            update(Assessment)
            .where(Assessment.household_id == household_id)
            .values(unit_id=village.id)
        )

    async def _state(self) -> None:
        assessment = await self.session.get(Assessment, await self.pick(Assessment) or 0)
        if assessment is not None:
            assessment.state = self.random.choice(STATES)
            assessment.passed = self.random.choice([True, False])

    async def _delete(self) -> None:
        await self.session.execute(
            delete(Assessment).where(Assessment.id == await self.pick(Assessment))
        )

    async def assert_stored_equals_live(self, step: str, every_form_set: bool = False) -> None:
        codes = [HA_NOI, HOAN_KIEM, CUA_NAM, self.villages[0].code]
        for code in codes:
            unit = await self.session.scalar(select(Unit).where(Unit.code == code))
            assert unit is not None
            for year in YEARS:
                for household_forms, person_forms in FORM_SETS[: 2 if every_form_set else 1]:
                    args = (self.session, unit, year, household_forms, person_forms)
                    live = await live_child_counts(*args)
                    assert await child_counts(*args) == live, (step, code, year, person_forms)


@pytest.mark.parametrize("seed", [1, 2])
async def test_stored_totals_equal_the_live_count_after_every_change(
    session: AsyncSession, seed: int
) -> None:
    world = await World(session, seed).build()
    await session.commit()
    steps: list[str] = []
    for batch in range(8):
        for _change in range(4):
            steps.append(await world.change())
            await session.flush()
        if batch % 3 == 0:
            await session.commit()  # some checks see committed rows, some the open transaction
        await world.assert_stored_equals_live(" ".join(steps), every_form_set=batch == 7)
    await merge_villages(session, world.villages[1].code, world.villages[0].code)
    await world.assert_stored_equals_live("merge", every_form_set=True)
    counted = await session.scalar(select(func.sum(UnitTotals.households)))
    assert counted  # the run did count something


async def test_a_change_the_counts_do_not_read_keeps_the_totals(session: AsyncSession) -> None:
    world = await World(session, 7).build()
    for _step in range(5):
        await world._household()
        await session.flush()
        await world._assessment()
    await session.commit()
    village = world.villages[0]
    before = await child_counts(session, village, 2025, [GDHT], [CDHT])
    version = await session.scalar(select(Unit.totals_version).where(Unit.id == village.id))
    await session.execute(update(Assessment).values(cursor="c2b", result="{}"))
    await session.execute(update(Household).values(head_name="Trần Thị Bình", note="x"))
    await session.commit()
    again = await session.scalar(select(Unit.totals_version).where(Unit.id == village.id))
    assert again == version  # nothing counted changed: the stored row is still current
    assert await child_counts(session, village, 2025, [GDHT], [CDHT]) == before


async def test_a_report_recounts_only_the_units_that_changed(session: AsyncSession) -> None:
    world = await World(session, 11).build()
    for _step in range(6):
        await world._household()
    await session.commit()
    commune = await session.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
    assert commune is not None
    first = await refresh_totals(session, commune, 2025, [GDHT], [CDHT])
    assert first == 3  # its three villages: nothing stored yet
    assert await refresh_totals(session, commune, 2025, [GDHT], [CDHT]) == 0
    world.random.seed(0)
    await world._assessment()  # in one village
    await session.flush()
    assert await refresh_totals(session, commune, 2025, [GDHT], [CDHT]) == 1
    assert await refresh_totals(session, commune, 2026, [GDHT], [CDHT]) == 3  # another year
