"""Telegram's own features through the real runner: a person who blocks the bot, the "/"
menu each person gets, and the bot's deep links."""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.models import Identity
from tests.support.chat import Chat
from tests.support.fake_telegram import FakeBotApi, FakeUser

from .conftest import NOW, RunningBot, World
from .test_roles import officer  # noqa: F401  (a fixture)
from .test_telegram_journeys import answering_calls, consent, labels

Sessions = async_sessionmaker[AsyncSession]


async def blocked_at(sessions: Sessions, user: FakeUser) -> object:
    async with sessions() as session:
        identity = await session.scalar(
            select(Identity).where(
                Identity.channel == "telegram", Identity.external_id == str(user.id)
            )
        )
        assert identity is not None
        return identity.blocked_at


async def test_a_person_who_blocks_the_bot_is_marked_at_once_and_unmarked_on_return(
    api: FakeBotApi, bot: RunningBot, village: World, session_factory: Sessions
) -> None:
    tuan = api.user(7010, "Tuấn", "vi")
    await consent(Chat(api, tuan))
    mark = len(api.calls)
    api.user_blocks(tuan)
    await bot.idle()
    assert answering_calls(api, tuan.id, mark) == []  # nothing said to a chat that blocked us
    assert await blocked_at(session_factory, tuan) == NOW  # reminders skip them from now on
    api.user_blocks(tuan, blocked=False)
    await bot.idle()
    assert await blocked_at(session_factory, tuan) is None
    assert answering_calls(api, tuan.id, mark) == []
    # Someone the bot never stored (no consent) blocks it: nothing is stored about them.
    stranger = api.user(7011, "Lạ", "vi")
    api.user_blocks(stranger)
    await bot.idle()
    async with session_factory() as session:
        found = await session.scalar(
            select(Identity).where(Identity.external_id == str(stranger.id))
        )
    assert found is None


def listed(api: FakeBotApi, scope: dict[str, object], language: str = "") -> list[str]:
    """The commands the bot set for a scope and language, by name."""
    key = (json.dumps(scope, sort_keys=True), language)
    return [command["command"] for command in api.commands.get(key, [])]


async def test_each_person_gets_a_command_menu_of_what_they_can_do_in_their_language(
    api: FakeBotApi, bot: RunningBot, village: World
) -> None:
    default = {"type": "default"}
    everyone = listed(api, default)  # set at start-up, for people without a list of their own
    assert everyone[:3] == ["start", "selfcheck", "results"]
    assert "households" not in everyone and "review" not in everyone
    assert listed(api, default, "en") == everyone  # the same commands, described in English
    described = {c["command"]: c["description"] for c in api.commands[(json.dumps(default), "")]}
    assert described["start"] == "menu chính"
    english = api.commands[(json.dumps(default), "en")]
    assert english[0] == {"command": "start", "description": "the main menu"}

    leader = Chat(api, village.leader_user)
    await consent(leader)  # the menu is shown: the leader's own list goes with it
    own = listed(api, {"type": "chat", "chat_id": village.leader_user.id})
    assert own[: len(everyone)] == everyone
    assert own[len(everyone) :] == ["households", "add", "summary", "report"]


async def test_an_officers_own_self_check_is_kept_apart_from_the_communes_work(
    api: FakeBotApi,
    bot: RunningBot,
    officer: Chat,  # noqa: F811
) -> None:
    await officer.send("/start", replies=2)
    await officer.click("👤 Tự đánh giá và kết quả của riêng tôi")
    assert labels(officer.last_message()) == [
        "📝 Tự đánh giá Công dân học tập",
        "📊 Kết quả của tôi",
        "◀ Menu",
    ]
    await officer.click("📝 Tự đánh giá Công dân học tập")
    await officer.click("Người dân trong xã, phường")  # the group, asked once
    assert "Câu 1/10" in officer.last_reply()
