"""Reminders through python-telegram-bot against the local fake Bot API, with an injected clock:
an officer's broadcast from chat to delivery count; a person's own reminders and switches; a
restart between due and sent; two senders never sending one reminder twice; a person who
blocked the bot; 429 answers with retry_after honoured and nothing lost."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from functools import partial

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from telegram import Bot

from bot.channels.telegram.render import remind
from bot.runtime.reminders import Deliverer
from bot.services import campaigns, reminders
from bot.services.context import Services
from bot.services.people import LEADER, grant
from bot.storage.models import Broadcast, Identity, Person, Reminder, Unit
from conversations.loader import load_forms
from tests.support.chat import Chat
from tests.support.fake_telegram import FakeBotApi

from .conftest import COMMUNE, LEADER_ID, NOW, RunningBot, World
from .test_roles import officer  # noqa: F401 (a fixture)
from .test_telegram_journeys import consent, labels

Sessions = async_sessionmaker[AsyncSession]
FIRST_USER = 7000
pytestmark = pytest.mark.usefixtures("geography")


async def test_an_officer_broadcasts_to_the_leaders_and_hears_how_many_got_it(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811 (the fixture imported above)
    village: World,
) -> None:
    leader = Chat(api, village.leader_user)
    await officer.send("/start", replies=2)
    await officer.click("📣 Gửi thông báo")
    assert officer.last_reply().startswith("📣 Gửi tin cho ai?")
    await officer.click("Chi hội trưởng các thôn (1)")
    preview = (await officer.send("Họp chi hội lúc 19 giờ thứ Bảy <nhà văn hoá>"))[-1].content
    assert "Xem trước" in preview
    assert "Họp chi hội lúc 19 giờ thứ Bảy &lt;nhà văn hoá&gt;" in preview  # shown as typed
    assert "Tin sẽ gửi tới 1 người." in preview
    sending = officer.last_message()
    await officer.click("✅ Gửi")
    await api.wait_until(
        lambda: any("Đã đến: 1" in text for text in officer.replies()),
        describe="the count at the officer",
    )
    assert any(text.startswith("📣 Đang gửi tới 1 người.") for text in officer.replies())
    assert leader.replies()[-1].endswith("Họp chi hội lúc 19 giờ thứ Bảy &lt;nhà văn hoá&gt;")
    # A second tap on "Send" (its message was replaced) sends nothing more.
    sends = len(api.calls_to("sendMessage"))
    await officer.click_on(sending, "✅ Gửi", replies=0)
    await bot.idle()
    assert [c for c in api.calls_to("sendMessage")[sends:] if c.chat_id == LEADER_ID] == []


async def test_the_preview_counts_who_gets_it_now_and_who_once_they_write_to_the_zalo_page(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811 (the fixture imported above)
    village: World,
    session_factory: Sessions,
) -> None:
    # Thôn Tây's leader uses the commune's Zalo OA and last wrote nine days ago: the OA may
    # not write to her before she writes again.
    async with session_factory() as session:
        leader = Person(display_name="Lò Thị Hương", locale="vi", created_at=NOW, consent_at=NOW)
        session.add(leader)
        await session.flush()
        session.add(
            Identity(
                person_id=leader.id,
                channel="zalo-oa",
                external_id="4021983749012837465",
                chat_id="4021983749012837465",
                created_at=NOW,
                last_seen_at=NOW - dt.timedelta(days=9),
            )
        )
        await grant(session, leader.id, LEADER, village.other_village.id, NOW)
        await session.commit()
    await officer.send("/start", replies=2)
    await officer.click("📣 Gửi thông báo")
    await officer.click("Chi hội trưởng các thôn (2)")
    preview = (await officer.send("Họp chi hội lúc 19 giờ thứ Bảy"))[-1].content
    assert "Tin sẽ gửi tới 2 người." in preview
    assert (
        "1 người nhận được ngay; 1 người đã hơn một tuần không nhắn cho trang Zalo, sẽ nhận "
        "khi họ nhắn lại."
    ) in preview
    await officer.click("✅ Gửi")
    await bot.idle()
    async with session_factory() as session:
        waiting = await session.scalar(
            select(Reminder).where(Reminder.person_id == leader.id, Reminder.kind == "broadcast")
        )
        assert waiting is not None
        assert (waiting.channel, waiting.done_at) == ("zalo-oa", None)  # kept for her return


async def test_a_person_sees_the_next_reminders_and_turns_one_kind_off(
    api: FakeBotApi, bot: RunningBot, village: World
) -> None:
    leader = Chat(api, village.leader_user)
    await consent(leader)
    await leader.send("/reminders")
    text = leader.last_reply()
    assert "Nhắc việc của bạn" in text
    # 10 November 2026: the commune reports on 30 November; the leaders hear 14 days
    # before it.
    assert "Ngày 16/11/2026 lúc 08:00: Hộ chưa được đánh giá" in text
    assert "Không nhắc từ 21 giờ tối đến 7 giờ sáng." in text
    assert "🔔 Hộ chưa được đánh giá ✓" in labels(leader.last_message())
    await leader.click("🔔 Hộ chưa được đánh giá ✓")
    assert "🔕 Hộ chưa được đánh giá" in labels(leader.last_message())
    assert "Ngày 23/11" not in leader.last_reply()


# ----------------------------------------------------------------------------- the sender


@pytest.fixture
async def recipients(api: FakeBotApi, session_factory: Sessions) -> list[int]:
    """Twelve people on Telegram, each with one broadcast reminder due now."""
    async with session_factory() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert commune is not None
        people = [
            Person(display_name=f"Người {n}", locale="vi", created_at=NOW) for n in range(12)
        ]
        session.add_all(people)
        await session.flush()
        for n, person in enumerate(people):
            user = FIRST_USER + n
            api.user(user, f"Người {n}")
            # Citizens who agreed to hear from the commune.
            await reminders.choose(session, person.id, campaigns.BROADCAST, True, NOW)
            session.add(
                Identity(
                    person_id=person.id,
                    channel="telegram",
                    external_id=str(user),
                    chat_id=str(user),
                )
            )
        broadcast = Broadcast(
            unit_id=commune.id,
            author_id=people[0].id,
            audience="leaders",
            text="Tin của xã",
            created_at=NOW,
        )
        session.add(broadcast)
        await session.flush()
        await reminders.add(
            session,
            [
                reminders.Planned(
                    f"broadcast:{broadcast.id}:{p.id}",
                    p.id,
                    campaigns.BROADCAST,
                    NOW,
                    {"broadcast": broadcast.id},
                )
                for p in people
            ],
            NOW,
        )
        await session.commit()
    return [FIRST_USER + n for n in range(12)]


@pytest.fixture
async def telegram_bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    """A plain Bot (no rate limiter): the sender's own pacing and 429 handling are tested."""
    async with Bot(api.token, base_url=api.base_url) as bot:
        yield bot


def deliverer(
    session_factory: Sessions, bot: Bot, clock: dt.datetime = NOW, rate: float = 200.0
) -> Deliverer:
    services = Services(session_factory, load_forms(), clock=lambda: clock)
    return Deliverer(services, "telegram", partial(remind, bot), rate=rate, chat_interval=0.05)


async def one_round(sender: Deliverer) -> int:
    """A round of a process that then stops cleanly (giving its lease back)."""
    try:
        return await sender.round()
    finally:
        await sender.close()


def broadcasts_to(api: FakeBotApi) -> Counter[int]:
    return Counter(
        int(c.chat_id) for c in api.calls_to("sendMessage") if c.ok and c.chat_id is not None
    )


async def test_a_restart_between_due_and_sent_sends_each_reminder_once(
    api: FakeBotApi, session_factory: Sessions, recipients: list[int], telegram_bot: Bot
) -> None:
    # The first process plans and stops before sending (it is night: 22:00 in Vietnam).
    # It dies without giving its lease back; the lease has lapsed by morning.
    night = dt.datetime(2026, 11, 9, 15, 0, tzinfo=dt.UTC)  # the evening before NOW
    assert await deliverer(session_factory, telegram_bot, night).round() == 0
    assert broadcasts_to(api) == Counter()
    # The next process, in the morning, sends everything once; a further round sends nothing.
    assert await one_round(deliverer(session_factory, telegram_bot)) == 13  # and the count
    assert await one_round(deliverer(session_factory, telegram_bot)) == 0
    sent = broadcasts_to(api)
    assert [sent[user] for user in recipients] == [2] + [1] * 11  # the author got the count
    async with session_factory() as session:
        outcomes = dict(
            (
                await session.execute(
                    select(Reminder.outcome, func.count()).group_by(Reminder.outcome)
                )
            ).all()
        )
    # Twelve sent, and the count for the author (who is one of them) sent too.
    assert outcomes == {"sent": 13}


async def test_two_senders_at_once_never_send_one_reminder_twice(
    api: FakeBotApi, session_factory: Sessions, recipients: list[int], telegram_bot: Bot
) -> None:
    first, second = (
        deliverer(session_factory, telegram_bot),
        deliverer(session_factory, telegram_bot),
    )
    counts = await asyncio.gather(first.round(), second.round())
    assert sorted(counts)[0] == 0  # the lease: one of them sent everything
    sent = broadcasts_to(api)
    assert [sent[user] for user in recipients] == [2] + [1] * 11  # the author also got the count


async def test_a_person_who_blocked_the_bot_is_marked_and_skipped_until_they_write(
    api: FakeBotApi, session_factory: Sessions, recipients: list[int], telegram_bot: Bot
) -> None:
    blocked = recipients[3]
    api.block(blocked)
    api.expect_refusal("sendMessage", 403, "bot was blocked by the user")
    await one_round(deliverer(session_factory, telegram_bot))
    async with session_factory() as session:
        identity = await session.scalar(
            select(Identity).where(Identity.external_id == str(blocked))
        )
        assert identity is not None
        assert identity.blocked_at == NOW
        report = await session.scalar(
            select(Reminder).where(Reminder.kind == campaigns.BROADCAST_REPORT)
        )
        assert report is not None
        # The next reminder to them is skipped without asking Telegram.
        await reminders.add(
            session,
            [
                reminders.Planned(
                    "again", identity.person_id, campaigns.BROADCAST_REPORT, NOW, {"report": 1}
                )
            ],
            NOW,
        )
        await session.commit()
    calls = len(api.calls_to("sendMessage"))
    await one_round(deliverer(session_factory, telegram_bot))
    assert len(api.calls_to("sendMessage")) == calls
    async with session_factory() as session:
        outcome = await session.scalar(select(Reminder.outcome).where(Reminder.key == "again"))
        assert outcome == reminders.BLOCKED
    sent = broadcasts_to(api)
    assert sent[blocked] == 0
    assert sum(sent.values()) == 12  # eleven broadcasts and the author's count


async def test_429_answers_are_waited_out_and_nothing_is_lost(
    api: FakeBotApi, session_factory: Sessions, recipients: list[int], telegram_bot: Bot
) -> None:
    api.rate_limit(global_per_second=8, per_chat_per_second=None)
    api.expect_refusal("sendMessage", 429)
    sender = deliverer(session_factory, telegram_bot, rate=1000.0)  # far too fast on purpose
    sent = 0
    for _round in range(5):
        sent += await sender.round()
        if sent >= 13:
            break
    assert api.count_429 > 0
    assert [broadcasts_to(api)[user] for user in recipients] == [2] + [1] * 11
    async with session_factory() as session:
        still_open = await session.scalar(
            select(func.count()).select_from(Reminder).where(Reminder.done_at.is_(None))
        )
    assert still_open == 0


async def test_the_job_deletes_handled_updates_past_their_retention_and_keeps_pending_ones(
    session_factory: Sessions, telegram_bot: Bot
) -> None:
    from bot.storage import inbox
    from bot.storage.models import InboxUpdate

    async with session_factory() as session:
        week_ago = NOW - dt.timedelta(days=8)
        rows = [inbox.Received(n, "7", "{}") for n in (1, 2, 3)]
        await inbox.record(session, "telegram", rows, week_ago)
        await inbox.mark_done(session, "telegram", 1, week_ago)
        await inbox.mark_done(session, "telegram", 2, NOW)
        await session.commit()
    sender = deliverer(session_factory, telegram_bot)
    sender.inbox_retention = dt.timedelta(days=7)
    await one_round(sender)
    async with session_factory() as session:
        kept = set(await session.scalars(select(InboxUpdate.update_id)))
    assert kept == {2, 3}  # handled a day ago, and not handled yet


async def test_an_officer_switches_a_campaign_and_sets_its_days_in_the_chat(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811 (the fixture imported above)
    session_factory: Sessions,
) -> None:
    async with session_factory() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert commune is not None
    await officer.send("/start", replies=2)
    menu = labels(officer.last_message())
    # Commune work first; the officer's own citizen items behind one entry; one for reminders.
    assert "👤 Tự đánh giá và kết quả của riêng tôi" in menu
    assert "📝 Tự đánh giá Công dân học tập" not in menu
    assert [label for label in menu if "Nhắc việc" in label] == ["🔔 Nhắc việc"]
    await officer.click("🔔 Nhắc việc")
    assert "Nhắc việc xã gửi cho chi hội trưởng và người dân:" in officer.last_reply()
    await officer.click("⏰ Nhắc việc của Phường Hoàn Kiếm")
    assert "✅ Bắt đầu đợt đánh giá: ngày 01/10 hằng năm" in officer.last_reply()
    await officer.click("Tắt: Bắt đầu đợt đánh giá")
    assert "⛔ Bắt đầu đợt đánh giá: ngày 01/10 hằng năm" in officer.last_reply()
    await officer.click(f"b:when:{commune.id}-stale_draft")
    assert "Sau bao nhiêu ngày không trả lời thì nhắc?" in officer.last_reply()
    await officer.send("ba ngày")
    assert officer.last_reply() == "Ngày hoặc số này không dùng được. Gõ lại nhé:"
    await officer.send("5")
    assert "✅ Phiếu đánh giá còn dở: sau 5 ngày không trả lời" in officer.last_reply()
    async with session_factory() as session:
        own = (await campaigns.settings_of(session, [commune.id]))[commune.id]
    assert (own[campaigns.SEASON_OPEN].enabled, own[campaigns.STALE_DRAFT].days) == (False, 5)
