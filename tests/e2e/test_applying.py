"""How the Telegram runner applies what it stored: while it answers one chat it already fetches
and answers the next ones, and a chat whose update meets a locked database is told so, held,
and carried on later in order, with nothing lost or applied twice. Real runner, fake Bot API.
"""

from __future__ import annotations

import json
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram.updates import chat_key_of
from bot.config import Settings
from bot.storage import inbox
from bot.storage.db import create_engine
from bot.storage.models import InboxUpdate
from tests.support.fake_telegram import ANSWER_METHODS, Call, FakeBotApi, FakeUser

from .conftest import NOW, RunningBot, World

BUSY = "The system is busy"


def answers_to(api: FakeBotApi, user: FakeUser, mark: int) -> list[Call]:
    return [c for c in api.calls[mark:] if c.chat_id == user.id and c.method in ANSWER_METHODS]


async def test_an_update_that_comes_while_a_slow_chat_is_answered_is_answered_first(
    api: FakeBotApi, bot: RunningBot
) -> None:
    slow, quick = api.user(7401, "Chậm", "vi"), api.user(7402, "Nhanh", "vi")
    api.slow_down(slow.id, 2.0)
    mark = len(api.calls)
    first = api.send_text(slow, "/start")
    await api.wait_until(
        lambda: api.is_acknowledged(first) and bool(answers_to(api, slow, mark)),
        describe="the slow chat's answer on its way",
    )
    api.send_text(quick, "/start")  # a later batch: fetched while the slow one is answered
    await api.wait_until(lambda: any(c.ok for c in answers_to(api, quick, mark)))
    assert not any(c.ok for c in answers_to(api, slow, mark))
    await bot.idle()
    assert all(c.ok for c in answers_to(api, slow, mark))


async def test_a_chat_that_meets_a_locked_database_is_held_then_carried_on_in_order(
    api: FakeBotApi,
    settings: Settings,
    village: World,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    bot = RunningBot(api, replace(settings, database_busy_ms=50))
    await bot.start()
    other_process = create_engine(settings.database_url)
    lan, minh = api.user(7501, "Lan", "en"), api.user(7502, "Minh", "en")
    mark = len(api.calls)
    try:
        api.slow_down(lan.id, 1.0)
        help_id = api.send_text(lan, "/help")
        await api.wait_until(lambda: bool(answers_to(api, lan, mark)), describe="/help answered")
        language_id = api.send_text(lan, "/language")  # stored behind /help, not applied yet
        await api.wait_until(lambda: api.is_acknowledged(language_id))
        async with other_process.begin() as holder:  # another process takes the write lock
            await holder.exec_driver_sql("SELECT 1")
            api.slow_down(lan.id, 0)
            api.send_text(minh, "/help")  # cannot even be stored now: not acknowledged
            await api.wait_until(
                lambda: any(BUSY in c.params.get("text", "") for c in answers_to(api, lan, mark)),
                describe="Lan told the system is busy",
            )
        await bot.idle()  # the lock is gone: Minh's update is stored, Lan's chat carried on
    finally:
        await bot.stop()
        await other_process.dispose()
    texts = [c.params["text"] for c in answers_to(api, lan, mark) if c.ok]
    assert "/selfcheck" in texts[0]  # /help's answer first
    assert all(BUSY in text for text in texts[1:-1])
    assert texts[-1] != texts[0] and BUSY not in texts[-1]  # then /language's, once
    assert any(c.ok for c in answers_to(api, minh, mark))
    assert api.is_acknowledged(help_id) and not api.pending_ids()
    async with session_factory() as session:
        pending = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        )
    assert pending == 0


async def test_a_backlog_larger_than_one_read_is_applied_in_order_in_every_chat(
    api: FakeBotApi,
    settings: Settings,
    village: World,
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    people = [api.user(7600 + n, f"Người {n}", "en") for n in range(3)]
    mark = len(api.calls)
    sent = []
    for _round in range(110):  # 660 updates: more than one read of the inbox (500) holds
        for person in people:
            sent.append(api.send_text(person, "/help"))
            sent.append(api.send_text(person, "/language"))
    # Stored but not applied, as a crash leaves them (Telegram sends them again as well).
    raw = [api.updates[update_id] for update_id in sent]
    async with session_factory() as session:
        received = [inbox.Received(r["update_id"], chat_key_of(r), json.dumps(r)) for r in raw]
        await inbox.record(session, "telegram", received, NOW)
        await session.commit()
    # About 650 replies: at Telegram's 30 a second that is 22 s, so both the bot's throttle and
    # the fake's flood limits are off; this test is about the order, not the pace.
    api.rate_limit(None, None)
    bot = RunningBot(api, replace(settings, telegram_max_rate=0))
    await bot.start()
    try:
        await bot.idle(timeout=60)
    finally:
        await bot.stop()
    for person in people:
        texts = [c.params["text"] for c in answers_to(api, person, mark) if c.ok]
        assert len(texts) == 220
        helps = {i for i, text in enumerate(texts) if "/selfcheck" in text}
        assert helps == set(range(0, 220, 2))  # /help, /language, /help, … as they were sent
    async with session_factory() as session:
        pending = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.done_at.is_(None))
        )
    assert pending == 0


async def test_an_update_that_cannot_be_read_is_closed_and_its_batch_is_answered(
    api: FakeBotApi, bot: RunningBot, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    lan = api.user(7601, "Lan", "vi")
    mark = len(api.calls)
    # A tap without chat_instance: python-telegram-bot cannot read it. It comes in one batch
    # with a message, which is stored, applied and answered all the same.
    broken = api.add_update({"callback_query": {"id": "q1", "from": lan.to_dict(), "data": "x"}})
    api.send_text(lan, "/start")
    await bot.idle()
    assert [c.method for c in answers_to(api, lan, mark) if c.ok] == ["sendMessage"]
    assert api.is_acknowledged(broken)
    async with session_factory() as session:
        assert (
            await session.scalar(
                select(InboxUpdate.done_at).where(InboxUpdate.update_id == broken)
            )
            is not None
        )
        assert await inbox.waiting(session, "telegram") == []
