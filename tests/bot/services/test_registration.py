"""Registration is the household's own step: one tap, undoable until the household is assessed,
or a list imported whole; starting an assessment never registers. A household's size and its
working-age members are typed in the chat, or left "not known yet"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import HOUSEHOLD, pack
from bot.i18n import use_locale
from bot.rich import Refusal
from bot.services import registration
from bot.services.units import add_village
from bot.storage.models import Assessment, Household, Registration, Unit
from tests.bot.services.test_citizen_titles import Person_, _leader

pytestmark = pytest.mark.usefixtures("geography")

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
HOAN_KIEM = "00070"
Sessions = async_sessionmaker[AsyncSession]


async def _setup(sessions: Sessions) -> tuple[Unit, Household, Person_]:
    async with sessions() as session:
        village = await add_village(session, HOAN_KIEM, "Thôn Đông")
        household = Household(village_id=village.id, code="H001", head_name="An", members=4,
                              created_at=NOW)  # fmt: skip
        session.add(household)
        await session.commit()
    return village, household, await _leader(sessions, village)


async def _registered(sessions: Sessions) -> int:
    async with sessions() as session:
        return await session.scalar(select(func.count()).select_from(Registration)) or 0


async def test_starting_an_assessment_never_registers(session_factory: Sessions) -> None:
    _village, household, leader = await _setup(session_factory)
    card = await leader.tap(pack(HOUSEHOLD, "open", household.id))
    assert "chưa đăng ký" in card and "Đăng ký là việc của chính hộ" in card
    assert "▶ Bắt đầu đánh giá" in [label for label, _data in leader.buttons()]
    question = await leader.tap(pack(HOUSEHOLD, "go", household.id))
    assert "Câu 1/12" in question
    assert await _registered(session_factory) == 0


async def test_a_registration_is_undone_until_the_household_is_assessed(
    session_factory: Sessions,
) -> None:
    _village, household, leader = await _setup(session_factory)
    assert "Đã đăng ký năm 2026." in await leader.tap(pack(HOUSEHOLD, "reg", household.id))
    assert await _registered(session_factory) == 1
    assert "Đã hủy đăng ký năm 2026." in await leader.tap(pack(HOUSEHOLD, "unreg", household.id))
    assert await _registered(session_factory) == 0
    await leader.tap(pack(HOUSEHOLD, "reg", household.id))
    async with session_factory() as session:
        session.add(Assessment(form_key="gia-dinh-hoc-tap", form_version=2, year=2026,
                               subject="household", household_id=household.id,
                               unit_id=household.village_id, created_by=1, state="submitted",
                               passed=True))  # fmt: skip
        await session.commit()
    refused = await leader.tap(pack(HOUSEHOLD, "unreg", household.id))
    assert "đã được đánh giá năm 2026, nên không hủy đăng ký được nữa" in refused
    assert leader.last.alert and await _registered(session_factory) == 1


async def test_a_registration_list_registers_all_or_none(
    session_factory: Sessions, tmp_path: Path
) -> None:
    village, _household, _someone = await _setup(session_factory)
    async with session_factory() as session:
        session.add(Household(village_id=village.id, code="H002", head_name="Bình", members=2,
                              created_at=NOW))  # fmt: skip
        await session.commit()
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("village,household_code\nThôn Đông,H001\nThôn Đông,H099\n", "utf-8")
    async with session_factory() as session:
        with use_locale("en"), pytest.raises(Refusal) as refused:
            await registration.import_list(session, wrong, HOAN_KIEM, 2026, NOW)
    assert (
        str(refused.value) == f"{wrong}:3: household_code: no household H099 in village Thôn Đông"
    )
    assert await _registered(session_factory) == 0
    right = tmp_path / "list.csv"
    right.write_text(f"village,household_code\nthôn đông,H001\n{village.code},H002\n", "utf-8")
    async with session_factory() as session:
        done = await registration.import_list(session, right, HOAN_KIEM, 2026, NOW)
        again = await registration.import_list(session, right, HOAN_KIEM, 2026, NOW)
        await session.commit()
    assert (done.registered, done.already, again.registered, again.already) == (2, 0, 0, 2)


async def test_a_new_household_gives_its_working_age_members_or_leaves_them_for_later(
    session_factory: Sessions,
) -> None:
    village, household, leader = await _setup(session_factory)
    await leader.tap(pack(HOUSEHOLD, "add", village.id))
    assert "Hộ có bao nhiêu người?" in await leader.send("Trần Thị Mai")
    assert "Gõ một số từ 0 đến 5" in await leader.send("5")
    assert "Gõ một số từ 0 đến 5" in await leader.send("7")  # more than live there: asked again
    added = await leader.send("3")
    assert (
        "Đã thêm hộ H002 · Trần Thị Mai." in added and "5 người · 3 người trong độ tuổi" in added
    )
    await leader.tap(pack(HOUSEHOLD, "size", household.id))
    await leader.send("4")
    skip = next(data for label, data in leader.buttons() if label == "Chưa rõ, để sau")
    card = await leader.tap(skip)
    assert "4 người · chưa khai số người trong độ tuổi lao động" in card
    async with session_factory() as session:
        rows = (await session.execute(select(Household.code, Household.working_age))).all()
    assert sorted(rows) == [("H001", None), ("H002", 3)]
