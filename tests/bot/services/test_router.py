"""The router's own rules: typed keys on channels without buttons, remembered in the database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import router
from bot.services.context import Services
from bot.services.messages import Actor, Inbound
from bot.services.reports import build_report
from bot.services.units import add_village
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
ZALO = Actor("zalo", "z1", "z1", "Lan", None)


def services(sessions: async_sessionmaker[AsyncSession]) -> Services:
    """A fresh set of services, as a restarted process (or another worker) would build."""
    return Services(sessions=sessions, forms=load_forms(), clock=lambda: NOW)


async def say(sessions: async_sessionmaker[AsyncSession], text: str) -> str:
    out = await router.handle(services(sessions), Inbound(ZALO, text=text, keyed=True))
    return "\n".join(reply.text for reply in out.replies)


async def test_a_typed_number_is_the_listed_choice_even_after_a_restart(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await router.handle(services(session_factory),
                                Inbound(ZALO, command="start", keyed=True))
    assert first.replies[-1].keys() == ["1", "2", "3"]  # agree, do not agree, language
    assert "đồng ý" in await say(session_factory, "1")  # agreed: the menu follows
    assert "Câu 1/10" in await say(session_factory, "1")  # menu item 1: the self-check
    assert "Câu 2/10" in await say(session_factory, "2")  # option 2 of question 1
    assert "Câu 1/10" in await say(session_factory, "6")  # after the options: ◀ back


async def test_a_key_that_is_not_listed_is_typed_text(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await router.handle(services(session_factory), Inbound(ZALO, command="form", keyed=True,
                                                           argument="cong-dan-hoc-tap"))
    assert "Bạn có đồng ý không?" in await say(session_factory, "9")  # no consent yet


async def test_a_citizen_who_names_their_village_counts_in_its_report(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> None:
    async with session_factory() as session:
        village = await add_village(session, "00070", "Thôn Đông")
        await session.commit()
    await router.handle(services(session_factory), Inbound(ZALO, command="start", keyed=True))
    await say(session_factory, "1")  # agree
    reply = await router.handle(services(session_factory), Inbound(
        ZALO, command="village", argument=village.code, keyed=True))
    assert "Thôn Đông" in reply.replies[0].text
    await say(session_factory, "1")  # menu: the self-check
    for _question in range(10):
        await say(session_factory, "1")
    assert "ĐẠT" in await say(session_factory, "1")  # submit at the review
    async with session_factory() as session:
        report = await build_report(session, "00070", 2026, NOW)
    assert (report.total.checked, report.total.certified) == (1, 1)
