"""Reports in chat and the officer's review in chat, driven turn by turn as the router would:
/report answers with the person's own scope; /review lists, decides and asks for what must be
typed (a decision number, a comment), and refuses anyone outside the commune."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import review
from bot.chat.callbacks import Callback
from bot.chat.messages import Actor, Inbound, Outbound
from bot.chat.reports import on_report
from bot.chat.review_callbacks import ALL, OPEN, RECOGNISE, RETURN, pack, unpack
from bot.chat.turn import Turn
from bot.i18n import use_locale
from bot.reports.model import Goal
from bot.runtime.files import Drawer, rendered
from bot.services.context import GDHT, Services
from bot.services.people import Conversation
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import Assessment, Household, Person, RoleAssignment, Unit
from conversations.loader import load_forms

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM, CUA_NAM = "00070", "00073"
NOW = dt.datetime(2025, 12, 1, 3, 0, tzinfo=dt.UTC)  # 10:00 in Vietnam, year 2025
JANUARY = dt.datetime(2025, 1, 2, tzinfo=dt.UTC)


class Desk:
    """One commune with a village, its officer and leader, and a way to take turns."""

    def __init__(self, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.session = session
        self.services = Services(sessions, load_forms(), clock=lambda: NOW)
        self.conversation = Conversation()

    async def build(self) -> Desk:
        self.village = await add_village(self.session, HOAN_KIEM, "Thôn Đông")
        self.officer = await self._person("officer", HOAN_KIEM)
        self.leader = await self._person("leader", self.village.code)
        self.stranger = await self._person("officer", CUA_NAM)
        self.assessments = [await self._submitted(f"H00{n}", n != 3) for n in range(1, 4)]
        await self.session.commit()
        return self

    async def _person(self, role: str, code: str) -> Person:
        person = Person(display_name=role, consent_at=NOW)
        self.session.add(person)
        await self.session.flush()
        unit = await self.session.scalar(select(Unit).where(Unit.code == code))
        assert unit is not None
        self.session.add(RoleAssignment(person_id=person.id, role=role, unit_id=unit.id))
        return person

    async def _submitted(self, code: str, passed: bool) -> Assessment:
        household = Household(
            village_id=self.village.id,
            code=code,
            head_name="Lê Văn Cường",
            members=4,
            created_at=JANUARY,
        )
        self.session.add(household)
        await self.session.flush()
        assessment = Assessment(
            form_key=GDHT,
            form_version=1,
            year=2025,
            subject="household",
            household_id=household.id,
            unit_id=self.village.id,
            created_by=self.leader.id,
            state="submitted",
            passed=passed,
            score=92.5 if passed else 40.0,
            max_score=100.0,
        )
        self.session.add(assessment)
        await self.session.flush()
        return assessment

    def turn(self, person: Person, **inbound: object) -> Turn:
        actor = Actor("terminal", person.display_name, person.display_name)
        return Turn(
            self.session,
            self.services,
            person,
            Inbound(actor, **inbound),
            NOW,
            self.conversation,
            Outbound(),
        )  # type: ignore[arg-type]

    async def tap(self, person: Person, data: str) -> Turn:
        turn = self.turn(person, choice=data)
        await review.on_review_button(turn, unpack(data))
        self.conversation = turn.conversation
        return turn

    async def type(self, person: Person, text: str) -> Turn:
        turn = self.turn(person, text=text)
        await review.on_review_text(turn, text)
        self.conversation = turn.conversation
        return turn


@pytest.fixture
async def desk(session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]) -> Desk:
    return await Desk(session, session_factory).build()


def _texts(turn: Turn) -> list[str]:
    return [reply.text.html() for reply in turn.out.replies]


async def test_a_leader_gets_the_village_report_and_spreadsheet(desk: Desk) -> None:
    turn = desk.turn(desk.leader, command="report")
    with use_locale("en"):
        await on_report(turn)
    text, spreadsheet = (await rendered(turn.out)).replies  # one village: no chart
    assert "Thôn Đông, year 2025" in text.text.html()
    assert spreadsheet.attachment is not None
    assert spreadsheet.attachment.filename == f"bao-cao-{desk.village.code}-2025.xlsx"
    assert spreadsheet.attachment.content[:2] == b"PK"  # a zip, as .xlsx files are


async def test_an_officer_gets_the_commune_with_a_chart(desk: Desk) -> None:
    await add_village(desk.session, HOAN_KIEM, "Xóm Chùa")
    turn = desk.turn(desk.officer, command="report")
    with use_locale("en"):
        await on_report(turn)
    kinds = [reply.attachment.kind if reply.attachment else "text" for reply in turn.out.replies]
    assert kinds == ["text", "document", "photo"]
    assert "Phường Hoàn Kiếm, year 2025" in turn.out.replies[0].text.html()
    drawer = Drawer()  # as the runner draws them: in a worker process
    try:
        _text, spreadsheet, chart = (await drawer.rendered(turn.out)).replies
    finally:
        drawer.close()
    assert spreadsheet.attachment is not None and spreadsheet.attachment.content[:2] == b"PK"
    assert chart.attachment is not None and chart.attachment.content[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_report_outside_ones_scope_is_refused(desk: Desk) -> None:
    turn = desk.turn(desk.leader, command="report", argument=CUA_NAM)
    with use_locale("en"):
        await on_report(turn)
    assert _texts(turn) == ["You can only see reports of units in your own area."]
    citizen = Person(display_name="citizen", consent_at=NOW)
    desk.session.add(citizen)
    await desk.session.flush()
    turn = desk.turn(citizen, command="report")
    with use_locale("en"):
        await on_report(turn)
    assert "Reports are for" in _texts(turn)[0]


async def test_build_report_totals_the_villages(desk: Desk) -> None:
    report = await build_report(desk.session, HOAN_KIEM, 2025, NOW)
    assert (report.total.households, report.total.assessed, report.total.pending) == (3, 3, 3)
    assert report.total.family_target == Goal(70, "default", documents="QĐ 387/QĐ-TTg")
    assert report.total.citizen_target is not None and report.total.citizen_target.percent == 40
    assert [line.name for line in report.lines] == ["Thôn Đông"]


async def test_an_officer_recognises_one_household_by_typing_the_decision(desk: Desk) -> None:
    with use_locale("en"):
        listed = await desk.tap(desk.officer, pack("list", 0))
        assert "3 households waiting for review" in _texts(listed)[0]
        first = desk.assessments[0]
        card = await desk.tap(desk.officer, pack(OPEN, first.id))
        assert "Score: 92.5 of 100, meets the criteria" in _texts(card)[0]
        asked = await desk.tap(desk.officer, pack(RECOGNISE, first.id))
        assert asked.conversation.flow == review.FLOW
        again = await desk.type(desk.officer, "số mười hai")
        assert "I could not read that." in _texts(again)[0]
        assert again.conversation.flow == review.FLOW  # still waiting for the number
        done = await desk.type(desk.officer, "12/QĐ-UBND 15/11/2025")
    assert "Recognised under decision 12/QĐ-UBND of 15 Nov 2025." in _texts(done)[0]
    assert done.conversation.flow == ""
    assert (first.state, first.decision_no, first.decision_date) == (
        "recognised",
        "12/QĐ-UBND",
        dt.date(2025, 11, 15),
    )


async def test_recognise_all_passing_uses_todays_date_without_one(desk: Desk) -> None:
    with use_locale("en"):
        await desk.tap(desk.officer, pack(ALL, desk.village.id))
        done = await desk.type(desk.officer, "30/QĐ-UBND")
    assert "Recognised 2 households under decision 30/QĐ-UBND." in _texts(done)[0]
    states = [a.state for a in desk.assessments]
    assert states == ["recognised", "recognised", "submitted"]
    assert {a.decision_date for a in desk.assessments[:2]} == {dt.date(2025, 12, 1)}


async def test_returning_asks_for_the_comment(desk: Desk) -> None:
    target = desk.assessments[2]
    with use_locale("en"):
        await desk.tap(desk.officer, pack(RETURN, target.id))
        done = await desk.type(desk.officer, "Bổ sung mục 2")
    assert "Returned to the village leader with your comment." in _texts(done)[0]
    assert (target.state, target.review_comment) == ("returned", "Bổ sung mục 2")


async def test_an_officer_of_another_commune_is_refused(desk: Desk) -> None:
    target = desk.assessments[0]
    with use_locale("en"):
        for data in (
            pack(OPEN, target.id),
            pack(RECOGNISE, target.id),
            pack(ALL, desk.village.id),
        ):
            turn = await desk.tap(desk.stranger, data)
            assert (
                str(turn.out.notice)
                == "Only an officer of this commune can review its households."
            )
            assert turn.conversation.flow == ""
        leader = desk.turn(desk.leader, command="review")
        await review.show_pending(leader)
    assert _texts(leader) == ["Only commune officers review households."]
    assert target.state == "submitted"


def test_review_buttons_round_trip_and_stay_small() -> None:
    data = pack(RECOGNISE, 123456789)
    assert unpack(data) == Callback("r", (RECOGNISE, "123456789"))
    assert len(data.encode()) <= 64


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("12/QĐ-UBND 15/12/2025", ("12/QĐ-UBND", dt.date(2025, 12, 15))),
        ("Số 7/QĐ-UBND, 1.2.2026", ("Số 7/QĐ-UBND", dt.date(2026, 2, 1))),
        ("45/QĐ-UBND", ("45/QĐ-UBND", dt.date(2025, 12, 1))),
        ("12/QĐ 31/02/2025", None),
        ("số mười hai", None),
    ],
)
def test_decisions_are_read_with_or_without_a_date(
    typed: str, expected: tuple[str, dt.date] | None
) -> None:
    assert review.parse_decision(typed, dt.date(2025, 12, 1)) == expected
