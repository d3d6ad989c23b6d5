"""A returned submission through the real Telegram runner: the officer returns it with a comment,
the leader changes one answer and resubmits, the officer sees what changed, and once recognised
the result no longer changes, whatever button the leader still has on screen."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import ANSWER, pack
from bot.storage.models import AnswerRevision
from tests.support.chat import Chat
from tests.support.fake_telegram import FakeBotApi

from .conftest import RunningBot, World
from .test_roles import officer  # noqa: F401  (a fixture)
from .test_telegram_journeys import (
    NO,
    YES,
    answer_all,
    answers,
    assessments,
    consent,
    labels,
    press,
)

Sessions = async_sessionmaker[AsyncSession]
H001 = "H001 · Nguyễn Văn An"
EVERY_YES = [YES, "Có, các cháu đều đi học", YES, YES, "Có, ai cũng biết chữ", YES, YES]
EVERY_YES += ["Tất cả người lớn"] + [YES] * 4


async def test_a_returned_edited_resubmitted_household_shows_its_changes_then_stays_locked(
    api: FakeBotApi,
    bot: RunningBot,
    village: World,
    officer: Chat,  # noqa: F811
    session_factory: Sessions,
) -> None:
    leader = Chat(api, village.leader_user)
    await consent(leader)
    await leader.click("🏠 Các hộ ở Thôn Đông")
    await leader.click(f"⚪ {H001} · chưa đăng ký")
    await leader.click("▶ Bắt đầu đánh giá")
    await answer_all(leader, EVERY_YES)
    await leader.click("✅ Gửi", replies=2)
    [assessment] = await assessments(session_factory, household_id=village.households[0].id)

    # The officer returns it with a comment.
    await officer.send("/review")
    await officer.click(_household_button(officer))
    assert "Đã sửa so với lần gửi trước" not in officer.last_reply()  # a first submission
    await officer.click("↩ Trả lại để sửa")
    await officer.send("Hộ có người lớn đi học không? Xem lại câu 6", replies=2)
    assert "Đã trả lại cho chi hội trưởng" in officer.replies()[-2]

    # The leader changes one answer and submits again.
    await leader.click("🏠 Các hộ ở Thôn Đông")
    await leader.click(f"📝 {H001} · đang làm dở (12 câu)")
    await leader.click("▶ Làm tiếp")
    assert "Xem lại câu trả lời trước khi gửi" in leader.last_reply()
    await leader.click("Sửa 6")
    await leader.click(NO)
    await leader.click("✅ Gửi", replies=2)

    # The officer sees what changed, and recognises it.
    await officer.send("/review")
    await officer.click(_household_button(officer))
    card = officer.last_reply().split("\n")
    assert "Đã trả lại kèm ý kiến: Hộ có người lớn đi học không? Xem lại câu 6" in card
    changed = card[card.index("<b>Đã sửa so với lần gửi trước:</b>") + 1 :]
    assert changed == ["Câu 6 (Người lớn có đi học): trước “Có”, nay “Không”"]
    await officer.click("🏅 Công nhận")
    await officer.send("12/QĐ-UBND 15/11/2026", replies=2)
    assert "12/QĐ-UBND" in officer.replies()[-2]

    # A button still on the leader's screen cannot change the recognised result.
    before = await answers(session_factory, assessment.id)
    assert before["c2b"] == "no"
    toast = await press(api, bot, village.leader_user, pack(ANSWER, assessment.id, "c2b", "yes"))
    assert toast == "Phiếu này đã gửi rồi."
    assert await answers(session_factory, assessment.id) == before
    [decided] = await assessments(session_factory, id=assessment.id)
    assert (decided.state, decided.submissions) == ("recognised", 2)
    async with session_factory() as session:
        kept = (
            await session.execute(select(AnswerRevision.question_id, AnswerRevision.value))
        ).all()
    assert [tuple(row) for row in kept] == [("c2b", "yes")]


def _household_button(chat: Chat) -> str:
    return next(label for label in labels(chat.last_message()) if "H001" in label)
