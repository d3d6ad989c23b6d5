"""A commune's own words: xã, phường or đặc khu from its kind; the word it chooses for its
villages, used by every text of that commune, the report's included."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import OFFICER, pack
from bot.i18n import use_locale
from bot.reports import text
from bot.services.people import grant
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.services.words import role_name, words_of
from bot.storage.models import Identity, Person, Unit
from tests.bot.services.test_citizen_titles import Person_

pytestmark = pytest.mark.usefixtures("geography")

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
Sessions = async_sessionmaker[AsyncSession]


async def _unit(session: AsyncSession, code: str) -> Unit:
    unit = await session.scalar(select(Unit).where(Unit.code == code))
    assert unit is not None
    return unit


async def test_each_kind_of_commune_has_its_word_and_a_default_village_word(
    session: AsyncSession,
) -> None:
    xa, phuong = await _unit(session, "00640"), await _unit(session, "00070")
    assert (words_of(xa, "vi").commune, words_of(xa, "vi").village) == ("xã", "thôn")
    assert (words_of(phuong, "vi").commune, words_of(phuong, "vi").village) == (
        "phường",
        "tổ dân phố",
    )
    assert words_of(phuong, "en").villages == "residential groups"
    with use_locale("vi"):
        assert role_name("officer", words_of(phuong)) == "cán bộ phường"
        assert role_name("leader") == "chi hội trưởng"


async def test_an_officer_chooses_the_village_word_and_the_report_uses_it(
    session_factory: Sessions,
) -> None:
    async with session_factory() as session:
        commune = await _unit(session, "00640")
        await add_village(session, "00640", "Ấp Bình Lợi")
        officer = Person(display_name="Hoa", locale="vi", consent_at=NOW, created_at=NOW)
        session.add(officer)
        await session.flush()
        session.add(Identity(person_id=officer.id, channel="terminal", external_id="hoa",
                             chat_id="hoa", created_at=NOW))  # fmt: skip
        await grant(session, officer.id, "officer", commune.id, NOW)
        await session.commit()
    chat = Person_(session_factory, "hoa")
    await chat.tap(pack(OFFICER, "words", commune.id))
    ap = next(data for label, data in chat.buttons() if label == "ấp")
    screen = await chat.tap(ap)
    assert "Xã Thanh Trì: các ấp" in screen
    assert "+ Thêm ấp" in [label for label, _data in chat.buttons()]
    async with session_factory() as session:
        with use_locale("vi"):
            report = await build_report(session, commune.code, 2026, NOW)
            rendered = text.render(report).plain()
        await session.commit()
    assert "Theo ấp" in rendered and "Số ấp đã báo cáo" in rendered
    log = await chat.tap(pack(OFFICER, "log", commune.id))
    assert "Cán bộ Hoa · chọn cách gọi các thôn: ấp" in log
