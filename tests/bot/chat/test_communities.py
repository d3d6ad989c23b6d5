"""A village assessed for Cộng đồng học tập cấp thôn, turn by turn as the router runs it: its
figures filled from the households' results (never typed, never edited), submitted, reviewed
by the commune with its households, counted again just before recognition, and counted in the
commune's report."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import ANSWER, COMMUNITY, pack
from bot.chat.review_callbacks import OPEN, RECOGNISE
from bot.chat.review_callbacks import pack as review_pack
from bot.services.context import GDHT
from bot.services.people import LEADER, OFFICER
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import (
    Answer,
    AnswerRevision,
    Assessment,
    Household,
    Person,
    Unit,
)
from tests.bot.chat.turns import Someone, someone

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM = "00070"
NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)  # 10:00 in Vietnam, year 2026
Sessions = async_sessionmaker[AsyncSession]


async def _households(session: AsyncSession, village: Unit, count: int, recognised: int) -> None:
    """``count`` households of 4 (2 of working age), the first ``recognised`` of them
    recognised Gia đình học tập this year."""
    by = await session.scalar(select(Person.id).limit(1))
    assert by is not None
    for number in range(count):
        household = Household(village_id=village.id, code=f"H{number:03d}", head_name="An",
                              members=4, working_age=2, created_at=NOW)  # fmt: skip
        session.add(household)
        await session.flush()
        if number < recognised:
            session.add(
                Assessment(form_key=GDHT, form_version=2, year=2026, subject="household",
                           household_id=household.id, unit_id=village.id, created_by=by,
                           state="recognised", passed=True, score=90, submitted_at=NOW)
            )  # fmt: skip


async def _village_with_people(sessions: Sessions) -> tuple[Unit, Someone, Someone]:
    async with sessions() as session:
        village = await add_village(session, HOAN_KIEM, "Thôn Đông")
        commune = await session.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
        await session.commit()
    assert commune is not None
    leader = await someone(sessions, "binh", LEADER, village)
    officer = await someone(sessions, "thu", OFFICER, commune)
    async with sessions() as session:
        await _households(session, village, 10, recognised=7)
        await session.commit()
    return village, leader, officer


async def _own(sessions: Sessions) -> Assessment:
    async with sessions() as session:
        found = await session.scalar(select(Assessment).where(Assessment.subject == "village"))
        assert found is not None
        return found


async def _assess_all_yes(leader: Someone, village: Unit) -> Assessment:
    await leader.tap(pack(COMMUNITY, "go", village.id))
    assert "Câu 3/7" in leader.text()  # the two figures are hoctap's: the first question is 3
    assert "Chi hội khuyến học của thôn có kế hoạch" in leader.text()
    own = await _own(leader.sessions)
    for question in ("c3a", "c3b", "c3c", "c4a", "c4b"):
        await leader.tap(pack(ANSWER, own.id, question, "yes"))
    return own


async def test_the_village_figures_are_filled_shown_and_never_typed(
    session_factory: Sessions,
) -> None:
    village, leader, _officer = await _village_with_people(session_factory)
    own = await _assess_all_yes(leader, village)
    review = leader.text()
    assert "1. Tỷ lệ hộ đạt Gia đình học tập (%): 70" in review  # 7 of 10 households
    assert "2. Tỷ lệ người đạt Công dân học tập (%): 0" in review  # nobody holds it yet
    assert review.count("hoctap tự tính từ kết quả năm nay") == 2
    edits = [data for data in leader.buttons() if data.startswith(f"a:{own.id}:review:e.")]
    assert [data.rsplit(".", 1)[1] for data in edits] == ["c3a", "c3b", "c3c", "c4a", "c4b"]
    # A forged "change the figure" tap is refused, and the figure stays.
    await leader.tap(pack(ANSWER, own.id, "review", "e.gdht"))
    assert "Tỷ lệ hộ đạt Gia đình học tập" in leader.text()
    await leader.tap(pack(ANSWER, own.id, "review", "!"))  # submit
    assert "80/100 điểm" in leader.text()  # 30 + 0 + 30 + 20: criterion 2 below 40 %
    assert "chờ xã xét công nhận" in leader.text()
    async with session_factory() as session:
        answers = dict(
            (await session.execute(
                select(Answer.question_id, Answer.value).where(Answer.assessment_id == own.id)
            )).all()
        )  # fmt: skip
        stored = await session.get(Assessment, own.id)
    assert answers["gdht"] == "70" and answers["cdht"] == "0"
    assert stored is not None and (stored.state, stored.passed) == ("submitted", True)


async def test_only_its_leader_and_its_commune_officer_may_assess_a_village(
    session_factory: Sessions,
) -> None:
    village, _leader, officer = await _village_with_people(session_factory)
    async with session_factory() as session:
        other = await add_village(session, HOAN_KIEM, "Thôn Tây")
        await session.commit()
    stranger = await someone(session_factory, "lan", LEADER, other)
    out = await stranger.tap(pack(COMMUNITY, "go", village.id))
    assert out.notice is not None and "Chỉ chi hội trưởng của thôn này" in out.notice.plain()
    assert out.replies == []
    await officer.tap(pack(COMMUNITY, "go", village.id))  # the commune officer may
    assert "Câu 3/7" in officer.text()
    assert (await stranger.tap(pack(COMMUNITY, "go", 999_999))).notice is not None


async def test_a_late_recognition_is_counted_again_before_the_commune_recognises(
    session_factory: Sessions,
) -> None:
    village, leader, officer = await _village_with_people(session_factory)
    own = await _assess_all_yes(leader, village)
    await leader.tap(pack(ANSWER, own.id, "review", "!"))
    # The commune recognises one more household after the village was submitted.
    async with session_factory() as session:
        household = await session.scalar(select(Household).where(Household.code == "H007"))
        assert household is not None
        session.add(Assessment(form_key=GDHT, form_version=2, year=2026, subject="household",
                               household_id=household.id, unit_id=village.id,
                               created_by=own.created_by, state="recognised", passed=True,
                               score=85, submitted_at=NOW))  # fmt: skip
        await session.commit()

    await officer.tap(review_pack(OPEN, own.id))
    assert "Cộng đồng học tập: Thôn Đông" in officer.text()
    await officer.tap(review_pack(RECOGNISE, own.id))
    await officer.type("12/QĐ-UBND 05/12/2026")
    assert "Đã tính lại trước khi công nhận: 70% → 80%." in officer.text()
    async with session_factory() as session:
        stored = await session.get(Assessment, own.id)
        kept = (await session.execute(
            select(AnswerRevision.question_id, AnswerRevision.value)
            .where(AnswerRevision.assessment_id == own.id)
        )).all()  # fmt: skip
        report = await build_report(session, HOAN_KIEM, 2026, NOW)
    assert stored is not None
    assert (stored.state, stored.decision_no, stored.score) == ("recognised", "12/QĐ-UBND", 80)
    assert kept == [("gdht", "70")]  # the earlier figure is kept
    assert (report.total.villages, report.total.communities_assessed) == (1, 1)
    assert report.total.communities_recognised == 1


async def test_a_village_that_fell_below_the_share_is_not_recognised(
    session_factory: Sessions,
) -> None:
    village, leader, officer = await _village_with_people(session_factory)
    own = await _assess_all_yes(leader, village)
    await leader.tap(pack(ANSWER, own.id, "review", "!"))
    async with session_factory() as session:  # a household moved in: 7 of 11 is 63 %
        session.add(Household(village_id=village.id, code="H100", head_name="Tư", members=3,
                              working_age=2, created_at=NOW))  # fmt: skip
        await session.commit()
    await officer.tap(review_pack(RECOGNISE, own.id))
    await officer.type("13/QĐ-UBND")
    assert "không còn đạt tiêu chí" in officer.text()
    async with session_factory() as session:
        stored = await session.get(Assessment, own.id)
        report = await build_report(session, HOAN_KIEM, 2026, NOW)
    assert stored is not None and (stored.state, stored.passed) == ("submitted", False)
    assert report.total.communities_recognised == 0
