"""The journeys of issue 4, driven as people would through the real Telegram runner.

A citizen consents and checks themselves against Công dân học tập; a village leader assesses three
households (one across a restart); repeats, old buttons, double taps and bad input are answered
politely and applied at most once. Only Telegram's HTTP (a local fake Bot API) and the clock are
fake; every assertion reads the chat as the person sees it, or the database.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import _, use_locale
from bot.storage.models import (
    Answer,
    Assessment,
    ChatState,
    Identity,
    InboxUpdate,
    Person,
    Registration,
)
from tests.support.chat import Chat
from tests.support.fake_telegram import ANSWER_METHODS, Call, FakeBotApi, FakeMessage, FakeUser

from .conftest import NOW, RunningBot, World

Sessions = async_sessionmaker[AsyncSession]
pytestmark = pytest.mark.usefixtures("bot")

CDHT = "cong-dan-hoc-tap"
RESIDENT = "Người dân trong xã, phường"  # the first group of Công dân học tập
GDHT = "gia-dinh-hoc-tap"
DAILY, OFTEN, RARELY, NEVER = "Thường xuyên, hằng ngày", "Khá thường xuyên", "Hiếm khi", "Chưa làm"
YES, NO = "Có", "Không"
ALL_ADULTS, NO_ADULT = "Tất cả người lớn", "Chưa có ai"  # Learning citizens among the adults
NOT_UNDERSTOOD = "⚠️ Tôi chưa hiểu ý bạn. Bạn hãy bấm một nút, hoặc gõ một số từ 1 đến 5."
with use_locale("vi"):  # a new message: the Vietnamese catalog may not have caught up yet
    STALE = _("That question is already answered. Please answer the latest question.")
NOT_LEADER = "Bạn không phải chi hội trưởng của thôn này."


# --------------------------------------------------------------------------- helpers


def labels(message: FakeMessage) -> list[str]:
    """The button labels of a message, in reading order."""
    return [label for row in message.buttons for label, _data in row]


def answering_calls(api: FakeBotApi, chat_id: int, since: int = 0) -> list[str]:
    """The calls since `since` that put something in front of the person."""
    return [
        c.method for c in api.calls[since:] if c.method in ANSWER_METHODS and c.chat_id == chat_id
    ]


async def press(api: FakeBotApi, bot: RunningBot, user: FakeUser, data: str) -> str:
    """Press a button with any callback data (a forged or very old one) on the newest message;
    return the text of the toast it was answered with, once the bot is idle again."""
    message = api.messages_to(user.id)[-1]
    update_id = api.press(user, message, data)
    query_id = api.updates[update_id]["callback_query"]["id"]
    await api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
        )
    )
    await bot.idle()
    return str(api.callback_answers[query_id].get("text") or "")


def assert_clean(api: FakeBotApi) -> None:
    """No call the bot made was refused, and every button it showed fits Telegram's 64 bytes."""
    refused = [str(c) for c in api.calls if c.status is not None and c.status >= 400]
    assert refused == []
    shown = [
        button.get("callback_data", "")
        for user_id in {c.chat_id for c in api.calls if c.chat_id is not None}
        for message in api.messages_to(user_id)
        for markup in [message.reply_markup, *(m for _text, m in message.history)]
        for row in (markup or {}).get("inline_keyboard", [])
        for button in row
    ]
    assert shown, "the journey showed no buttons at all"
    too_long = [data for data in shown if not 1 <= len(data.encode()) <= 64]
    assert too_long == []


async def stored(sessions: Sessions, user: FakeUser) -> Person | None:
    """The person stored for a user, if any (nothing is stored before consent)."""
    async with sessions() as session:
        return await session.scalar(
            select(Person)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == "telegram", Identity.external_id == str(user.id))
        )


async def person_of(sessions: Sessions, user: FakeUser) -> Person:
    person = await stored(sessions, user)
    assert person is not None
    return person


async def assessments(sessions: Sessions, **where: object) -> list[Assessment]:
    async with sessions() as session:
        query = select(Assessment).filter_by(**where).order_by(Assessment.id)
        return list(await session.scalars(query))


async def answers(sessions: Sessions, assessment_id: int) -> dict[str, str]:
    async with sessions() as session:
        rows = await session.execute(
            select(Answer.question_id, Answer.value).where(Answer.assessment_id == assessment_id)
        )
        return {qid: value for qid, value in rows}


async def chat_state(sessions: Sessions, person_id: int) -> tuple[str, str | None]:
    async with sessions() as session:
        row = await session.get(ChatState, person_id)
        assert row is not None
        return row.flow, row.data


async def consent(chat: Chat) -> FakeMessage:
    """/start and agree; return the menu that follows."""
    await chat.send("/start")
    await chat.click("Tôi đồng ý", replies=2)
    return chat.last_message()


async def answer_all(chat: Chat, picks: Sequence[str]) -> None:
    """Tap one label per question, on the message the questions are shown in."""
    for label in picks:
        await chat.click(label)


# --------------------------------------------------------------------------- 1. the citizen


async def test_citizen_consents_checks_herself_twice_and_reads_her_results(
    api: FakeBotApi, bot: RunningBot, session_factory: Sessions
) -> None:
    hoa = api.user(7001, "Hoa", "vi", last_name="Nguyễn Thị")
    chat = Chat(api, hoa)

    await chat.send("/start")
    notice = chat.last_message()
    assert notice.content.startswith("Xin chào! hoctap")
    assert "<b>Dữ liệu của bạn</b>" in notice.content
    assert "không bao giờ hỏi số căn cước" in notice.content
    assert notice.content.endswith("Bạn có đồng ý không?")
    # Two look-alike answers: nothing is ticked in advance.
    assert labels(notice) == ["Tôi đồng ý", "Tôi không đồng ý", "🌐 Tiếng Việt / English"]
    assert await stored(session_factory, hoa) is None  # nothing is stored before consent

    await chat.click("Tôi đồng ý", replies=2)
    agreed = api.message(hoa.id, notice.message_id)
    assert "Dữ liệu của bạn" in agreed.content  # the notice stays readable
    assert agreed.content.endswith("✅ Cảm ơn bạn. Đã ghi nhận bạn đồng ý.")
    assert agreed.buttons == []
    person = await person_of(session_factory, hoa)
    assert (person.consent_at, person.consent_purpose) == (NOW, "hoctap-assessments")
    menu = chat.last_message()
    assert menu.content == "Bạn muốn làm gì?"
    assert "🏠" not in " ".join(labels(menu))  # a citizen has no households

    await chat.click("📝 Tự đánh giá Công dân học tập")
    asked = chat.last_message()
    assert asked.message_id == menu.message_id  # the menu turned into the group question
    assert "Bạn thuộc nhóm nào?" in asked.content
    assert labels(asked) == [RESIDENT, "Người lao động", "Cán bộ, công nhân viên, doanh nhân",
                             "Học sinh, sinh viên, học viên"]  # fmt: skip
    await chat.click(RESIDENT)  # one tap, kept: the next self-check does not ask
    first = chat.last_message()
    assert first.message_id == menu.message_id  # and the question into the first question
    assert "Câu 1/10 ░░░░░░░░░░" in first.content
    assert "<b>Năng lực 1: Tự học và học suốt đời</b>" in first.content
    assert "Bạn có đọc sách báo" in first.content
    assert "💡 Ví dụ:" in first.content
    assert labels(first) == [DAILY, OFTEN, "Thỉnh thoảng", RARELY, NEVER, "⏸ Tạm dừng"]

    await chat.click(DAILY)
    assert chat.last_message().message_id == first.message_id  # edited in place
    assert "Câu 2/10 ▓░░░░░░░░░" in chat.last_reply()
    assert "◀ Quay lại" in labels(chat.last_message())

    # Typed answers: the start of a label, with or without diacritics, and a number.
    await chat.send("thường xuyên")
    assert "Câu 3/10" in chat.last_reply()
    await chat.send("thuong xuyen")
    asked = chat.last_reply()
    assert "Câu 4/10" in asked
    assert "Bạn có nhắc nhở, giúp đỡ con cháu" in asked
    await chat.send("để tôi nghĩ đã")
    again = chat.last_reply()
    assert again == asked + "\n" + NOT_UNDERSTOOD  # the same question, with the hint
    [draft] = await assessments(session_factory, person_id=person.id, form_key=CDHT)
    assert await answers(session_factory, draft.id) == dict.fromkeys(
        ["cs1", "cs2", "cs3"], "thuong-xuyen"
    )
    await chat.send("1")
    assert "Câu 5/10" in chat.last_reply()

    await answer_all(chat, [DAILY, DAILY, OFTEN, DAILY, DAILY, DAILY])
    review = chat.last_reply()
    assert "<b>Xem lại câu trả lời trước khi gửi</b>" in review
    assert "7. Ghi chép, tính toán thu chi: <i>Khá thường xuyên</i>" in review
    assert labels(chat.last_message())[0] == "✅ Gửi"

    await chat.click("✅ Gửi", replies=3)
    result, nudge, _menu = chat.replies()[-3:]
    assert result.startswith("Đã gửi. Cảm ơn bạn!")
    assert "98/100 điểm — ✅ đạt tiêu chí — chờ xác nhận" in result
    assert "• Năng lực 2: Dùng công cụ để học và làm việc: 38/40" in result
    assert "Cần cố gắng thêm" not in result
    assert "QĐ 324/QĐ-KHVN ngày 25/10/2023" in result  # her own estimate, not the title
    assert "chưa được tính cho thôn nào" in nudge  # she has not said where she lives
    assert chat.last_reply() == "Bạn muốn làm gì?"
    [done] = await assessments(session_factory, person_id=person.id, form_key=CDHT)
    assert (done.state, done.passed, done.score, done.submitted_at) == (
        "submitted",
        True,
        98,
        NOW,
    )

    # The second check: 90 points, but one indicator at 0 keeps her from the title.
    await chat.send("/selfcheck")
    await answer_all(chat, [DAILY] * 5 + [NEVER] + [DAILY] * 4)
    await chat.click("✅ Gửi", replies=3)
    result = chat.replies()[-3]
    assert "90/100 điểm — chưa đạt tiêu chí" in result
    assert "<b>Cần cố gắng thêm</b>" in result
    assert "⚠️ Dùng ngoại ngữ khi cần: 0 điểm; cần ít nhất 5 điểm." in result
    assert "👉 Mỗi ngày học vài từ tiếng Anh" in result
    second = (await assessments(session_factory, person_id=person.id, form_key=CDHT))[-1]
    assert (second.state, second.passed, second.score) == ("submitted", False, 90)

    await chat.click("📊 Kết quả của tôi")
    history = chat.last_reply().split("\n")
    assert history[0] == "<b>Kết quả của tôi</b>"
    assert len(history) == 4
    assert history[1].endswith(": 90 điểm, chưa đạt tiêu chí")  # newest first
    assert history[2].endswith(": 98 điểm, ✅ đạt tiêu chí — chờ xác nhận")  # not the title
    assert history[3] == "Nhóm của bạn: Người dân trong xã, phường"
    assert labels(chat.last_message()) == ["👥 Đổi nhóm"]

    await chat.send("/language")
    assert chat.last_reply() == "Chọn ngôn ngữ:"
    await chat.click("🇬🇧 English", replies=2)
    assert chat.replies()[-2] == "Language: English"
    assert chat.last_reply() == "What would you like to do?"
    assert "📊 My results" in labels(chat.last_message())
    assert (await person_of(session_factory, hoa)).locale == "en"
    await chat.click("📊 My results")
    assert chat.last_reply().startswith("<b>My results</b>")
    assert ": 98 points, ✅ meets the criteria — waiting for confirmation" in chat.last_reply()
    assert_clean(api)


# --------------------------------------------------------------------------- 2. the leader


async def test_leader_assesses_three_households_one_across_a_restart(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    chat = Chat(api, village.leader_user)
    menu = await consent(chat)
    assert labels(menu)[:2] == ["🏠 Các hộ ở Thôn Đông", "📈 Tổng hợp thôn"]

    await chat.click("🏠 Các hộ ở Thôn Đông")
    assert chat.last_reply() == "<b>Thôn Đông</b>, năm 2026: 3 hộ"
    assert labels(chat.last_message())[:3] == [
        "⚪ H001 · Nguyễn Văn An · chưa đăng ký",
        "⚪ H002 · Lê Thị Bích · chưa đăng ký",
        "⚪ H003 · Phạm Văn Cường · chưa đăng ký",
    ]

    # H001: register, then assess with one step back; everything applies.
    await chat.click("⚪ H001 · Nguyễn Văn An · chưa đăng ký")
    assert chat.last_reply().split("\n") == [
        "🏠 Hộ H001 · Nguyễn Văn An",
        "4 người · chưa khai số người trong độ tuổi lao động",
        "Năm 2026: ⚪ chưa đăng ký",
        "Đăng ký là việc của chính hộ: khi hộ đã đăng ký, bạn bấm Đăng ký.",
    ]
    await chat.click("Đăng ký năm 2026")
    assert chat.last_reply().endswith("Năm 2026: 🔵 đã đăng ký")
    assert "Hủy đăng ký năm 2026" in labels(chat.last_message())
    await chat.click("▶ Bắt đầu đánh giá")
    question = chat.last_reply()
    assert question.startswith("🏠 Hộ H001 · Nguyễn Văn An\nCâu 1/12")
    assert "<b>Tiêu chí 1: Việc học của con em</b>" in question
    assert labels(chat.last_message()) == [YES, NO, "⏸ Tạm dừng"]  # nothing to skip or go back
    await chat.click(YES)
    # A long option: a short button that fits a phone, and its whole text in the question.
    assert "Miễn: cháu ốm đau, khuyết tật" in labels(chat.last_message())
    assert "\n• Miễn: các cháu ốm đau, khuyết tật không đi học được\n" in chat.last_reply()
    assert all(len(label) <= 35 for label in labels(chat.last_message()))
    await chat.click("Có, các cháu đều đi học")
    assert "Câu 3/12" in chat.last_reply()
    await chat.click("◀ Quay lại")
    assert "Câu 2/12" in chat.last_reply()
    assert "Bạn đã trả lời: Có, các cháu đều đi học" in chat.last_reply()
    await chat.click("Có, các cháu đều đi học")
    assert "Câu 3/12" in chat.last_reply()
    await answer_all(chat, [YES, YES, "Có, ai cũng biết chữ", YES, YES, ALL_ADULTS] + [YES] * 4)
    assert "Xem lại câu trả lời trước khi gửi" in chat.last_reply()
    await chat.click("✅ Gửi", replies=2)
    assert (
        "🏠 Hộ H001 · Nguyễn Văn An</b>: 100/100 điểm — ✅ đạt tiêu chí — chờ xã xét công nhận"
        in (chat.replies()[-2])
    )

    # H002: no school-age children (criterion 1 is not asked), adults without the CDHT title.
    await chat.click("🏠 Các hộ ở Thôn Đông")
    await chat.click("⚪ H002 · Lê Thị Bích · chưa đăng ký")
    await chat.click("▶ Bắt đầu đánh giá")  # not registered: that is the household's step
    await chat.click(NO)
    assert "Câu 2/9" in chat.last_reply()
    assert "<b>Tiêu chí 2: Việc học của người lớn</b>" in chat.last_reply()
    await answer_all(chat, ["Có, ai cũng biết chữ", YES, YES, NO_ADULT, YES, YES, YES, YES])
    await chat.click("✅ Gửi", replies=2)
    result = chat.replies()[-2]
    # Criterion 1 is left out of the maximum, so 70 of 70 counts as 100; a must-pass item fails.
    assert "100/100 điểm — chưa đạt" in result
    assert "⚠️ Bắt buộc phải đạt: Người lớn đạt Công dân học tập." in result

    # H003: three answers, then the bot stops (a deploy, a crash) and starts again.
    await chat.click("🏠 Các hộ ở Thôn Đông")
    await chat.click("⚪ H003 · Phạm Văn Cường · chưa đăng ký")
    await chat.click("▶ Bắt đầu đánh giá")
    await answer_all(chat, [YES, "Có, các cháu đều đi học", YES])
    before = chat.last_reply()
    assert "Câu 4/12" in before
    h003 = village.households[2]
    [draft] = await assessments(session_factory, household_id=h003.id)
    kept = await answers(session_factory, draft.id)
    assert kept == {"tre-em": "yes", "c1a": "day-du", "c1b": "yes"}

    await bot.stop()
    await bot.start()

    await chat.send("/households")
    assert "📝 H003 · Phạm Văn Cường · đang làm dở (3 câu)" in labels(chat.last_message())
    await chat.click("📝 H003 · Phạm Văn Cường · đang làm dở (3 câu)")
    await chat.click("▶ Làm tiếp")
    assert chat.last_reply() == before  # the same question, nothing lost
    assert await answers(session_factory, draft.id) == kept
    await answer_all(chat, [YES, "Có, ai cũng biết chữ", YES, YES, ALL_ADULTS] + [YES] * 4)
    await chat.click("✅ Gửi", replies=2)
    assert "100/100 điểm — ✅ đạt tiêu chí — chờ xã xét công nhận" in chat.replies()[-2]

    await chat.click("🏠 Các hộ ở Thôn Đông")
    assert labels(chat.last_message())[:3] == [
        "📨 H001 · Nguyễn Văn An · đã gửi, đủ điểm",
        "📨 H002 · Lê Thị Bích · đã gửi, chưa đủ điểm",
        "📨 H003 · Phạm Văn Cường · đã gửi, đủ điểm",
    ]
    await chat.click("📨 H002 · Lê Thị Bích · đã gửi, chưa đủ điểm")
    assert "▶ Xem kết quả" in labels(chat.last_message())
    await chat.click("▶ Xem kết quả")
    assert "🏠 Hộ H002 · Lê Thị Bích</b>: 100/100 điểm — chưa đạt" in chat.last_reply()
    assert labels(chat.last_message()) == ["◀ Danh sách hộ"]  # not a dead end
    await chat.send("/summary", replies=2)
    assert chat.replies()[-2].split("\n") == [
        "📈 <b>Thôn Đông</b>, năm 2026",
        "Số hộ: 3",
        "Đã đăng ký: 1",  # only H001 registered: assessing never registers
        "Đang làm dở: 0",
        "Đã đánh giá: 3",
        "Đạt tiêu chí: 2 (66,7% số hộ)",
        "🏘 Cộng đồng học tập: chưa đánh giá",  # the village's own title, one tap below
        "",
        f"Người dân tự đánh giá bằng cách nhắn /village {village.village.code} cho bot.",
    ]
    done = await assessments(session_factory, unit_id=village.village.id)
    assert [(a.household_id, a.state, a.passed) for a in done] == [
        (h.id, "submitted", passed)
        for h, passed in zip(village.households, [True, False, True], strict=True)
    ]
    async with session_factory() as session:
        assert (
            await session.scalar(select(func.count()).select_from(Registration)) == 1
        )  # H001 only: assessing never registers
    every_label = [
        button["text"]
        for message in api.messages_to(chat.chat_id)
        for markup in [message.reply_markup, *(m for _text, m in message.history)]
        for row in (markup or {}).get("inline_keyboard", [])
        for button in row
    ]
    assert not [label for label in every_label if "Bỏ qua" in label]  # every question required
    assert_clean(api)


# --------------------------------------------------------------------------- 3. repeats


async def test_a_redelivered_update_is_applied_once(
    api: FakeBotApi, bot: RunningBot, session_factory: Sessions
) -> None:
    lan = api.user(7002, "Lan", "vi")
    chat = Chat(api, lan)
    await consent(chat)
    await chat.click("📝 Tự đánh giá Công dân học tập")
    await chat.click(RESIDENT)
    await chat.click(OFTEN)
    tapped = max(api.acknowledged_ids())
    await chat.send("2")
    typed = max(api.acknowledged_ids())
    person = await person_of(session_factory, lan)
    [draft] = await assessments(session_factory, person_id=person.id)
    stored = await answers(session_factory, draft.id)
    assert stored == {"cs1": "kha", "cs2": "kha"}
    state = await chat_state(session_factory, person.id)
    shown = chat.replies()
    mark = len(api.calls)

    api.redeliver(tapped)
    api.redeliver(typed)
    await bot.idle()

    assert api.delivered_ids().count(tapped) == api.delivered_ids().count(typed) == 2
    assert {c.method for c in api.calls[mark:]} == {"getUpdates"}  # no second reply at all
    assert chat.replies() == shown
    assert await answers(session_factory, draft.id) == stored
    assert await chat_state(session_factory, person.id) == state
    async with session_factory() as session:
        rows = await session.scalars(
            select(InboxUpdate).where(InboxUpdate.update_id.in_([tapped, typed]))
        )
        assert [row.done_at is not None for row in rows] == [True, True]
    assert_clean(api)


# --------------------------------------------------------------------------- 4. old buttons


async def test_old_buttons_and_double_taps_are_answered_and_applied_at_most_once(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    minh = api.user(7003, "Minh", "vi")
    chat = Chat(api, minh)
    await consent(chat)
    await chat.click("📝 Tự đánh giá Công dân học tập")
    await chat.click(RESIDENT)
    message = chat.last_message()
    first_options = [data for row in message.buttons for _label, data in row]
    await chat.click(DAILY)
    question_two = chat.last_reply()
    person = await person_of(session_factory, minh)
    [draft] = await assessments(session_factory, person_id=person.id)

    # A button of the previous question, still on a slow screen.
    mark = len(api.calls)
    await chat.click_on(message, first_options[4], replies=0)  # "Chưa làm" for question 1
    [toast] = [c for c in api.calls[mark:] if c.method == "answerCallbackQuery"]
    assert toast.params["text"] == STALE
    assert answering_calls(api, minh.id, mark) == []
    assert api.message(minh.id, message.message_id).content == question_two
    assert await answers(session_factory, draft.id) == {"cs1": "thuong-xuyen"}

    # A double tap: both taps arrive before the bot answers the first; the second is ignored.
    mark = len(api.calls)
    data = f"a:{draft.id}:cs2:kha"
    first_tap = api.press(minh, message, data)
    second_tap = api.press(minh, message, data)
    await bot.idle()
    queries = {str(api.updates[u]["callback_query"]["id"]) for u in (first_tap, second_tap)}
    assert set(api.callback_answers) >= queries  # both spinners stopped
    assert answering_calls(api, minh.id, mark) == ["editMessageText"]
    assert "Câu 3/10" in api.message(minh.id, message.message_id).content
    assert await answers(session_factory, draft.id) == {"cs1": "thuong-xuyen", "cs2": "kha"}

    # A leader's double tap on "Register" registers once; it does not undo itself.
    leader = Chat(api, village.leader_user)
    await consent(leader)
    await leader.click("🏠 Các hộ ở Thôn Đông")
    await leader.click("⚪ H001 · Nguyễn Văn An · chưa đăng ký")
    card = leader.last_message()
    mark = len(api.calls)
    register = f"h:reg:{village.households[0].id}"
    api.press(village.leader_user, card, register)
    api.press(village.leader_user, card, register)
    await bot.idle()
    toasts = [c.params.get("text") for c in api.calls[mark:] if c.method == "answerCallbackQuery"]
    assert toasts == ["Đã đăng ký năm 2026.", None]
    assert answering_calls(api, village.leader_user.id, mark) == ["editMessageText"]
    assert api.message(village.leader_user.id, card.message_id).content.endswith(
        "Năm 2026: 🔵 đã đăng ký"
    )
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Registration)) == 1

    # ... and on "Start the assessment": one assessment, shown once.
    mark = len(api.calls)
    start = f"h:go:{village.households[0].id}"
    api.press(village.leader_user, card, start)
    api.press(village.leader_user, card, start)
    await bot.idle()
    assert answering_calls(api, village.leader_user.id, mark) == ["editMessageText"]
    assert "Câu 1/12" in api.message(village.leader_user.id, card.message_id).content
    assert len(await assessments(session_factory, form_key=GDHT)) == 1
    assert_clean(api)


# --------------------------------------------------------------------------- 5. bad input


async def test_bad_input_gets_a_clear_answer_and_forged_buttons_are_refused(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    tuan = api.user(7004, "Tuấn", "vi")
    chat = Chat(api, tuan)

    await chat.send("xin chào")  # before consent: the notice and the question, nothing else
    assert chat.last_reply().endswith("Bạn có đồng ý không?")
    assert labels(chat.last_message())[:2] == ["Tôi đồng ý", "Tôi không đồng ý"]
    await chat.send("/selfcheck")
    assert chat.last_reply().endswith("Bạn có đồng ý không?")
    assert await assessments(session_factory, form_key=CDHT) == []
    await chat.click("Tôi đồng ý", replies=1)  # then what was asked for goes ahead
    assert "Bạn thuộc nhóm nào?" in chat.last_reply()
    await chat.click(RESIDENT)
    assert "Câu 1/10" in chat.last_reply()

    # An unknown command in the middle of the self-check: one line, and the question again.
    question = chat.last_reply()
    await chat.send("/foo", replies=1)
    assert chat.last_reply() == (
        question + "\n⚠️ Tôi không hiểu lệnh đó. Câu trả lời của bạn vẫn được giữ; "
        "đây là câu hỏi đang dở."
    )

    # A sticker in the middle of the self-check: what is expected, and the question again.
    sticker = {
        "file_id": "CAACAgIAAxkBAAI",
        "file_unique_id": "AgADbQ",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    mark = len(api.calls)
    api.add_update(
        {
            "message": {
                "message_id": 900,
                "date": int(NOW.timestamp()),
                "chat": tuan.chat_dict(),
                "from": tuan.to_dict(),
                "sticker": sticker,
            }
        }
    )
    await bot.idle()
    assert answering_calls(api, tuan.id, mark) == ["sendMessage"]
    assert chat.last_reply() == (
        question + "\n⚠️ Tôi chỉ đọc được chữ gõ và các nút bấm, không đọc được ảnh, nhãn dán "
        "hay tin nhắn thoại. Mời bạn trả lời câu hỏi bên dưới."
    )
    # Outside a flow, an unknown command lists the commands this person can use.
    await chat.send("/cancel")
    await chat.send("/foo", replies=2)
    unknown, help_text = chat.replies()[-2:]
    assert unknown == "Không có lệnh /foo. Bạn có thể dùng các lệnh sau:"
    assert help_text.startswith("<b>Cách dùng hoctap</b>\n/start: menu chính")
    assert "/households" not in help_text  # not a leader
    await chat.send("/selfcheck")  # the self-check resumes where it was
    assert chat.last_reply().startswith(question.split("\n")[0])

    # Leader-only buttons, forged by a citizen, and a leader's reach into another village.
    east, other = village.households[0], village.other_household
    assert await press(api, bot, tuan, f"h:go:{east.id}") == NOT_LEADER
    assert await press(api, bot, tuan, f"h:list:{village.village.id}-0") == NOT_LEADER
    leader = Chat(api, village.leader_user)
    await consent(leader)
    mark = len(api.calls)
    for action in ("open", "go", "reg", "add"):
        target = village.other_village.id if action == "add" else other.id
        assert await press(api, bot, village.leader_user, f"h:{action}:{target}") == NOT_LEADER
    assert await press(api, bot, village.leader_user, f"h:list:{village.other_village.id}-0") == (
        NOT_LEADER
    )
    assert answering_calls(api, village.leader_user.id, mark) == []
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Registration)) == 0
    assert await assessments(session_factory, form_key=GDHT) == []

    # Someone else's self-check, and data that is not ours at all.
    [own] = await assessments(session_factory, form_key=CDHT)
    refused = await press(api, bot, village.leader_user, f"a:{own.id}:cs1:chua")
    assert refused == "Bạn không được sửa phiếu này."
    assert await answers(session_factory, own.id) == {}
    assert await press(api, bot, tuan, "xyz:1") == "Nút này không còn dùng được."
    assert_clean(api)


# --------------------------------------------------------------------------- 6. many chats


async def test_a_chat_whose_replies_are_slow_holds_up_no_other_chat(
    api: FakeBotApi, bot: RunningBot
) -> None:
    slow, quick = api.user(7301, "Chậm", "vi"), api.user(7302, "Nhanh", "vi")
    api.slow_down(slow.id, 1.5)  # each reply to this chat takes 1.5 s to go through
    mark = len(api.calls)
    api.send_text(slow, "/start")
    api.send_text(slow, "/help")
    api.send_text(quick, "/start")  # stored behind both of the slow chat's updates

    def answers_to(user: FakeUser) -> list[Call]:
        return [c for c in api.calls[mark:] if c.chat_id == user.id and c.method in ANSWER_METHODS]

    await api.wait_until(lambda: any(c.ok for c in answers_to(quick)), describe="a quick reply")
    assert not any(c.ok for c in answers_to(slow))  # still on its way: nobody waited for it
    await bot.idle()
    first, second = answers_to(slow)
    assert first.ok and second.ok
    assert second.at - first.at >= 1.4  # the slow chat's own updates still went one by one
    assert "/selfcheck" in second.params["text"]  # /help's answer came second
