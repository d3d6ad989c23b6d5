"""Reminders on Zalo, through the real Zalo runner against the local fake Zalo Bot API: choices
are numbered and typing the number follows the reminder's button; a used-up quota (429) keeps
reminders queued (never dropped) until it resets; Zalo's internal server error (403) leaves a
reminder due for a later try, and nobody is taken for blocked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services import campaigns, reminders
from bot.services.people import LEADER, grant
from bot.services.units import add_village
from bot.storage.models import Household, Identity, Person, Reminder
from tests.support.fake_zalo import FakeZaloApi, ZaloChat

from .test_zalo import COMMUNE, NOW, ZaloRunner, zalo, zalo_settings  # noqa: F401 (fixtures)

Sessions = async_sessionmaker[AsyncSession]
LATER = NOW + dt.timedelta(minutes=3)  # past the retry after one network or server failure


async def a_leader_with_a_reminder(
    zalo: FakeZaloApi,  # noqa: F811 (the fixture imported above)
    settings: Settings,
    sessions: Sessions,
) -> ZaloChat:
    """Bình, leader of Thôn Đông, has written to the bot once; a reminder that the season is
    open is due now. The runner is stopped."""
    user = zalo.user("zl-leader", "Bình")
    async with sessions() as session:
        village = await add_village(session, COMMUNE, "Thôn Đông")
        session.add(
            Household(village_id=village.id, code="H001", head_name="Nguyễn Văn An", members=4)
        )
        leader = Person(display_name="Bình", locale="vi", created_at=NOW, consent_at=NOW)
        session.add(leader)
        await session.flush()
        session.add(
            Identity(
                person_id=leader.id,
                channel="zalo",
                external_id=user.id,
                chat_id=user.id,
                created_at=NOW,
            )
        )
        await grant(session, leader.id, LEADER, village.id, NOW)
        # 20 November is in the leaders' "not assessed" window: switched off, so that the one
        # reminder here is the planned one.
        assert village.parent_id is not None
        await campaigns.change(
            session, village.parent_id, campaigns.NOT_ASSESSED, NOW, enabled=False
        )
        await session.commit()

    # Zalo lets a bot write only to people who wrote to it first.
    runner = ZaloRunner(zalo, settings, "polling")
    await runner.start()
    chat = ZaloChat(zalo, user)
    await chat.send("Xin chào")
    await runner.stop()
    async with sessions() as session:
        planned = reminders.Planned(
            "season",
            leader.id,
            campaigns.SEASON_OPEN,
            NOW,
            {"unit": village.id, "year": 2026, "until": "2026-12-31"},
        )
        assert await reminders.add(session, [planned], NOW) == 1
        await session.commit()
    return chat


async def test_a_reminder_waits_out_the_quota_and_its_number_opens_the_households(
    zalo: FakeZaloApi,  # noqa: F811 (the fixture imported above)
    zalo_settings: Settings,  # noqa: F811
    session_factory: Sessions,
    geography: None,
) -> None:
    chat = await a_leader_with_a_reminder(zalo, zalo_settings, session_factory)
    runner = ZaloRunner(zalo, zalo_settings, "polling")
    zalo.exhaust_quota()
    await runner.start()
    await zalo.wait_until(lambda: bool(zalo.refused()), describe="the quota refusal")
    await runner.stop()
    assert [c.status for c in zalo.refused()] == [429]
    async with session_factory() as session:
        row = await session.scalar(select(Reminder))
        assert row is not None
        assert (row.done_at, row.outcome) == (None, None)  # kept, not dropped
    seen = len(chat.transcript())

    zalo.restore_quota()
    await runner.start()
    await zalo.wait_until(lambda: len(chat.transcript()) > seen, describe="the reminder")
    reminder = chat.last()
    assert reminder.startswith("📅 Đã bắt đầu đánh giá Gia đình học tập năm 2026.")
    assert reminder.endswith("  1. 🏠 Danh sách hộ")
    [households] = await chat.send("1")
    assert "Nguyễn Văn An" in households
    await runner.stop()
    async with session_factory() as session:
        assert await session.scalar(select(Reminder.outcome)) == "sent"


async def test_a_reminder_refused_with_403_is_tried_again_and_nobody_is_taken_for_blocked(
    zalo: FakeZaloApi,  # noqa: F811
    zalo_settings: Settings,  # noqa: F811
    session_factory: Sessions,
    geography: None,
) -> None:
    chat = await a_leader_with_a_reminder(zalo, zalo_settings, session_factory)
    seen = len(chat.transcript())
    zalo.fail_next("sendMessage")  # Zalo's "internal server error", once
    runner = ZaloRunner(zalo, zalo_settings, "polling")
    await runner.start()
    await zalo.wait_until(lambda: bool(zalo.refused()), describe="the server error")
    await runner.stop()
    assert [c.status for c in zalo.refused()] == [403]
    async with session_factory() as session:
        row = await session.scalar(select(Reminder))
        assert row is not None
        assert (row.done_at, row.outcome, row.attempts) == (None, None, 1)  # due again later
        assert row.due_at > NOW
        assert await session.scalar(select(Identity.blocked_at)) is None

    runner = ZaloRunner(zalo, zalo_settings, "polling", now=lambda: LATER)
    await runner.start()
    await zalo.wait_until(lambda: len(chat.transcript()) > seen, describe="the reminder")
    assert chat.last().startswith("📅 Đã bắt đầu đánh giá Gia đình học tập năm 2026.")
    await runner.stop()
    async with session_factory() as session:
        assert await session.scalar(select(Reminder.outcome)) == "sent"
        assert await session.scalar(select(Identity.blocked_at)) is None
