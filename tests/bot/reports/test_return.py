"""The yearly statistics return re-read cell by cell: a small commune with every title filled
on a real database (SQLite, and PostgreSQL when given), the spreadsheet drawn from its report
and each total checked against what a person counts by hand from the rows below."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import use_locale
from bot.reports import xlsx
from bot.services.context import CDHT, CDHT_PUPILS, CDHT_WORKERS, CDONG, DHHT, DVHT, GDHT
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import (
    Answer,
    Assessment,
    Clan,
    ClanHousehold,
    Household,
    Organisation,
    Person,
    Registration,
    Unit,
)

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM, YEAR = "00070", 2026
NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
DAY = dt.date(2026, 12, 5)


class Commune:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def build(self) -> None:
        s = self.session
        self.commune = await s.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
        assert self.commune is not None
        self.person = Person(display_name="Thu", consent_at=NOW)
        s.add(self.person)
        self.dong = await add_village(s, HOAN_KIEM, "Thôn Đông")
        self.tay = await add_village(s, HOAN_KIEM, "Thôn Tây")
        await s.flush()
        # Thôn Đông: two recognised, one waiting, one not assessed; three registered.
        d = [await self.household(self.dong, n) for n in range(4)]
        for household, state in zip(d, ("recognised", "recognised", "submitted"), strict=False):
            self.assessed(household, state)
        # Thôn Tây: one recognised (registered), one returned.
        t = [await self.household(self.tay, n) for n in range(2)]
        self.assessed(t[0], "recognised")
        self.assessed(t[1], "returned")
        s.add_all(Registration(household_id=h.id, year=YEAR) for h in (*d[:3], t[0]))
        # Citizens: a resident titled (IT every day), a worker waiting, a pupil titled (often).
        await self.citizen(self.dong, CDHT, "recognised", "thuong-xuyen")
        await self.citizen(self.dong, CDHT_WORKERS, "submitted", "kha")
        await self.citizen(self.tay, CDHT_PUPILS, "recognised", "kha")
        # Thôn Đông recognised Cộng đồng học tập; one clan with a household in each village,
        # submitted; one school of 20 staff, recognised.
        self.own(subject="village", form_key=CDONG, unit_id=self.dong.id, state="recognised")
        clan = Clan(commune_id=self.commune.id, name="Họ Nguyễn", created_at=NOW)
        school = Organisation(commune_id=self.commune.id, kind="school", name="Trường Tiểu học",
                              staff=20, created_at=NOW)  # fmt: skip
        s.add_all([clan, school])
        await s.flush()
        s.add_all(ClanHousehold(household_id=h.id, clan_id=clan.id, added_at=NOW)
                  for h in (d[0], t[0]))  # fmt: skip
        self.own(subject="clan", form_key=DHHT, clan_id=clan.id, unit_id=self.commune.id,
                 state="submitted")  # fmt: skip
        self.own(subject="organisation", form_key=DVHT, organisation_id=school.id,
                 unit_id=self.commune.id, state="recognised")  # fmt: skip
        await s.commit()

    async def household(self, village: Unit, number: int) -> Household:
        household = Household(village_id=village.id, code=f"H{number:03d}", head_name="An",
                              members=4, working_age=2, created_at=NOW)  # fmt: skip
        self.session.add(household)
        await self.session.flush()
        return household

    def assessed(self, household: Household, state: str) -> None:
        self.own(subject="household", form_key=GDHT, household_id=household.id,
                 unit_id=household.village_id, state=state)  # fmt: skip

    def own(self, **fields: object) -> None:
        decided = fields["state"] == "recognised"
        self.session.add(
            Assessment(form_version=1, year=YEAR, created_by=self.person.id, passed=True,
                       score=90, submitted_at=NOW, decision_no="7/QĐ-UBND" if decided else None,
                       decision_date=DAY if decided else None, **fields)
        )  # fmt: skip

    async def citizen(self, village: Unit, form_key: str, state: str, digital: str) -> None:
        person = Person(display_name="Lan", consent_at=NOW)
        self.session.add(person)
        await self.session.flush()
        check = Assessment(form_key=form_key, form_version=1, year=YEAR, subject="person",
                           person_id=person.id, unit_id=village.id, created_by=person.id,
                           state=state, passed=True, score=90, submitted_at=NOW)  # fmt: skip
        self.session.add(check)
        await self.session.flush()
        self.session.add(Answer(assessment_id=check.id, question_id="cs5", value=digital,
                                answered_at=NOW))  # fmt: skip


def _same(found: tuple[object, ...], wanted: tuple[object, ...]) -> None:
    assert len(found) == len(wanted), found
    for number, (cell, value) in enumerate(zip(found, wanted, strict=True)):
        if isinstance(value, float):
            assert cell == pytest.approx(value), (number, found)
        else:
            assert cell == value, (number, found)


async def test_the_return_adds_up_as_counted_by_hand(session: AsyncSession) -> None:
    await Commune(session).build()
    report = await build_report(session, HOAN_KIEM, YEAR, NOW)
    with use_locale("en"):
        book = load_workbook(BytesIO(xlsx.render(report)))
    sheets = {sheet.title: [tuple(r) for r in sheet.iter_rows(values_only=True)]
              for sheet in book.worksheets}  # fmt: skip
    assert list(sheets) == ["Learning families", "Learning citizens", "Learning communities",
                            "Learning clans", "Learning units", "Recognised"]  # fmt: skip
    families = sheets["Learning families"]
    # households, registered, assessed, waiting, returned, recognised, share, target, needed:
    # 72 % of 4 is 2.88 (3, one more than 2); of 2, 1.44 (2, one more); of 6, 4.32 (5, two).
    _same(families[6], (1, "Thôn Đông", 4, 3, 3, 1, 0, 2, 0.5, 0.72, 1))
    _same(families[7], (2, "Thôn Tây", 2, 1, 1, 0, 1, 1, 0.5, 0.72, 1))
    _same(families[8], (None, "Total", 6, 4, 4, 1, 1, 3, 0.5, 0.72, 2))
    # Working-age 12, none missing; the resident's title of 12 (44 %: 5.28, 6, five more);
    # 2 self-checked on that base (the pupil is not), both meeting the criteria; then per
    # group; then QĐ 677: 2 holders (resident, pupil), both with skills, 1 proficient.
    _same(sheets["Learning citizens"][8], (
        None, "Total", 12, 0, 1, 1 / 12, 0.44, 5, 2, 2,
        1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1,
        2, 2, 1.0, 0.74, 1, 0.5, 0.64,
    ))  # fmt: skip
    # Villages: 1 of 2 recognised (67 % of 2: 1.34, 2, one more).
    _same(sheets["Learning communities"][8], (None, "Total", 2, 1, 1, 0.5, 0.67, 1))
    # The clan: in both villages' lines, once in the total; submitted, not yet recognised.
    clans = sheets["Learning clans"]
    _same(clans[6], (1, "Thôn Đông", 1, 1, 0, 0.0, 0.67, 1))
    _same(clans[7], (2, "Thôn Tây", 1, 1, 0, 0.0, 0.67, 1))
    _same(clans[8], (None, "Total", 1, 1, 0, 0.0, 0.67, 1))
    # The school: the commune's own (no village lines); 20 staff, no staff title yet.
    units = sheets["Learning units"]
    _same(units[6], (None, "Total", 1, 1, 1, 1.0, 0.82, 0, 20, 0, 0.0, 0.64))
    listed = [row[:7] for row in sheets["Recognised"][6:]]
    # The commune's own (its units; the clan is not recognised yet) first, then by village.
    assert listed == [
        (1, "Learning unit", "Phường Hoàn Kiếm", None, "Trường Tiểu học", 90, "7/QĐ-UBND"),
        (2, "Learning community", "Thôn Đông", None, "Thôn Đông", 90, "7/QĐ-UBND"),
        (3, "Learning family", "Thôn Đông", "H000", "An", 90, "7/QĐ-UBND"),
        (4, "Learning family", "Thôn Đông", "H001", "An", 90, "7/QĐ-UBND"),
        (5, "Learning family", "Thôn Tây", "H000", "An", 90, "7/QĐ-UBND"),
    ]
