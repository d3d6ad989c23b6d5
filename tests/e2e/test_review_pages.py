"""The commune's review list through the real Telegram runner: every waiting household reached,
grouped by village and paged, and a stale decision button refused at once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.context import GDHT
from bot.services.units import add_village
from bot.storage.models import Assessment, Household, Person, Unit
from conversations.loader import load_forms
from tests.support.chat import Chat
from tests.support.fake_telegram import FakeBotApi

from .conftest import COMMUNE, NOW, RunningBot, World
from .test_roles import officer  # noqa: F401  (a fixture)
from .test_telegram_journeys import assert_clean, labels

Sessions = async_sessionmaker[AsyncSession]
NEW_VILLAGE = "Xóm <Mới> & Co 🌾"
SHOWN = "Xóm &lt;Mới&gt; &amp; Co 🌾"  # as the message's HTML holds it


async def submitted(sessions: Sessions, village: str | None, count: int, passed: bool) -> None:
    """``count`` households of ``village`` (a new one when it does not exist), each with an
    assessment submitted this year."""
    version = load_forms().get(GDHT).version
    async with sessions() as session:
        unit = await session.scalar(select(Unit).where(Unit.name == village))
        if unit is None:
            unit = await add_village(session, COMMUNE, village)
        author = await session.scalar(select(Person).order_by(Person.id))
        assert author is not None
        for number in range(count):
            household = Household(
                village_id=unit.id,
                code=f"M{number + 1:03}",
                head_name=f"Hộ {number + 1}",
                members=4,
            )
            session.add(household)
            await session.flush()
            session.add(
                Assessment(
                    form_key=GDHT,
                    form_version=version,
                    year=NOW.year,
                    subject="household",
                    household_id=household.id,
                    created_by=author.id,
                    state="submitted",
                    score=90.0 if passed else 40.0,
                    max_score=100.0,
                    passed=passed,
                    submitted_at=NOW,
                    submissions=1,
                )
            )
        await session.commit()


async def test_every_waiting_household_is_reached_by_village_and_page(
    api: FakeBotApi,
    bot: RunningBot,
    village: World,
    officer: Chat,  # noqa: F811
    session_factory: Sessions,
) -> None:
    await submitted(session_factory, NEW_VILLAGE, 20, passed=True)
    await submitted(session_factory, "Thôn Tây", 1, passed=False)

    await officer.send("/review")
    villages = next(m for m in api.messages_to(officer.chat_id) if "chờ xét duyệt" in m.content)
    assert villages.content.startswith("<b>Phường Hoàn Kiếm</b>: 21 hộ chờ xét duyệt.\nỞ 2 ")
    assert labels(villages) == ["🏘 Thôn Tây · 1", f"🏘 {NEW_VILLAGE} · 20"]

    await officer.click_on(villages, f"🏘 {NEW_VILLAGE} · 20")
    page = api.message(officer.chat_id, villages.message_id)
    assert page.content == f"<b>{SHOWN}</b>: 20 hộ chờ xét duyệt."
    seen: list[str] = []
    for number in (1, 2, 3):
        shown = [label for label in labels(page) if label.startswith("✅")]
        assert len(shown) == (8 if number < 3 else 4)
        assert all(label.startswith("✅ M0") for label in shown)
        seen += shown
        if number < 3:
            await officer.click_on(page, f"{number + 1}/3 ▶")
            page = api.message(officer.chat_id, villages.message_id)
    assert len(set(seen)) == 20  # every one reachable, none twice
    assert labels(page)[-3:] == ["◀ 2/3", "🏅 Công nhận tất cả hộ đạt", "◀ Về danh sách thôn"]

    # The last household on the last page: recognised; the list comes back one shorter.
    await officer.click_on(page, seen[-1])
    card = api.message(officer.chat_id, villages.message_id)
    assert "Hộ M020 · Hộ 20" in card.content
    stale = list(card.buttons)
    await officer.click_on(card, "🏅 Công nhận")
    await officer.send("12/QĐ-UBND 15/11/2026", replies=2)
    assert "Đã công nhận theo quyết định số 12/QĐ-UBND" in officer.replies()[-2]
    assert officer.last_reply() == f"<b>{SHOWN}</b>: 19 hộ chờ xét duyệt."

    # The card's old "Công nhận" button, tapped again: refused at once, as an alert that stays.
    recognise = next(data for row in stale for label, data in row if label == "🏅 Công nhận")
    message = api.messages_to(officer.chat_id)[-1]
    update_id = api.press(officer.user, message, recognise)
    query_id = api.updates[update_id]["callback_query"]["id"]
    await api.wait_for(
        lambda c: (
            c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id
        )
    )
    await bot.idle()
    answer = api.callback_answers[query_id]
    assert answer.get("show_alert") is True
    assert "đã được công nhận" in str(answer.get("text"))
    assert "Hãy nhập số và ngày" not in officer.last_reply()  # no decision number asked
    async with session_factory() as session:
        states = list(await session.scalars(select(Assessment.state).order_by(Assessment.id)))
    assert states.count("recognised") == 1
    assert_clean(api)
