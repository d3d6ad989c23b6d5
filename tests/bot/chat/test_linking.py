"""Linking Telegram and Zalo: start a self-check on one messenger, finish it on the other."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import router
from bot.chat.messages import Actor, Inbound
from bot.services.context import Services
from bot.storage.models import Answer, Identity
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
TELEGRAM = Actor("telegram", "t1", "t1", "Bình", "vi")
ZALO = Actor("zalo", "z1", "z1", "Bình", None)
Sessions = async_sessionmaker[AsyncSession]


async def say(sessions: Sessions, actor: Actor, text: str, now: dt.datetime = NOW) -> str:
    """Send one message (a /command or typed text) and return the texts of the replies."""
    services = Services(sessions=sessions, forms=load_forms(), clock=lambda: now)
    if text.startswith("/"):
        name, _sep, argument = text[1:].partition(" ")
        inbound = Inbound(actor, command=name, argument=argument, keyed=True)
    else:
        inbound = Inbound(actor, text=text, keyed=True)
    out = await router.handle(services, inbound)
    return "\n".join(reply.text.html() for reply in out.replies)


async def link_code(sessions: Sessions) -> str:
    found = re.search(r"/link ([A-Z0-9]+)", await say(sessions, TELEGRAM, "/link"))
    assert found is not None
    return found.group(1)


async def test_a_self_check_started_on_telegram_finishes_on_zalo(
    session_factory: Sessions,
) -> None:
    await say(session_factory, TELEGRAM, "/start")
    await say(session_factory, TELEGRAM, "1")  # agree
    await say(session_factory, TELEGRAM, "/selfcheck")
    await say(session_factory, TELEGRAM, "1")  # the group: kept, so Zalo does not ask again
    for _answer in range(3):
        await say(session_factory, TELEGRAM, "1")
    code = await link_code(session_factory)
    assert "Đã liên kết" in await say(session_factory, ZALO, f"/link {code}")
    assert "Câu 4/10" in await say(session_factory, ZALO, "/selfcheck")
    for _answer in range(7):
        await say(session_factory, ZALO, "1")
    assert "đạt tiêu chí — chờ xác nhận" in await say(session_factory, ZALO, "1")  # submitted
    async with session_factory() as session:
        owners = set(await session.scalars(select(Identity.person_id)))
        assert len(owners) == 1  # both messengers are one person
        assert await session.scalar(select(func.count()).select_from(Answer)) == 10


async def test_a_code_works_once_and_not_after_15_minutes(session_factory: Sessions) -> None:
    await say(session_factory, TELEGRAM, "/start")
    await say(session_factory, TELEGRAM, "1")  # agree: nothing is stored (or linked) before
    code = await link_code(session_factory)
    late = NOW + dt.timedelta(minutes=16)
    assert "hết hạn" in await say(session_factory, ZALO, f"/link {code}", now=late)
    code = await link_code(session_factory)
    assert "Đã liên kết" in await say(session_factory, ZALO, f"/link {code}")
    other = Actor("zalo", "z2", "z2", "Lan", None)
    assert "hết hạn" in await say(session_factory, other, f"/link {code}")


async def test_a_messenger_with_answers_of_its_own_is_not_merged_silently(
    session_factory: Sessions,
) -> None:
    await say(session_factory, TELEGRAM, "/start")
    await say(session_factory, TELEGRAM, "1")  # agree
    code = await link_code(session_factory)
    await say(session_factory, ZALO, "/start")
    await say(session_factory, ZALO, "1")  # agree
    await say(session_factory, ZALO, "/selfcheck")
    await say(session_factory, ZALO, "1")  # the group
    await say(session_factory, ZALO, "1")
    assert "/link" in await say(session_factory, ZALO, f"/link {code}")
    async with session_factory() as session:
        assert len(set(await session.scalars(select(Identity.person_id)))) == 2


async def test_before_consent_there_is_nothing_to_link_from(session_factory: Sessions) -> None:
    assert "/link MÃ" in await say(session_factory, TELEGRAM, "/link")
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Identity)) == 0
