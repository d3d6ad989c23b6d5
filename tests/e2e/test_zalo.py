"""The Zalo channel end to end: the real runner, by polling and by webhook, against a local fake
Zalo Bot API, on a test database.

A citizen consents and checks herself to her result; a leader's assessment survives a restart
at the same question (the typed number still means the same choice); an event delivered twice
is applied once; a long answer is split at line breaks; a used-up quota is logged once while
inbound messages are still stored and applied. Only Zalo's HTTP and the clock are fake.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import open_services
from bot.channels.zalo.channel import ZaloChannel
from bot.config import Secret, Settings
from bot.runtime.dispatcher import Dispatcher
from bot.runtime.runner import run
from bot.services.people import LEADER, grant
from bot.services.units import add_village
from bot.storage.models import Answer, Assessment, Household, Identity, InboxUpdate, Person
from tests.support.fake_zalo import FakeZaloApi, ZaloChat, ZaloUser, free_port, units

Sessions = async_sessionmaker[AsyncSession]
NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
SECRET = "zalo-webhook-secret-2026"
COMMUNE = "00070"  # Phường Hoàn Kiếm, Hà Nội
LEADER_ID = "8a1f3c5e7b9d2f4a6c8e"
MENU = "Bạn muốn làm gì?"
NOT_UNDERSTOOD = "⚠️ Tôi chưa hiểu ý bạn."


def clock() -> dt.datetime:
    return NOW


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZaloApi]:
    """The fake Zalo Bot API, listening on 127.0.0.1."""
    async with FakeZaloApi() as fake:
        yield fake


@pytest.fixture(params=["polling", "webhook"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def zalo_settings(zalo: FakeZaloApi, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        zalo_token=Secret(zalo.token),
        zalo_base_url=zalo.base_url,
        webhook_listen="127.0.0.1",
        webhook_port=free_port(),
        webhook_secret=Secret(SECRET),
    )


class ZaloRunner:
    """The runner as a task: ``stop()`` ends it as SIGTERM would; ``start()`` runs it anew
    (a new engine on the same database, as a new process would); ``idle()`` waits until it
    has applied everything it stored. ``now`` is its clock (``clock`` unless changed)."""

    def __init__(
        self,
        api: FakeZaloApi,
        settings: Settings,
        mode: str,
        now: Callable[[], dt.datetime] = clock,
    ) -> None:
        self.api, self.settings, self.mode, self.now = api, settings, mode, now
        self.task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()
        self.dispatcher: Dispatcher | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.settings.webhook_port}/zalo/hook"

    async def start(self) -> None:
        """Start and return once it listens for news."""
        self.stopping = asyncio.Event()
        mark = len(self.api.calls)
        self.task = asyncio.create_task(self._run(self.stopping))
        wanted = "getUpdates" if self.mode == "polling" else "setWebhook"

        def listening() -> bool:
            assert self.task is not None
            return self.task.done() or any(
                c.method == wanted and c.status in (None, 200) for c in self.api.calls[mark:]
            )

        await self.api.wait_until(listening, describe=f"the runner's first {wanted}")
        if self.task.done():
            self.task.result()
        if self.mode == "webhook":
            await self.api.wait_until(lambda: self.api.webhook_url == self.url)

    async def _run(self, stopping: asyncio.Event) -> None:
        async with open_services(self.settings) as services:
            services = replace(services, clock=self.now)
            url = None if self.mode == "polling" else self.url
            channel = ZaloChannel(self.settings)
            await run(self.settings, services, channel, stopping, url, self._observe)

    def _observe(self, dispatcher: Dispatcher) -> None:
        self.dispatcher = dispatcher
        dispatcher.listeners.append(self.api.notify)

    async def idle(self) -> None:
        """Wait until every stored event is applied and answered (and, polling, the runner
        waits in getUpdates again)."""

        def waiting() -> bool:
            if self.task is None or self.task.done():
                return True
            listening = self.mode == "webhook" or self.api.polling_idle()
            return listening and self.dispatcher is not None and not self.dispatcher.busy()

        await self.api.wait_until(waiting, describe="the Zalo runner idle")

    async def stop(self) -> None:
        """Ask it to stop and wait until the API client and the engine are closed."""
        if self.task is None:
            return
        self.stopping.set()
        task, self.task = self.task, None
        await task


@pytest.fixture
async def runner(
    zalo: FakeZaloApi, zalo_settings: Settings, mode: str
) -> AsyncIterator[ZaloRunner]:
    running = ZaloRunner(zalo, zalo_settings, mode)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()


@dataclass(frozen=True)
class Village:
    """Thôn Đông: three households, led by Trần Văn Bình on Zalo."""

    households: list[Household]
    leader: ZaloUser


@pytest.fixture
async def village(zalo: FakeZaloApi, session_factory: Sessions, geography: None) -> Village:
    async with session_factory() as session:
        east = await add_village(session, COMMUNE, "Thôn Đông")
        households = [
            Household(village_id=east.id, code=code, head_name=name, members=members)
            for code, name, members in [
                ("H001", "Nguyễn Văn An", 4),
                ("H002", "Lê Thị Bích", 3),
                ("H003", "Phạm Văn Cường", 5),
            ]
        ]
        leader = Person(display_name="Trần Văn Bình", locale="vi", created_at=NOW)
        session.add_all([*households, leader])
        await session.flush()
        session.add(
            Identity(
                person_id=leader.id,
                channel="zalo",
                external_id=LEADER_ID,
                chat_id=LEADER_ID,
                created_at=NOW,
            )
        )
        # Roles onboarding is another issue: the role is granted directly.
        await grant(session, leader.id, LEADER, east.id, NOW)
        await session.commit()
    return Village(households, zalo.user(LEADER_ID, "Bình"))


# --------------------------------------------------------------------------- helpers


async def stored(sessions: Sessions, user: ZaloUser) -> Person | None:
    """The person stored for a user, if any (nothing is stored before consent)."""
    async with sessions() as session:
        return await session.scalar(
            select(Person)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == "zalo", Identity.external_id == user.id)
        )


async def person_of(sessions: Sessions, user: ZaloUser) -> Person:
    person = await stored(sessions, user)
    assert person is not None
    return person


async def assessments(sessions: Sessions, **where: object) -> list[Assessment]:
    async with sessions() as session:
        return list(await session.scalars(select(Assessment).filter_by(**where)))


async def answers(sessions: Sessions, assessment_id: int) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Answer.question_id, Answer.value).where(Answer.assessment_id == assessment_id)
        )
        return {qid: value for qid, value in rows}


async def inbox_rows(sessions: Sessions) -> list[InboxUpdate]:
    async with sessions() as session:
        query = select(InboxUpdate).where(InboxUpdate.channel == "zalo")
        return list(await session.scalars(query.order_by(InboxUpdate.update_id)))


async def start_self_check(chat: ZaloChat) -> str:
    """Greet, agree (typing 1) and open the self-check as a resident of the commune (typing 1
    for the menu's first item, then 1 for the first group); return its first question."""
    await chat.send("Xin chào")
    await chat.send("1")
    await chat.send("1")
    [first] = await chat.send("1")
    return first


async def send_unanswered(api: FakeZaloApi, chat: ZaloChat, text: str) -> None:
    """Write while sends are refused: return once the bot's answer to it was refused."""
    mark = len(api.calls)
    chat.sent_ids.append(api.send_text(chat.user, text))
    await api.wait_until(
        lambda: any(c.method == "sendMessage" and c.status == 429 for c in api.calls[mark:]),
        describe=f"the refused answer to {text!r}",
    )


# --------------------------------------------------------------------------- 1. the citizen


async def test_a_citizen_consents_and_checks_herself_to_her_result(
    zalo: FakeZaloApi, runner: ZaloRunner, session_factory: Sessions
) -> None:
    hoa = zalo.user("6ede9afa66b88fe6d6a9", "Hoa")
    chat = ZaloChat(zalo, hoa)

    [notice] = await chat.send("Xin chào")
    assert notice.startswith("Xin chào! hoctap")
    assert "không bao giờ hỏi số căn cước" in notice
    assert notice.split("\n")[-4:] == [
        "Bạn có đồng ý không?",
        "  1. Tôi đồng ý",
        "  2. Tôi không đồng ý",
        "  3. 🌐 Tiếng Việt / English",
    ]
    assert "<b>" not in notice  # Telegram's markup is not shown on Zalo
    assert await stored(session_factory, hoa) is None  # nothing is stored before consent

    [agreed] = await chat.send("1")  # one message for both replies: the quota counts messages
    assert "✅ Cảm ơn bạn. Đã ghi nhận bạn đồng ý." in agreed
    assert agreed.endswith(
        f"{MENU}\n  1. 📝 Tự đánh giá Công dân học tập\n  2. 📊 Kết quả của tôi"
        "\n  3. 🔔 Nhắc việc\n  4. 🌐 Ngôn ngữ\n  5. ❓ Hướng dẫn"
    )
    assert (await person_of(session_factory, hoa)).consent_at == NOW

    [asked] = await chat.send("1")
    assert "Bạn thuộc nhóm nào?" in asked
    assert asked.endswith(
        "  1. Người dân trong xã, phường\n  2. Người lao động\n"
        "  3. Cán bộ, công nhân viên, doanh nhân\n  4. Học sinh, sinh viên, học viên"
    )
    [first] = await chat.send("1")
    assert "Câu 1/10" in first
    assert "\n  1. Thường xuyên, hằng ngày\n" in first
    assert first.endswith("  5. Chưa làm\n  6. ⏸ Tạm dừng")
    [second] = await chat.send("1")
    assert "Câu 2/10" in second
    [third] = await chat.send("thuong xuyen")  # a label typed without diacritics
    assert "Câu 3/10" in third
    [again] = await chat.send("để tôi nghĩ đã")
    assert "Câu 3/10" in again
    assert NOT_UNDERSTOOD in again
    [sticker] = await chat.send_sticker()  # what is expected, and the same question again
    assert "Câu 3/10" in sticker
    assert "Tôi chỉ đọc được chữ gõ và các nút bấm" in sticker
    [unknown] = await chat.send("/khong-co")
    assert "Câu 3/10" in unknown
    assert "Tôi không hiểu lệnh đó." in unknown
    for _number in range(3, 11):
        [asked] = await chat.send("1")
    assert "Xem lại câu trả lời trước khi gửi" in asked
    assert "\n  1. ✅ Gửi\n" in asked

    [result] = await chat.send("1")
    assert result.startswith("Đã gửi. Cảm ơn bạn!")
    assert "100/100 điểm — ✅ đạt tiêu chí — chờ xác nhận" in result
    assert result.endswith("  5. ❓ Hướng dẫn")
    person = await person_of(session_factory, hoa)
    [done] = await assessments(session_factory, person_id=person.id)
    assert (done.state, done.passed, done.score, done.submitted_at) == (
        "submitted",
        True,
        100,
        NOW,
    )
    assert len(await answers(session_factory, done.id)) == 10
    assert zalo.refused() == []


# --------------------------------------------------------------------------- 2. the leader


async def test_a_leader_assessment_resumes_after_a_restart_at_the_same_question(
    zalo: FakeZaloApi, runner: ZaloRunner, village: Village, session_factory: Sessions
) -> None:
    chat = ZaloChat(zalo, village.leader)
    await chat.send("Xin chào")
    [menu] = await chat.send("1")
    assert "  1. 🏠 Các hộ ở Thôn Đông" in menu
    [listed] = await chat.send("1")
    assert "  3. ⚪ H003 · Phạm Văn Cường · chưa đăng ký" in listed
    [detail] = await chat.send("3")
    assert detail.startswith("🏠 Hộ H003 · Phạm Văn Cường")
    assert "  1. ▶ Bắt đầu đánh giá" in detail
    [question] = await chat.send("1")
    assert "Câu 1/12" in question
    await chat.send("1")  # Có: children of school age
    await chat.send("1")  # Có, các cháu đều đi học
    [before] = await chat.send("1")  # Có
    assert "Câu 4/12" in before
    assert before.endswith("  1. Có\n  2. Không\n  3. ◀ Quay lại\n  4. ⏸ Tạm dừng")
    [draft] = await assessments(session_factory, household_id=village.households[2].id)
    kept = await answers(session_factory, draft.id)
    assert kept == {"tre-em": "yes", "c1a": "day-du", "c1b": "yes"}

    await runner.stop()  # a deploy, a crash
    await runner.start()

    # "4" is ⏸ on the last question: the new process knows it from the database (the question
    # itself has two answers, so as plain text it would be asked again).
    [paused] = await chat.send("4")
    assert paused.startswith("Đã tạm dừng")
    assert MENU in paused
    [listed] = await chat.send("1")
    assert "  3. 📝 H003 · Phạm Văn Cường · đang làm dở (3 câu)" in listed
    [detail] = await chat.send("3")
    assert "  1. ▶ Làm tiếp" in detail
    [resumed] = await chat.send("1")
    assert resumed == before  # the same question, nothing lost
    assert await answers(session_factory, draft.id) == kept
    assert zalo.refused() == []


# --------------------------------------------------------------------------- 3. repeats


async def test_the_same_event_delivered_twice_is_applied_once(
    zalo: FakeZaloApi, runner: ZaloRunner, mode: str, session_factory: Sessions
) -> None:
    chat = ZaloChat(zalo, zalo.user("3b5d7f9a1c2e4f6a8b0c", "Lan"))
    await start_self_check(chat)
    [second] = await chat.send("2")
    assert "Câu 2/10" in second
    typed = chat.sent_ids[-1]
    person = await person_of(session_factory, chat.user)
    [draft] = await assessments(session_factory, person_id=person.id)
    assert await answers(session_factory, draft.id) == {"cs1": "kha"}
    shown = chat.transcript()

    zalo.redeliver(typed)
    # Had the copy been applied, "2" would have answered question 2 again and been answered
    # before this message; the next answer is the very next step.
    [third] = await chat.send("2")
    assert "Câu 3/10" in third
    assert chat.transcript() == [*shown, third]
    assert await answers(session_factory, draft.id) == {"cs1": "kha", "cs2": "kha"}
    if mode == "polling":
        assert zalo.handed_out().count(typed) == 2
    else:
        assert [d.status for d in zalo.deliveries if d.message_id == typed] == [200, 200]
    rows = await inbox_rows(session_factory)
    assert len(rows) == len(chat.sent_ids) == 6  # the copy was not stored again
    assert all(row.done_at == NOW for row in rows)
    assert zalo.refused() == []


# --------------------------------------------------------------------------- 4. long answers


async def test_an_answer_over_2000_characters_is_split_at_line_breaks(
    zalo: FakeZaloApi, runner: ZaloRunner
) -> None:
    chat = ZaloChat(zalo, zalo.user("9c8b7a6f5e4d3c2b1a0f", "Tư"))
    await start_self_check(chat)
    for _number in range(10):
        [asked] = await chat.send("5")  # Chưa làm: every item gets its advice
    assert "Xem lại câu trả lời trước khi gửi" in asked

    parts = await chat.send("1", messages=2)
    assert [units(part) <= 2000 for part in parts] == [True, True]
    assert units("\n".join(parts)) > 2000
    first_lines, second_lines = parts[0].split("\n"), parts[1].split("\n")
    assert first_lines[0] == "Đã gửi. Cảm ơn bạn!"
    assert "0/100 điểm — chưa đạt" in parts[0]
    # Cut between two whole lines: a finished sentence, then a new item or its advice.
    assert first_lines[-1].endswith(".")
    assert second_lines[0].startswith(("⚠️ ", "   👉 "))
    assert second_lines[-6:] == [
        MENU,
        "  1. 📝 Tự đánh giá Công dân học tập",
        "  2. 📊 Kết quả của tôi",
        "  3. 🔔 Nhắc việc",
        "  4. 🌐 Ngôn ngữ",
        "  5. ❓ Hướng dẫn",
    ]
    advice = "   👉 Tham gia tổ hợp tác hoặc hội nông dân; làm được việc hay thì kể lại cho bà con"
    assert any(line.startswith(advice) for line in first_lines + second_lines)
    assert zalo.refused() == []


# --------------------------------------------------------------------------- 5. the quota


async def test_a_used_up_quota_is_logged_once_and_inbound_is_still_applied(
    zalo: FakeZaloApi,
    runner: ZaloRunner,
    session_factory: Sessions,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.channels.zalo")
    chat = ZaloChat(zalo, zalo.user("0a1b2c3d4e5f6a7b8c9d", "Mai"))
    await start_self_check(chat)
    zalo.exhaust_quota()

    await send_unanswered(zalo, chat, "1")
    await send_unanswered(zalo, chat, "2")
    await send_unanswered(zalo, chat, "3")

    person = await person_of(session_factory, chat.user)
    [draft] = await assessments(session_factory, person_id=person.id)
    assert await answers(session_factory, draft.id) == {
        "cs1": "thuong-xuyen",
        "cs2": "kha",
        "cs3": "thinh-thoang",
    }
    assert all(row.done_at == NOW for row in await inbox_rows(session_factory))
    sends = [c for c in zalo.calls if c.method == "sendMessage" and c.status == 429]
    assert len(sends) == 3  # one try per answer: nothing is retried in a loop
    quota = [r for r in caplog.records if "quota" in r.getMessage()]
    assert [r.levelno for r in quota] == [logging.ERROR]  # said once, clearly
    assert "messages are still received, stored and applied" in quota[0].getMessage()

    zalo.restore_quota()  # a new month
    [asked] = await chat.send("1")
    assert "Câu 5/10" in asked  # where she stands, though she saw none of the last answers
    [asked] = await chat.send("1")  # by now the first answer after the quota is logged
    assert "Câu 6/10" in asked
    assert "Zalo accepts the bot's messages again" in caplog.text
    assert zalo.refused() == sends


# --------------------------------------------------------------------------- 6. the webhook


@pytest.mark.parametrize("mode", ["webhook"])
async def test_a_webhook_call_without_the_secret_is_refused_and_not_stored(
    zalo: FakeZaloApi, runner: ZaloRunner, session_factory: Sessions
) -> None:
    chat = ZaloChat(zalo, zalo.user("5e6f7a8b9c0d1e2f3a4b", "Hùng"))
    written = zalo.send_text(chat.user, "Xin chào", deliver=False)

    assert await zalo.push(written, secret=None) == 403
    assert await zalo.push(written, secret="not-the-secret") == 403
    assert await inbox_rows(session_factory) == []
    assert zalo.messages_to(chat.user) == []

    assert await zalo.push(written) == 200
    await zalo.wait_until(lambda: zalo.messages_to(chat.user), describe="the consent notice")
    assert chat.last().endswith("  3. 🌐 Tiếng Việt / English")
