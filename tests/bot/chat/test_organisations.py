"""A commune's learning units (Đơn vị học tập), turn by turn as the router runs them: the officer
adds a school and invites its head with a code, the head assesses it against Thông tư 22/2020
and sees its rating, the commune recognises it, and the report counts it where it is, also
after a move to another commune."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import ANSWER, ORGANISATION, pack
from bot.chat.review_callbacks import OPEN, RECOGNISE
from bot.chat.review_callbacks import pack as review_pack
from bot.services import organisations
from bot.services.people import LEADER, OFFICER
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import Assessment, Organisation, Person, Unit
from conversations.loader import load_forms
from tests.bot.chat.turns import someone

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM, CUA_NAM = "00070", "00073"
NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
Sessions = async_sessionmaker[AsyncSession]
ALL_MET = ["du"] * 8 + ["yes", "yes"]  # c1a … c3a fully, then c3b and c3c "Có"


async def _commune(sessions: Sessions, code: str = HOAN_KIEM) -> Unit:
    async with sessions() as session:
        found = await session.scalar(select(Unit).where(Unit.code == code))
        assert found is not None
        return found


async def _only_unit(sessions: Sessions) -> Organisation:
    async with sessions() as session:
        found = await session.scalar(select(Organisation))
        assert found is not None
        return found


async def test_an_officer_adds_a_school_its_head_assesses_it_and_the_commune_recognises_it(
    session_factory: Sessions,
) -> None:
    commune = await _commune(session_factory)
    officer = await someone(session_factory, "thu", OFFICER, commune)
    await officer.send(choice=pack(ORGANISATION, "add", commune.id))
    assert "Đơn vị thuộc loại nào?" in officer.text()
    await officer.send(choice=pack(ORGANISATION, "kind", f"{commune.id}-school"))
    await officer.send(text="Trường <Tiểu học> & 🌾")
    await officer.send(text="hai mươi")  # not digits: asked again, nothing lost
    assert "bằng chữ số" in officer.text()
    await officer.send(text="25")
    assert "Đã thêm Trường <Tiểu học> & 🌾." in officer.text()
    assert "<b>Trường &lt;Tiểu học&gt; &amp; 🌾</b>" in officer.last.replies[-1].text.html()
    unit = await _only_unit(session_factory)
    assert (unit.kind, unit.staff, unit.commune_id) == ("school", 25, commune.id)

    await officer.send(choice=pack(ORGANISATION, "invite", unit.id))
    found = re.search(r"/join ([A-Z0-9]+)", officer.text())
    assert found is not None
    head = await someone(session_factory, "hieu-truong", None, None)
    await head.send(command="join", argument=found.group(1))
    assert "Bạn là thủ trưởng Trường <Tiểu học> & 🌾 trên hoctap." in head.text()
    assert pack(ORGANISATION, "go", unit.id) in head.buttons()

    await head.send(choice=pack(ORGANISATION, "go", unit.id))
    assert "Câu 1/10" in head.text() and "kế hoạch cho mọi người học tập" in head.text()
    async with session_factory() as session:
        own = await session.scalar(select(Assessment).where(Assessment.organisation_id == unit.id))
    assert own is not None and own.unit_id == commune.id
    for question, value in zip(
        ("c1a", "c1b", "c1c", "c2a", "c2b", "c2c", "c2d", "c3a", "c3b", "c3c"),
        ALL_MET,
        strict=True,
    ):
        await head.send(choice=pack(ANSWER, own.id, question, value))
    await head.send(choice=pack(ANSWER, own.id, "review", "!"))
    assert "100/100 điểm" in head.text()
    assert "Xếp loại (TT 22/2020): xếp loại Tốt" in head.text()

    await officer.send(choice=review_pack(OPEN, own.id))
    assert "Đơn vị học tập: Trường <Tiểu học> & 🌾" in officer.text()
    await officer.send(choice=review_pack(RECOGNISE, own.id))
    await officer.send(text="21/QĐ-UBND 03/12/2026")
    assert "Đã công nhận theo quyết định số 21/QĐ-UBND ngày 03/12/2026." in officer.text()
    async with session_factory() as session:
        report = await build_report(session, HOAN_KIEM, 2026, NOW)
    total = report.total
    assert (total.organisations, total.organisations_assessed) == (1, 1)
    assert (total.organisations_recognised, total.unit_staff) == (1, 25)
    assert all(line.organisations == 0 for line in report.lines)  # a commune's, not a village's


async def test_only_the_head_and_the_communes_officer_reach_a_unit(
    session_factory: Sessions,
) -> None:
    commune, other = await _commune(session_factory), await _commune(session_factory, CUA_NAM)
    async with session_factory() as session:
        unit = await organisations.add(session, None, commune, "agency", "Trạm Y tế", 9, NOW)
        village = await add_village(session, HOAN_KIEM, "Thôn Đông")
        await session.commit()
    leader = await someone(session_factory, "binh", LEADER, village)
    stranger = await someone(session_factory, "lan", OFFICER, other)
    out = await leader.send(choice=pack(ORGANISATION, "go", unit.id))
    assert out.notice is not None and "Chỉ thủ trưởng đơn vị này" in out.notice.plain()
    out = await stranger.send(choice=pack(ORGANISATION, "list", commune.id))
    assert out.notice is not None and "của xã mình" in out.notice.plain()
    out = await stranger.send(choice=pack(ORGANISATION, "invite", unit.id))
    assert out.notice is not None and out.replies == []
    assert (await stranger.send(choice=pack(ORGANISATION, "go", "x"))).notice is not None


async def test_a_unit_moved_to_another_commune_is_counted_there_with_its_open_assessment(
    session_factory: Sessions,
) -> None:
    commune, other = await _commune(session_factory), await _commune(session_factory, CUA_NAM)
    async with session_factory() as session:
        unit = await organisations.add(session, None, commune, "cooperative", "HTX", 12, NOW)
        by = (await session.scalars(select(Person.id))).first()
        if by is None:
            person = Person(display_name="thu", consent_at=NOW)
            session.add(person)
            await session.flush()
            by = person.id
        draft = await organisations.open_assessment(session, load_forms(), unit, 2026, by, NOW)
        await session.commit()
        await organisations.move(session, None, unit.id, CUA_NAM, NOW)
        await session.commit()
        moved = await session.get(Assessment, draft.id)
        before = await build_report(session, HOAN_KIEM, 2026, NOW)
        after = await build_report(session, CUA_NAM, 2026, NOW)
    assert moved is not None and moved.unit_id == other.id
    assert before.total.organisations == 0
    assert (after.total.organisations, after.total.unit_staff) == (1, 12)
