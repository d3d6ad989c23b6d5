"""A citizen's group of Công dân học tập: asked once with one tap, remembered, changeable, and
the self-check made with the group's own form."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import router
from bot.chat.callbacks import GROUP, MENU, pack
from bot.chat.messages import Actor, Inbound, Outbound
from bot.services.context import CDHT_WORKERS, Services
from bot.storage.models import Assessment, AuditEntry, Person
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
LAN = Actor("telegram", "t1", "t1", "Lan <&> 🌾", "vi")
Sessions = async_sessionmaker[AsyncSession]


async def send(sessions: Sessions, **what: object) -> Outbound:
    services = Services(sessions=sessions, forms=load_forms(), clock=lambda: NOW)
    return await router.handle(services, Inbound(LAN, keyed=False, **what))  # type: ignore[arg-type]


def texts(out: Outbound) -> str:
    return "\n".join(reply.text.html() for reply in out.replies)


def buttons(out: Outbound) -> list[str]:
    return [button.data for reply in out.replies for row in reply.buttons for button in row]


async def agreed(sessions: Sessions) -> None:
    await send(sessions, command="start")
    await send(sessions, choice="c:yes:vi:")


async def test_the_first_self_check_asks_the_group_and_the_tap_starts_its_form(
    session_factory: Sessions,
) -> None:
    await agreed(session_factory)
    asked = await send(session_factory, choice=pack(MENU, "self"))
    assert "Bạn thuộc nhóm nào?" in texts(asked)
    assert buttons(asked) == [
        pack(GROUP, group, "s") for group in ("resident", "worker", "staff", "pupil")
    ]
    started = await send(session_factory, choice=pack(GROUP, "worker", "s"))
    assert "người lao động" in texts(started)
    assert "Câu 1/10" in texts(started)
    async with session_factory() as session:
        person = await session.scalar(select(Person))
        assert person is not None and person.citizen_group == "worker"
        [draft] = (await session.scalars(select(Assessment))).all()
        assert draft.form_key == CDHT_WORKERS
        assert (
            await session.scalar(
                select(AuditEntry.detail).where(AuditEntry.action == "person.group_set")
            )
            == "worker"
        )

    again = await send(session_factory, choice=pack(MENU, "self"))  # remembered: no question
    assert "Bạn thuộc nhóm nào?" not in texts(again)
    assert "Câu 1/10" in texts(again)


async def test_the_group_changes_from_the_menu_and_the_next_self_check_uses_it(
    session_factory: Sessions,
) -> None:
    await agreed(session_factory)
    await send(session_factory, choice=pack(MENU, "self"))
    await send(session_factory, choice=pack(GROUP, "resident", "s"))
    await send(session_factory, choice="a:1:cs1:thuong-xuyen")  # one answer of the old form

    results = await send(session_factory, choice=pack(MENU, "history"))
    assert pack(MENU, "group") in buttons(results)  # "Đổi nhóm" sits with the results
    shown = await send(session_factory, choice=pack(MENU, "group"))
    labels = [button.label for reply in shown.replies for row in reply.buttons for button in row]
    assert labels[0] == "✓ Người dân trong xã, phường"  # the person's own, ticked
    changed = await send(session_factory, choice=pack(GROUP, "pupil", "m"))
    assert "Học sinh, sinh viên, học viên" in texts(changed)
    assert "Bạn muốn làm gì?" in texts(changed)  # back to the menu, no form started

    started = await send(session_factory, choice=pack(MENU, "self"))
    assert "học sinh, sinh viên, học viên" in texts(started)
    async with session_factory() as session:
        kept = {a.form_key: a.state for a in await session.scalars(select(Assessment))}
    # The draft of the first group keeps its answer; the new group's form has its own draft.
    assert kept == {"cong-dan-hoc-tap": "draft", "cong-dan-hoc-tap-hoc-sinh": "draft"}


async def test_a_group_button_that_is_not_ours_changes_nothing(session_factory: Sessions) -> None:
    await agreed(session_factory)
    out = await send(session_factory, choice=pack(GROUP, "astronaut", "s"))
    assert out.notice is not None and "không còn dùng được" in out.notice.plain()
    async with session_factory() as session:
        person = await session.scalar(select(Person))
        assert person is not None and person.citizen_group is None
