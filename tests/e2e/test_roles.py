"""The journeys of issue 5 through the real Telegram runner: an officer invites a leader who
joins by deep link; codes that are used, mistyped or outside the officer's commune are refused;
a leader removed mid-assessment loses access but not the answers; /mydata and erasure; the
officer's activity log; a leader removing a household."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.people import grant
from bot.storage.models import Answer, Household, Identity, Invite, Person, Unit
from tests.support.chat import Chat
from tests.support.fake_telegram import FakeBotApi

from .conftest import COMMUNE, NOW, RunningBot, World
from .test_telegram_journeys import YES, consent, labels

Sessions = async_sessionmaker[AsyncSession]
OFFICER_ID = 6001


@pytest.fixture
async def officer(api: FakeBotApi, session_factory: Sessions, village: World) -> Chat:
    """A commune officer of the test commune, on Telegram, who has agreed to the notice."""
    async with session_factory() as session:
        person = Person(display_name="Cán bộ Hoa", locale="vi", created_at=NOW)
        session.add(person)
        await session.flush()
        session.add(
            Identity(
                person_id=person.id,
                channel="telegram",
                external_id=str(OFFICER_ID),
                chat_id=str(OFFICER_ID),
            )
        )
        commune = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert commune is not None
        await grant(session, person.id, "officer", commune.id, NOW)
        await session.commit()
    chat = Chat(api, api.user(OFFICER_ID, "Hoa", "vi"))
    await consent(chat)
    return chat


async def invite_code(officer: Chat, village: str) -> str:
    await officer.send("/start", replies=2)
    commune_button = next(
        label for label in labels(officer.last_message()) if label.startswith("🏘")
    )
    await officer.click(commune_button)
    await officer.click(
        next(label for label in labels(officer.last_message()) if label.startswith(village))
    )
    await officer.click("Mời chi hội trưởng")
    text = officer.last_reply()
    return text.split("/join ")[1].split("<")[0].strip()


async def test_an_officer_invites_a_leader_who_joins_by_deep_link(
    api: FakeBotApi, bot: RunningBot, officer: Chat, session_factory: Sessions
) -> None:
    code = await invite_code(officer, "Thôn Tây")
    assert "chỉ dùng một lần" in officer.last_reply()
    assert officer.last_reply().endswith(f"\nhttps://t.me/{api.bot_username}?start={code}")
    newcomer = Chat(api, api.user(6100, "Tâm", "vi"))
    await newcomer.send(f"/start {code}")
    assert "Bạn có đồng ý không?" in newcomer.last_reply()
    await newcomer.click("Tôi đồng ý", replies=3)
    assert "Chào mừng! Bạn đã được ghi nhận cho Thôn Tây." in newcomer.replies()
    assert "🏠 Các hộ ở Thôn Tây" in labels(newcomer.last_message())
    latecomer = Chat(api, api.user(6101, "Minh", "vi"))
    await consent(latecomer)
    await latecomer.send(f"/join {code}")
    assert latecomer.last_reply() == "Mã này đã được dùng hoặc đã bị thu hồi. Hãy xin mã mới."
    await latecomer.send("/join KHONGCO1")
    assert latecomer.last_reply().startswith("Mã này không đúng.")
    async with session_factory() as session:
        used = await session.scalar(select(Invite).where(Invite.code == code))
        assert used is not None
        assert used.used_at is not None


async def test_a_leader_removed_mid_assessment_loses_access_not_answers(
    api: FakeBotApi, bot: RunningBot, officer: Chat, village: World, session_factory: Sessions
) -> None:
    leader = Chat(api, village.leader_user)
    await consent(leader)
    await leader.click("🏠 Các hộ ở Thôn Đông")
    await leader.click(labels(leader.last_message())[0])
    await leader.click("▶ Bắt đầu đánh giá")
    await leader.click(YES)
    question = leader.last_message()
    await officer.send("/start", replies=2)
    await officer.click("👥 Chi hội trưởng")
    await officer.click(
        next(
            label
            for label in labels(officer.last_message())
            if label.startswith("Gỡ Trần Văn Bình")
        )
    )
    await leader.click_on(question, labels(question)[0], replies=0)
    assert any(
        c.method == "answerCallbackQuery"
        and c.params.get("text") == "Bạn không được sửa phiếu này."
        for c in api.calls
    )
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(Answer)) == 1
    await leader.send("/households")
    assert "chi hội trưởng" in leader.last_reply()


async def test_mydata_shows_what_is_kept_and_erasure_forgets_the_person(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    citizen = Chat(api, api.user(6200, "Lan", "vi"))
    await consent(citizen)
    await citizen.send("/mydata")
    assert "Tên: Lan" in citizen.last_reply()
    assert "Ứng dụng nhắn tin: telegram (6200)" in citizen.last_reply()
    await citizen.click("🗑 Xóa dữ liệu của tôi")
    assert "Không thể hoàn tác" in citizen.last_reply()
    await citizen.click("Có, xóa hết")
    assert citizen.last_reply().startswith("Xong: dữ liệu của bạn đã được xóa.")
    async with session_factory() as session:
        assert await session.scalar(select(Identity).where(Identity.external_id == "6200")) is None
    await citizen.send("/start")
    assert "Bạn có đồng ý không?" in citizen.last_reply()


async def test_officer_cannot_reach_another_commune_and_reads_the_log(
    api: FakeBotApi, bot: RunningBot, officer: Chat, session_factory: Sessions
) -> None:
    async with session_factory() as session:
        far = await session.scalar(select(Unit).where(Unit.level == 2, Unit.code != COMMUNE))
        assert far is not None
        far_id = far.id
    api.press(officer.user, officer.last_message(), f"o:villages:{far_id}")  # a forged button
    await api.wait_until(
        lambda: any(
            c.method == "answerCallbackQuery" and "ngoài xã" in str(c.params.get("text", ""))
            for c in api.calls
        ),
        describe="the refusal toast",
    )
    await invite_code(officer, "Thôn Đông")
    await officer.send("/start", replies=2)
    await officer.click("📋 Nhật ký")
    log = officer.last_reply().split("\n")
    # Plain words: when, who (role and given name), what, never codes or ids.
    assert log[1] == "10:00 10/11/2026 · Cán bộ Hoa · tạo mã mời cho Thôn Đông"
    assert "invite.created" not in officer.last_reply()


async def test_a_leader_removes_a_household_keeping_only_counts(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    leader = Chat(api, village.leader_user)
    await consent(leader)
    await leader.click("🏠 Các hộ ở Thôn Đông")
    await leader.click(labels(leader.last_message())[0])
    await leader.click("🗑 Xóa khỏi danh sách")
    await leader.click("Có, xóa hộ này")
    assert all("Nguyễn Văn An" not in label for label in labels(leader.last_message()))
    async with session_factory() as session:
        removed = await session.get(Household, village.households[0].id)
        assert removed is not None
        assert (removed.head_name, removed.removed_at is not None) == ("", True)


async def test_an_officer_sets_the_communes_target_in_chat(
    api: FakeBotApi, bot: RunningBot, officer: Chat
) -> None:
    await officer.send("/start", replies=2)
    await officer.click("🎯 Chỉ tiêu")
    # 2026: a fifth of the way from the 2025 figures to the 2030 ones.
    assert "Gia đình học tập: 72% (mặc định quốc gia theo QĐ 387/QĐ-TTg)" in officer.last_reply()
    await officer.click("Đặt chỉ tiêu: Gia đình học tập")
    await officer.send("nhiều lắm")
    assert officer.last_reply() == "Chỉ tiêu là tỷ lệ phần trăm lớn hơn 0 và không quá 100."
    await officer.send("85%")
    assert "Gia đình học tập: 85% (do Phường Hoàn Kiếm đặt)" in officer.last_reply()
    assert "   trên tổng số hộ trong địa bàn" in officer.last_reply()
    # Local plans count families of the registered households too: one tap, the same 85 %.
    await officer.click("🔁 Tính gia đình trên số hộ đã đăng ký")
    assert "Gia đình học tập: 85% (do Phường Hoàn Kiếm đặt)" in officer.last_reply()
    assert "   trên số hộ đã đăng ký năm nay" in officer.last_reply()
    assert "Dòng họ học tập: 67%" in officer.last_reply()  # every title has its target
    assert "Công dân học tập (trong số người độ tuổi lao động): 44%" in officer.last_reply()
