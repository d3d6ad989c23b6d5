"""Clans (Dòng họ học tập), turn by turn as the router runs them: the officer adds a clan, the
branch leaders of two villages put households in it, its head (invited with a code) assesses
it on the share of its households recognised in both villages, the commune recognises it, and
the return counts it once in the commune and once in each village's line."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import ANSWER, CLAN, pack
from bot.chat.review_callbacks import RECOGNISE
from bot.chat.review_callbacks import pack as review_pack
from bot.services.context import GDHT
from bot.services.people import LEADER, OFFICER
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage.models import Assessment, Clan, Household, Person, Unit
from tests.bot.chat.turns import someone

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM, CUA_NAM = "00070", "00073"
NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
Sessions = async_sessionmaker[AsyncSession]


async def _households(sessions: Sessions, village: Unit, recognised: list[bool]) -> list[int]:
    async with sessions() as session:
        by = (await session.scalars(select(Person.id))).first()
        ids = []
        for number, won in enumerate(recognised):
            household = Household(village_id=village.id, code=f"H{number:03d}", head_name="An",
                                  members=4, working_age=2, created_at=NOW)  # fmt: skip
            session.add(household)
            await session.flush()
            ids.append(household.id)
            if won and by is not None:
                session.add(Assessment(form_key=GDHT, form_version=2, year=2026,
                                       subject="household", household_id=household.id,
                                       unit_id=village.id, created_by=by, state="recognised",
                                       passed=True, score=90, submitted_at=NOW))  # fmt: skip
        await session.commit()
    return ids


async def test_a_clan_in_two_villages_is_assessed_on_both_and_counted_once_in_the_commune(
    session_factory: Sessions,
) -> None:
    async with session_factory() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
        dong = await add_village(session, HOAN_KIEM, "Thôn Đông")
        tay = await add_village(session, HOAN_KIEM, "Thôn Tây")
        await add_village(session, HOAN_KIEM, "Thôn Bắc")
        await session.commit()
    assert commune is not None
    officer = await someone(session_factory, "thu", OFFICER, commune)
    leader_dong = await someone(session_factory, "binh", LEADER, dong)
    leader_tay = await someone(session_factory, "cuc", LEADER, tay)
    in_dong = await _households(session_factory, dong, [True, True, False])
    in_tay = await _households(session_factory, tay, [True, False])

    await officer.send(choice=pack(CLAN, "add", commune.id))
    await officer.send(text="Họ Nguyễn <Văn> & 🌾")
    assert "Đã thêm Họ Nguyễn <Văn> & 🌾." in officer.text()
    async with session_factory() as session:
        clan = await session.scalar(select(Clan))
    assert clan is not None
    # Each branch leader puts their own households in the clan, from the household's card.
    for leader, ids in ((leader_dong, in_dong[:2]), (leader_tay, in_tay)):
        for household in ids:
            await leader.send(choice=pack(CLAN, "pick", household))
            assert pack(CLAN, "set", f"{household}-{clan.id}") in leader.buttons()
            await leader.send(choice=pack(CLAN, "set", f"{household}-{clan.id}"))
            labels = [b.label for r in leader.last.replies for row in r.buttons for b in row]
            assert "👪 Dòng họ: Họ Nguyễn <Văn> & 🌾" in labels  # the card, with its clan
    # Another village's household is not this leader's to change.
    out = await leader_dong.send(choice=pack(CLAN, "set", f"{in_tay[0]}-{clan.id}"))
    assert out.notice is not None and out.replies == []

    await officer.send(choice=pack(CLAN, "invite", clan.id))
    found = re.search(r"/join ([A-Z0-9]+)", officer.text())
    assert found is not None
    head = await someone(session_factory, "truong-ho", None, None)
    await head.send(command="join", argument=found.group(1))
    assert "Bạn là trưởng họ Họ Nguyễn <Văn> & 🌾 trên hoctap." in head.text()
    await head.send(choice=pack(CLAN, "go", clan.id))
    assert "Câu 2/7" in head.text()  # the share is hoctap's, never asked
    async with session_factory() as session:
        own = await session.scalar(select(Assessment).where(Assessment.subject == "clan"))
    assert own is not None
    for question in ("c2a", "c2b", "c2c", "c3a", "c3b", "c3c"):
        await head.send(choice=pack(ANSWER, own.id, question, "yes"))
    # 3 of its 4 households (two villages) recognised: 75 %, over the 70 % threshold.
    assert "1. Tỷ lệ hộ đạt Gia đình học tập (%): 75" in head.text()
    await head.send(choice=pack(ANSWER, own.id, "review", "!"))
    assert "100/100 điểm" in head.text()

    await officer.send(choice=review_pack(RECOGNISE, own.id))
    await officer.send(text="30/QĐ-UBND 04/12/2026")
    assert "Đã công nhận theo quyết định số 30/QĐ-UBND" in officer.text()
    async with session_factory() as session:
        report = await build_report(session, HOAN_KIEM, 2026, NOW)
        village_report = await build_report(session, tay.code, 2026, NOW)
    lines = {line.name: line for line in report.lines}
    assert (report.total.clans, report.total.clans_recognised) == (1, 1)  # once in the commune
    assert (lines["Thôn Đông"].clans, lines["Thôn Tây"].clans, lines["Thôn Bắc"].clans) == (
        1, 1, 0,
    )  # fmt: skip
    assert lines["Thôn Tây"].clans_recognised == 1
    assert village_report.total.clans == 1


async def test_a_clan_of_another_commune_is_refused_for_a_household(
    session_factory: Sessions,
) -> None:
    async with session_factory() as session:
        other = await session.scalar(select(Unit).where(Unit.code == CUA_NAM))
        dong = await add_village(session, HOAN_KIEM, "Thôn Đông")
        assert other is not None
        clan = Clan(commune_id=other.id, name="Họ Lê", created_at=NOW)
        session.add(clan)
        await session.commit()
    leader = await someone(session_factory, "binh", LEADER, dong)
    [household] = await _households(session_factory, dong, [False])
    out = await leader.send(choice=pack(CLAN, "set", f"{household}-{clan.id}"))
    assert out.notice is not None and "không thuộc xã này" in out.notice.plain()
    outsider = await someone(session_factory, "lan", OFFICER, other)
    out = await outsider.send(choice=pack(CLAN, "go", 999))
    assert out.notice is not None
