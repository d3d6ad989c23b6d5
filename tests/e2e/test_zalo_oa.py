"""A commune's Zalo Official Account end to end: the real runner by webhook against the local
fake OA API (``tests/support/fake_zalo_oa.py``), on a test database, with one clock shared by
the bot and the fake.

A follower is greeted and checks herself with buttons; a leader's assessment survives a restart;
an event delivered twice is applied once; an access token expiring mid-conversation is
refreshed once while two workers run; a reminder for someone silent over a week waits until she
writes; the month's quota running out mid-broadcast holds the rest until the next month; a
forged or stale signature is refused; an unfollow marks the person unreachable and keeps her
data; a dead refresh token alerts the administrator and ``hoctap zalo-oa authorize`` repairs it.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_services
from bot.channels.zalo_oa.api import OaClient
from bot.channels.zalo_oa.channel import ZaloOaChannel
from bot.chat.messages import Outbound, Reply
from bot.commands import zalo_oa
from bot.config import Secret, Settings
from bot.rich import data
from bot.runtime.channel import AGAIN, SHOWN, Incoming
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.runner import run
from bot.services import campaigns, reminders, tokens
from bot.services.people import LEADER, grant
from bot.services.units import add_village
from bot.storage.models import (
    Answer,
    Assessment,
    Broadcast,
    ChannelToken,
    Household,
    Identity,
    InboxUpdate,
    Person,
    Reminder,
    Unit,
)
from tests.support.fake_zalo_oa import (
    APP_ID,
    SECRET_KEY,
    WEBHOOK_KEY,
    FakeZaloOa,
    OaChat,
    OaUser,
    free_port,
    signature,
)

Sessions = async_sessionmaker[AsyncSession]
# Friday 27 November 2026, 10:00 in Vietnam: daytime, and four days before the next month.
NOW = dt.datetime(2026, 11, 27, 3, 0, tzinfo=dt.UTC)
COMMUNE = "00070"  # Phường Hoàn Kiếm, Hà Nội
MENU = "Bạn muốn làm gì?"
REDIRECT = "https://xa-thanh-tri.example.vn/zalo/callback"
pytestmark = pytest.mark.usefixtures("geography")


class Clock:
    """The one clock of the bot and the fake; ``advance`` moves both."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def seconds(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
async def oa(clock: Clock) -> AsyncIterator[FakeZaloOa]:
    async with FakeZaloOa(clock=clock.seconds) as fake:
        yield fake


def settings_for(oa: FakeZaloOa, database_url: str) -> Settings:
    """A worker's settings: its own webhook port."""
    return Settings(
        database_url=database_url,
        zalo_oa_app_id=APP_ID,
        zalo_oa_secret_key=Secret(SECRET_KEY),
        zalo_oa_webhook_key=Secret(WEBHOOK_KEY),
        zalo_oa_redirect_uri=REDIRECT,
        zalo_oa_api_url=oa.url,
        zalo_oa_oauth_url=oa.url,
        webhook_listen="127.0.0.1",
        webhook_port=free_port(),
    )


@pytest.fixture
def settings(oa: FakeZaloOa, database_url: str) -> Settings:
    return settings_for(oa, database_url)


async def authorise(oa: FakeZaloOa, sessions: Sessions, clock: Clock) -> None:
    """The tokens an earlier ``hoctap zalo-oa authorize`` stored."""
    access, refresh, seconds = oa.issue_tokens()
    pair = tokens.Tokens(
        access,
        clock() + dt.timedelta(seconds=seconds),
        refresh,
        clock() + dt.timedelta(days=90),
    )
    async with sessions() as session:
        await tokens.store(session, "zalo-oa", pair, tokens.cipher(SECRET_KEY), clock())
        await session.commit()


class OaRunner:
    """``hoctap run --channel zalo-oa --webhook URL`` as a task: ``stop()`` ends it as SIGTERM
    would, ``start()`` runs it anew (a new engine on the same database, as a new process)."""

    def __init__(self, oa: FakeZaloOa, settings: Settings, clock: Clock) -> None:
        self.oa, self.settings, self.clock = oa, settings, clock
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()
        self.dispatcher: Dispatcher | None = None
        self.channel: ZaloOaChannel | None = None
        self.ready = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.webhook_port}/zalo-oa/hook"

    async def start(self) -> None:
        """Start and return once the webhook listens (the URL is the app's webhook)."""
        self.stopping, self.dispatcher, self.ready = asyncio.Event(), None, asyncio.Event()
        self.task = asyncio.create_task(self._run(self.stopping))
        ready = asyncio.ensure_future(self.ready.wait())
        await asyncio.wait({ready, self.task}, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if self.task.done():
            self.task.result()
        if self.url not in self.oa.webhook_urls:
            self.oa.webhook_urls.append(self.url)

    async def _run(self, stopping: asyncio.Event) -> None:
        async with open_services(self.settings) as services:
            services = replace(services, clock=self.clock)
            client = OaClient(APP_ID, SECRET_KEY, self.oa.url, self.oa.url, trust_env=False)
            keeper = zalo_oa.keeper_for(self.settings, services)
            self.channel = ZaloOaChannel(self.settings, keeper, client, self.clock.seconds)
            await run(self.settings, services, self.channel, stopping, self.url, self._observe)

    def _observe(self, dispatcher: Dispatcher) -> None:
        """Told once the channel is open; the webhook listens right after, before any await."""
        self.dispatcher = dispatcher
        dispatcher.listeners.append(self.oa.notify)
        self.ready.set()

    async def idle(self) -> None:
        """Wait until every event was delivered, applied and answered."""

        def waiting() -> bool:
            busy = self.dispatcher is not None and self.dispatcher.busy()
            return self.task is None or self.task.done() or (self.oa.delivered() and not busy)

        await self.oa.wait_until(waiting, describe="the OA runner idle")

    async def stop(self) -> None:
        if self.task is None:
            return
        self.stopping.set()
        task, self.task = self.task, None
        await task


@pytest.fixture
async def runner(
    oa: FakeZaloOa, settings: Settings, clock: Clock, session_factory: Sessions
) -> AsyncIterator[OaRunner]:
    await authorise(oa, session_factory, clock)
    running = OaRunner(oa, settings, clock)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


# --------------------------------------------------------------------------- helpers


async def identity_of(sessions: Sessions, user: OaUser) -> Identity | None:
    async with sessions() as session:
        return await session.scalar(
            select(Identity).where(Identity.channel == "zalo-oa", Identity.external_id == user.id)
        )


async def person_of(sessions: Sessions, user: OaUser) -> Person:
    identity = await identity_of(sessions, user)
    assert identity is not None
    async with sessions() as session:
        person = await session.get(Person, identity.person_id)
    assert person is not None
    return person


async def answers_of(sessions: Sessions, **where: object) -> dict[str, str]:
    async with sessions() as session:
        assessment = await session.scalar(select(Assessment).filter_by(**where))
        assert assessment is not None
        rows = await session.execute(
            select(Answer.question_id, Answer.value).where(Answer.assessment_id == assessment.id)
        )
        return {question: value for question, value in rows}


async def consented(chat: OaChat) -> None:
    """Follow the OA and agree to the notice by its button."""
    await chat.follow()
    await chat.tap("Tôi đồng ý")


async def a_person(
    sessions: Sessions, user: OaUser, seen: dt.datetime | None, name: str = "Người dân"
) -> int:
    """Someone who agreed (to the notice, and to the commune's news) and last wrote to the OA
    at ``seen``; return their id."""
    async with sessions() as session:
        person = Person(display_name=name, locale="vi", created_at=NOW, consent_at=NOW)
        session.add(person)
        await session.flush()
        session.add(
            Identity(
                person_id=person.id,
                channel="zalo-oa",
                external_id=user.id,
                chat_id=user.id,
                created_at=NOW,
                last_seen_at=seen,
            )
        )
        # They agreed to hear from the commune.
        await reminders.choose(session, person.id, campaigns.BROADCAST, True, NOW)
        await session.commit()
        return person.id


async def broadcast_to(sessions: Sessions, people: list[int], text: str) -> int:
    """The commune's message to these people, due now (as the officer's "Send" plans it, by
    an officer on no messenger here); return how many rows it planned."""
    async with sessions() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert commune is not None
        author = Person(display_name="Cán bộ xã", locale="vi", created_at=NOW, consent_at=NOW)
        session.add(author)
        await session.flush()
        broadcast = Broadcast(
            unit_id=commune.id, author_id=author.id, audience="citizens", text=text, created_at=NOW
        )
        session.add(broadcast)
        await session.flush()
        planned = [
            reminders.Planned(
                f"broadcast:{broadcast.id}:{p}",
                p,
                campaigns.BROADCAST,
                NOW,
                {"broadcast": broadcast.id},
            )
            for p in people
        ]
        count = await reminders.add(session, planned, NOW)
        await session.commit()
    return count


async def reminder_rows(sessions: Sessions) -> list[Reminder]:
    """The broadcast's rows, one per recipient."""
    async with sessions() as session:
        query = select(Reminder).where(Reminder.kind == campaigns.BROADCAST)
        return list(await session.scalars(query.order_by(Reminder.id)))


# --------------------------------------------------------------------------- 1. the citizen


async def test_a_follower_is_greeted_agrees_by_button_and_checks_herself_with_buttons(
    oa: FakeZaloOa, runner: OaRunner, session_factory: Sessions
) -> None:
    hoa = oa.user("6045162093341882146", "Hoa")
    chat = OaChat(oa, hoa)

    [greeting] = await chat.follow()
    assert greeting.startswith("Xin chào! hoctap")
    assert "không bao giờ hỏi số căn cước" in greeting
    assert "Đây là hệ thống tự động" in greeting  # as the platforms require
    assert chat.titles() == ["Tôi đồng ý", "Tôi không đồng ý", "🌐 Tiếng Việt / English"]
    assert await identity_of(session_factory, hoa) is None  # nothing stored before consent

    [menu] = await chat.tap("Tôi đồng ý")
    assert "✅ Cảm ơn bạn. Đã ghi nhận bạn đồng ý." in menu
    assert MENU in menu
    assert chat.titles()[0] == "📝 Tự đánh giá Công dân học tập"
    stored = await person_of(session_factory, hoa)
    assert (stored.consent_at, stored.display_name) == (NOW, "Hoa")  # her name, looked up
    assert oa.lookups == 1

    [asked] = await chat.tap("📝 Tự đánh giá Công dân học tập")
    assert "Bạn thuộc nhóm nào?" in asked
    assert len(chat.titles()) == 4  # the four groups, within the OA's five buttons
    [first] = await chat.tap("Người dân trong xã, phường")
    assert "Câu 1/10" in first
    assert first.endswith("  6. ⏸ Tạm dừng")  # six choices: the five answers are buttons
    assert chat.titles() == [
        "Thường xuyên, hằng ngày",
        "Khá thường xuyên",
        "Thỉnh thoảng",
        "Hiếm khi",
        "Chưa làm",
    ]
    [second] = await chat.tap("Thường xuyên, hằng ngày")
    assert "Câu 2/10" in second
    [third] = await chat.send("2")  # typing the number works as the button does
    assert "Câu 3/10" in third
    for _number in range(3, 11):
        [asked] = await chat.tap("Thường xuyên, hằng ngày")
    assert "Xem lại câu trả lời trước khi gửi" in asked
    [result] = await chat.tap("✅ Gửi")
    assert result.startswith("Đã gửi. Cảm ơn bạn!")
    assert "98/100 điểm — ✅ đạt tiêu chí — chờ xác nhận" in result  # one answer "Khá"
    person = await person_of(session_factory, hoa)
    found = await answers_of(session_factory, person_id=person.id)
    assert len(found) == 10
    assert found["cs1"] == "thuong-xuyen" and found["cs2"] == "kha"
    assert all(len(m.buttons) <= 5 for m in oa.sent)
    assert oa.refusals() == []


# --------------------------------------------------------------------------- 2. the leader


@dataclass(frozen=True)
class Village:
    households: list[Household]
    leader: OaUser


@pytest.fixture
async def village(oa: FakeZaloOa, session_factory: Sessions) -> Village:
    """Thôn Đông: three households, led by Trần Văn Bình, who follows the commune's OA."""
    user = oa.user("2938475610293847561", "Bình")
    user.last_interaction = NOW.timestamp()
    async with session_factory() as session:
        east = await add_village(session, COMMUNE, "Thôn Đông")
        households = [
            Household(village_id=east.id, code=code, head_name=name, members=members)
            for code, name, members in [
                ("H001", "Nguyễn Văn An", 4),
                ("H002", "Lê Thị Bích <&> 🌾", 3),
                ("H003", "Phạm Văn Cường", 5),
            ]
        ]
        session.add_all(households)
        await session.commit()
    leader = await a_person(session_factory, user, NOW, "Trần Văn Bình")
    async with session_factory() as session:
        await grant(session, leader, LEADER, east.id, NOW)
        # The season's reminders are switched off: they would arrive in the middle.
        assert east.parent_id is not None
        for kind in (
            campaigns.SEASON_OPEN,
            campaigns.NOT_ASSESSED,
            campaigns.REPORT_DEADLINE,
            campaigns.SELFCHECK_INVITE,
        ):
            await campaigns.change(session, east.parent_id, kind, NOW, enabled=False)
        await session.commit()
    return Village(households, user)


async def test_a_leader_assessment_resumes_after_a_restart_at_the_same_question(
    oa: FakeZaloOa, runner: OaRunner, village: Village, session_factory: Sessions
) -> None:
    chat = OaChat(oa, village.leader)
    [menu] = await chat.send("Xin chào")
    assert "  1. 🏠 Các hộ ở Thôn Đông" in menu
    [listed] = await chat.tap("🏠 Các hộ ở Thôn Đông")
    assert "H002 · Lê Thị Bích <&> 🌾" in listed  # a name as typed: plain text, unescaped
    [detail] = await chat.send("3")
    assert detail.startswith("🏠 Hộ H003 · Phạm Văn Cường")
    [question] = await chat.tap("▶ Bắt đầu đánh giá")
    assert "Câu 1/12" in question
    await chat.tap("Có")
    await chat.tap("Có, các cháu đều đi học")
    [before] = await chat.tap("Có")
    assert "Câu 4/12" in before
    assert chat.titles() == ["Có", "Không", "◀ Quay lại", "⏸ Tạm dừng"]
    kept = await answers_of(session_factory, household_id=village.households[2].id)
    assert kept == {"tre-em": "yes", "c1a": "day-du", "c1b": "yes"}

    await runner.stop()  # a deploy, a crash
    await runner.start()

    # The button under the last question still works in the new process.
    [paused] = await chat.tap("⏸ Tạm dừng")
    assert paused.startswith("Đã tạm dừng")
    [listed] = await chat.send("1")
    assert "  3. 📝 H003 · Phạm Văn Cường · đang làm dở (3 câu)" in listed
    await chat.send("3")
    [resumed] = await chat.tap("▶ Làm tiếp")
    assert resumed == before  # the same question, nothing lost
    assert await answers_of(session_factory, household_id=village.households[2].id) == kept
    assert oa.refusals() == []


# --------------------------------------------------------------------------- 3. repeats


async def test_an_event_delivered_twice_is_applied_once_and_receipts_are_left(
    oa: FakeZaloOa, runner: OaRunner, session_factory: Sessions
) -> None:
    chat = OaChat(oa, oa.user("1122334455667788990", "Lan"))
    await consented(chat)
    await chat.tap("📝 Tự đánh giá Công dân học tập")
    await chat.tap("Người dân trong xã, phường")
    await chat.tap("Khá thường xuyên")
    typed = chat.sent_ids[-1]
    person = await person_of(session_factory, chat.user)
    assert await answers_of(session_factory, person_id=person.id) == {"cs1": "kha"}
    shown = chat.transcript()

    oa.redeliver(typed)  # Zalo did not see the 200 in time and sends it again
    oa.receipt(chat.user, chat.last())  # "seen": nobody's message, nothing to answer
    await runner.idle()
    [third] = await chat.tap("Khá thường xuyên")
    assert "Câu 3/10" in third
    assert chat.transcript() == [*shown, third]
    assert await answers_of(session_factory, person_id=person.id) == {"cs1": "kha", "cs2": "kha"}
    assert [d.status for d in oa.deliveries if d.event_id == typed] == [200, 200]
    async with session_factory() as session:
        stored = await session.scalar(
            select(func.count()).select_from(InboxUpdate).where(InboxUpdate.channel == "zalo-oa")
        )
    assert stored == len(chat.sent_ids)  # neither the copy nor the receipt was stored
    assert oa.refusals() == []


# --------------------------------------------------------------------------- 4. tokens


async def test_a_token_expiring_mid_conversation_is_refreshed_once_by_two_workers(
    oa: FakeZaloOa,
    clock: Clock,
    database_url: str,
    session_factory: Sessions,
) -> None:
    await authorise(oa, session_factory, clock)
    first = OaRunner(oa, settings_for(oa, database_url), clock)
    second = OaRunner(oa, settings_for(oa, database_url), clock)
    await first.start()
    await second.start()
    try:
        lan, minh = (
            OaChat(oa, oa.user("5550001112223334445")),
            OaChat(oa, oa.user("5550009998887776665")),
        )
        await consented(lan)
        await consented(minh)
        assert {d.url for d in oa.deliveries} == {first.url, second.url}  # both workers serve

        clock.advance(hours=24, minutes=30)  # the access token has 30 minutes left
        lan.user.last_interaction = minh.user.last_interaction = clock.seconds()
        oa.refresh_delay = 0.3  # both workers need a token while the refresh is on its way
        mark = len(oa.sent)
        oa.send_text(lan.user, "/help")
        oa.send_text(minh.user, "/help")
        await oa.wait_until(lambda: len(oa.sent) >= mark + 2, describe="both answers")
        assert oa.refreshes == 1
        assert first.channel is not None and second.channel is not None
        assert first.channel.keeper.refreshes + second.channel.keeper.refreshes == 1

        # Zalo ends the new token early: each worker meets -216 once, one refreshes.
        oa.expire_access_tokens()
        with oa.expect_refusal("message/cs", -216):
            mark = len(oa.sent)
            oa.send_text(lan.user, "/help")
            oa.send_text(minh.user, "/help")
            await oa.wait_until(lambda: len(oa.sent) >= mark + 2, describe="both answers")
        assert oa.refreshes == 2
        assert [c.status for c in oa.calls_to("access_token")] == [200, 200]
        async with session_factory() as session:
            row = await session.get(ChannelToken, "zalo-oa")
            assert row is not None and row.dead_at is None
            assert row.access_token not in {
                c.result.get("access_token") for c in oa.calls_to("access_token") if c.result
            }  # encrypted
    finally:
        await first.stop()
        await second.stop()


async def test_a_dead_refresh_token_alerts_the_admin_and_authorize_repairs_it(
    oa: FakeZaloOa,
    clock: Clock,
    settings: Settings,
    session_factory: Sessions,
    capsys: pytest.CaptureFixture[str],
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    await authorise(oa, session_factory, clock)
    admin_user = oa.user("7770001112223334445", "Quản trị")
    admin_user.last_interaction = NOW.timestamp()
    admin = await a_person(session_factory, admin_user, NOW, "Quản trị")
    async with session_factory() as session:
        await grant(session, admin, "admin", None, NOW)
        await session.commit()
    running = OaRunner(oa, settings, clock)
    await running.start()
    chat = OaChat(oa, oa.user("8880001112223334445", "Tâm"))
    try:
        await chat.follow()
        oa.kill_refresh_tokens()  # the app's secret was reset on developers.zalo.me
        oa.expire_access_tokens()
        with oa.expect_refusal("message/cs", -216), oa.expect_refusal("access_token", -14014):
            mark = len(oa.calls)
            oa.send_text(chat.user, "1")  # "Tôi đồng ý": applied, its answer kept
            await oa.wait_until(
                lambda: any(c.method == "access_token" and c.status for c in oa.calls[mark:])
            )
            await running.idle()
        assert "authorize CODE" in caplog_info.text
        assert (await person_of(session_factory, chat.user)).consent_at == NOW
        async with session_factory() as session:
            alert = await session.scalar(
                select(Reminder).where(Reminder.person_id == admin, Reminder.kind == "admin_alert")
            )
            assert alert is not None and alert.done_at is None  # waits for a working channel
            assert (await session.get(ChannelToken, "zalo-oa")).dead_at == NOW  # type: ignore[union-attr]
    finally:
        await running.stop()

    # The administrator repairs it: the link, the OA's page, the code, one command.
    capsys.readouterr()
    assert await zalo_oa.run_action(argparse.Namespace(action="link"), settings) == 0
    code = oa.grant(capsys.readouterr().out.strip())
    assert (
        await zalo_oa.run_action(argparse.Namespace(action="authorize", code=code), settings) == 0
    )
    assert capsys.readouterr().out.startswith("Đã cấp quyền. Bot tự làm mới token đến ")
    assert await zalo_oa.run_action(argparse.Namespace(action="status"), settings) == 0

    async with session_factory() as session:  # repaired: the alert still waiting is moot
        withdrawn = await session.get(Reminder, alert.id)
        assert withdrawn is not None and withdrawn.outcome == "skipped"

    await running.start()  # the kept answer goes
    try:
        await oa.wait_until(lambda: oa.messages_to(chat.user)[1:], describe="the kept answer")
        assert MENU in chat.last().text
        await running.idle()
        assert oa.messages_to(admin_user) == []  # no stale "cannot send" after the repair
    finally:
        await running.stop()


# --------------------------------------------------------------------------- 5. windows


async def test_a_reminder_for_someone_silent_over_a_week_waits_until_she_writes(
    oa: FakeZaloOa, clock: Clock, settings: Settings, session_factory: Sessions
) -> None:
    await authorise(oa, session_factory, clock)
    silent, zalo_says = oa.user("4440001112223334445", "Thu"), oa.user("4440009998887776665")
    nine_days_ago = NOW - dt.timedelta(days=9)
    silent.last_interaction = zalo_says.last_interaction = nine_days_ago.timestamp()
    people = [
        await a_person(session_factory, silent, nine_days_ago),
        # hoctap thinks she wrote two days ago; Zalo says otherwise (-230): she waits too
        await a_person(session_factory, zalo_says, NOW - dt.timedelta(days=2)),
    ]
    assert await broadcast_to(session_factory, people, "Họp tổ") == 2
    async with session_factory() as session:
        now, later = await reminders.reach(session, people, NOW)
        assert (now, later) == (1, 1)  # what the officer's preview says
        await session.commit()

    running = OaRunner(oa, settings, clock)
    with oa.expect_refusal("message/cs", -230):
        await running.start()
        try:
            await oa.wait_until(lambda: oa.refusals(), describe="Zalo's -230")
            await running.idle()
            assert oa.sent == []  # the silent one was not even tried
            rows = await reminder_rows(session_factory)
            assert [(r.done_at, r.outcome) for r in rows] == [(None, None), (None, None)]

            clock.advance(minutes=5)
            for user in (silent, zalo_says):
                chat = OaChat(oa, user)
                await chat.send("Chào xã", messages=2)  # the answer, then what waited
                assert chat.last().text.endswith("Họp tổ")
        finally:
            await running.stop()
    assert [r.outcome for r in await reminder_rows(session_factory)] == ["sent", "sent"]


# --------------------------------------------------------------------------- 6. the quota


async def test_the_quota_running_out_mid_broadcast_holds_the_rest_until_next_month(
    oa: FakeZaloOa, clock: Clock, settings: Settings, session_factory: Sessions
) -> None:
    await authorise(oa, session_factory, clock)
    users = [oa.user(f"33300011122233344{n:02d}", f"Người {n}") for n in range(6)]
    people = []
    for user in users:
        user.last_interaction = (NOW - dt.timedelta(hours=2)).timestamp()
        people.append(await a_person(session_factory, user, NOW - dt.timedelta(hours=2)))
    assert await broadcast_to(session_factory, people, "Tin của xã") == 6
    oa.quota, oa.used[oa.month()] = 100, 97  # three messages left this month

    running = OaRunner(oa, settings, clock)
    with oa.expect_refusal("message/cs", -211):
        await running.start()
        try:
            await oa.wait_until(lambda: oa.refusals(), describe="Zalo's -211")
            await running.idle()
            await asyncio.sleep(0.3)  # nothing more is tried this month
            assert len(oa.sent) == 3
            refused = len(oa.refusals())  # the sends already on their way when it ran out
            assert {c.status for c in oa.refusals()} == {-211}
        finally:
            await running.stop()
        rows = await reminder_rows(session_factory)
        assert [r.outcome for r in rows].count("sent") == 3
        assert [r.done_at for r in rows].count(None) == 3  # the rest wait, not dropped

        await running.start()  # a restart this month does not try again
        await asyncio.sleep(0.3)
        await running.stop()
        assert len(oa.refusals()) == refused

    clock.now = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 1 December, 9:00 in Vietnam
    await running.start()
    try:
        await oa.wait_until(lambda: len(oa.sent) >= 6, describe="the rest of the broadcast")
    finally:
        await running.stop()
    assert sorted(m.user_id for m in oa.sent) == sorted(u.id for u in users)  # each once
    assert [r.outcome for r in await reminder_rows(session_factory)] == ["sent"] * 6


async def test_a_raised_package_is_resumed_with_one_command_before_the_month_ends(
    oa: FakeZaloOa,
    clock: Clock,
    settings: Settings,
    session_factory: Sessions,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await authorise(oa, session_factory, clock)
    users = [oa.user(f"34400011122233344{n:02d}", f"Người {n}") for n in range(3)]
    people = []
    for user in users:
        user.last_interaction = clock.seconds()
        people.append(await a_person(session_factory, user, NOW))
    assert await broadcast_to(session_factory, people, "Tin của xã") == 3
    oa.quota, oa.used[oa.month()] = 100, 100  # used up before the broadcast
    running = OaRunner(oa, settings, clock)
    with oa.expect_refusal("message/cs", -211):
        await running.start()
        await oa.wait_until(lambda: oa.refusals(), describe="Zalo's -211")
        await running.stop()
    assert oa.sent == []

    oa.quota = 1_000  # the commune raised its OA package
    assert await zalo_oa.run_action(argparse.Namespace(action="resume"), settings) == 0
    assert capsys.readouterr().out.startswith("Nhắc việc và thông báo được gửi lại từ bây giờ")
    await running.start()  # the same month: nothing waits for the 1st any more
    try:
        await oa.wait_until(lambda: len(oa.sent) == 3, describe="the broadcast")
    finally:
        await running.stop()
    assert await zalo_oa.run_action(argparse.Namespace(action="resume"), settings) == 0
    assert capsys.readouterr().out.startswith("Không có gì bị tạm dừng")


# --------------------------------------------------------------------------- 7. signatures


async def test_a_forged_or_stale_signature_is_refused_and_logged_without_its_body(
    oa: FakeZaloOa,
    runner: OaRunner,
    clock: Clock,
    session_factory: Sessions,
    caplog_info: pytest.LogCaptureFixture,
) -> None:
    user = oa.user("9990001112223334445", "Hùng")
    written = oa.send_text(user, "Mật khẩu bí mật 123", deliver=False)
    event, _at = oa.events[written]

    assert await oa.push(written, mac=None) == 403
    assert await oa.push(written, mac="0" * 64) == 403
    original = json.dumps(event, ensure_ascii=False).encode()
    mac = signature(APP_ID, original, str(event["timestamp"]), WEBHOOK_KEY)
    forged = json_body(event, text="Tôi đồng ý")  # the body changed, the signature not
    assert await oa.push(written, body=forged, mac=mac) == 403
    clock.advance(days=8)  # a captured event replayed after the inbox forgot its copy
    assert await oa.push(written) == 403
    clock.advance(days=-8)
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(InboxUpdate)) == 0
    assert oa.messages_to(user) == []
    assert "Mật khẩu" not in caplog_info.text
    assert "webhook call refused" in caplog_info.text

    assert await oa.push(written) == 200
    await oa.wait_until(lambda: oa.messages_to(user), describe="the greeting")


def json_body(event: dict[str, object], text: str) -> bytes:
    changed = dict(event)
    changed["message"] = {**event["message"], "text": text}  # type: ignore[dict-item]
    return json.dumps(changed, ensure_ascii=False).encode()


# --------------------------------------------------------------------------- 8. unfollow


async def test_an_unfollow_marks_her_unreachable_keeps_her_data_and_erasure_still_works(
    oa: FakeZaloOa, runner: OaRunner, session_factory: Sessions
) -> None:
    chat = OaChat(oa, oa.user("6660001112223334445", "Mai"))
    await consented(chat)
    await chat.tap("📝 Tự đánh giá Công dân học tập")
    await chat.tap("Người dân trong xã, phường")
    await chat.tap("Thỉnh thoảng")
    person = await person_of(session_factory, chat.user)

    sent = len(oa.sent)
    oa.unfollow(chat.user)
    await runner.idle()
    assert len(oa.sent) == sent  # nothing is sent to someone who left
    identity = await identity_of(session_factory, chat.user)
    assert identity is not None and identity.blocked_at == NOW
    assert await answers_of(session_factory, person_id=person.id) == {"cs1": "thinh-thoang"}

    [back] = await chat.follow()
    assert back.startswith("Chào mừng Mai quay lại!\n\nBạn muốn làm gì?")  # her Zalo name
    identity = await identity_of(session_factory, chat.user)
    assert identity is not None and identity.blocked_at is None

    # Erasure works as on every channel.
    await chat.send("/mydata")
    await chat.tap("🗑 Xóa dữ liệu của tôi")
    [erased] = await chat.tap("Có, xóa hết")
    assert erased.startswith("Xong: dữ liệu của bạn đã được xóa.")
    async with session_factory() as session:
        gone = await session.get(Person, person.id)
        assert gone is not None and gone.erased_at == NOW
    assert oa.refusals() == []


# --------------------------------------------------------------------------- 9. the report


async def test_an_officer_gets_the_report_with_its_chart_as_an_uploaded_image(
    oa: FakeZaloOa, runner: OaRunner, village: Village, session_factory: Sessions
) -> None:
    user = oa.user("1010001112223334445", "Cán bộ Hoa")
    user.last_interaction = NOW.timestamp()
    officer = await a_person(session_factory, user, NOW, "Cán bộ Hoa")
    async with session_factory() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert commune is not None
        await grant(session, officer, "officer", commune.id, NOW)
        await add_village(session, COMMUNE, "Thôn Tây")  # two rows: the report has a chart
        await session.commit()
    chat = OaChat(oa, user)
    await chat.send("Xin chào")
    report, chart = await chat.tap("📊 Báo cáo", messages=2)
    assert report.startswith("📊 Phường Hoàn Kiếm, năm 2026\n🏠 Gia đình học tập")
    assert "⚠️ Thôn Đông: 0/3 (0,0%)" in report
    # The spreadsheet is named (an OA sends no files), then the chart's caption, then the chart.
    assert report.endswith("📎 bao-cao-00070-2026.xlsx\n\nPhường Hoàn Kiếm, năm 2026")
    image = chat.last().image
    assert chart == "" and image is not None and image.startswith(b"\x89PNG")
    assert [c.status for c in oa.calls_to("upload/image")] == [200]
    assert oa.refusals() == []


async def test_a_message_refused_for_its_buttons_goes_again_as_numbered_text(
    oa: FakeZaloOa, runner: OaRunner
) -> None:
    oa.refuse_buttons = True  # the template is the least confirmed part of the API
    chat = OaChat(oa, oa.user("1212001112223334445", "Thảo"))
    with oa.expect_refusal("message/cs", -201, "template"):
        [greeting] = await chat.follow()
        assert greeting.endswith(
            "  1. Tôi đồng ý\n  2. Tôi không đồng ý\n  3. 🌐 Tiếng Việt / English"
        )
        assert chat.last().buttons == ()
        [menu] = await chat.send("1")
    assert MENU in menu


# --------------------------------------------------------------------------- 11. half sent


async def test_an_answer_kept_half_sent_goes_on_from_where_it_stopped(
    oa: FakeZaloOa, clock: Clock, settings: Settings, session_factory: Sessions
) -> None:
    await authorise(oa, session_factory, clock)
    user = oa.user("1313001112223334445", "Nga")
    user.last_interaction = clock.seconds()
    long = "\n".join(f"Dòng {n}: " + "chữ " * 40 for n in range(20))  # over 2,000: two parts
    out, incoming = Outbound([Reply(data(long))]), Incoming(42, user.id, None)
    async with open_services(settings) as services:
        services = replace(services, clock=clock)
        client = OaClient(APP_ID, SECRET_KEY, oa.url, oa.url, trust_env=False)
        channel = ZaloOaChannel(settings, zalo_oa.keeper_for(settings, services), client)
        try:
            oa.fail_after(1, 3)  # the first part goes, the second meets Zalo failing thrice
            assert await channel.show(incoming, out, True) == AGAIN  # kept, to go again
            assert len(oa.messages_to(user)) == 1
            assert await channel.show(incoming, out, True) == SHOWN  # the sweep's try
        finally:
            await channel.close()
    first, second = (m.text for m in oa.messages_to(user))  # each part once, in order
    assert first.startswith("Dòng 0: ") and second.startswith("Dòng 11: ")
    assert "Dòng 19: " in second
    assert [c.status for c in oa.calls_to("message/cs")] == [200, 503, 503, 503, 200]
