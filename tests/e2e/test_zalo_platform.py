"""What the Zalo Bot Platform documents, end to end through the real runner against the strict
local fake: sendPhoto takes only an image URL, so a report's chart arrives as text saying where
the chart is, and nothing is uploaded; 403 is Zalo's internal server error, so a send it refuses
is tried again and the person still gets the answer (nobody is taken for blocked); a message in
a group gets one polite line for the group, only the first time, and nothing personal.
Only Zalo's HTTP and the clock are fake.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.i18n import _, use_locale
from bot.runtime.runner import group_line
from bot.services.people import OFFICER, grant
from bot.services.units import add_village
from bot.storage.models import Household, Identity, Person, Unit
from tests.support.fake_zalo import FakeZaloApi, ZaloChat

from .test_zalo import (  # noqa: F401 (fixtures)
    COMMUNE,
    NOW,
    Sessions,
    ZaloRunner,
    inbox_rows,
    mode,
    runner,
    start_self_check,
    stored,
    zalo,
    zalo_settings,
)

OFFICER_ID = "4c6e8a0b2d4f6a8c0e2b"


# --------------------------------------------------------------------------- 1. the chart


@pytest.mark.parametrize("mode", ["polling"])
async def test_a_report_chart_arrives_as_text_naming_the_spreadsheet_and_telegram(
    zalo: FakeZaloApi,  # noqa: F811 (the fixtures imported above)
    runner: ZaloRunner,  # noqa: F811
    session_factory: Sessions,
    geography: None,
) -> None:
    async with session_factory() as session:
        for name in ("Thôn Đông", "Thôn Tây"):  # two villages: the report has a chart
            village = await add_village(session, COMMUNE, name)
            session.add(Household(village_id=village.id, code="H001", head_name="An", members=3))
        officer = Person(display_name="Cán bộ Hoa", locale="vi", created_at=NOW, consent_at=NOW)
        session.add(officer)
        await session.flush()
        session.add(
            Identity(
                person_id=officer.id,
                channel="zalo",
                external_id=OFFICER_ID,
                chat_id=OFFICER_ID,
                created_at=NOW,
            )
        )
        commune = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
        assert commune is not None
        await grant(session, officer.id, OFFICER, commune.id, NOW)
        await session.commit()
    chat = ZaloChat(zalo, zalo.user(OFFICER_ID, "Hoa"))
    with use_locale("vi"):
        elsewhere = (
            f"📊 {_('Zalo cannot show the chart here: open the report on Telegram to see it.')}"
        )

    await chat.send("/report")
    await zalo.wait_until(
        lambda: elsewhere in "\n".join(chat.transcript()), describe="the chart's line"
    )
    shown = "\n".join(chat.transcript())
    assert f"📎 bao-cao-{COMMUNE}-2026.xlsx" in shown  # the spreadsheet, named
    assert "Thôn Đông" in shown and "Thôn Tây" in shown  # the report's text
    assert shown.count(elsewhere) == 1
    assert zalo.calls_to("sendPhoto") == []  # nothing uploaded, no URL made up
    assert all(m.photo is None for m in zalo.sent)
    assert zalo.refused() == []


# --------------------------------------------------------------------------- 2. error 403


async def test_a_send_refused_with_403_is_tried_again_and_nobody_is_taken_for_blocked(
    zalo: FakeZaloApi,  # noqa: F811
    runner: ZaloRunner,  # noqa: F811
    session_factory: Sessions,
) -> None:
    chat = ZaloChat(zalo, zalo.user("2e4a6c8e0a2c4e6a8c0e", "Lan"))
    await start_self_check(chat)
    mark = len(zalo.calls)
    zalo.fail_next("sendMessage")  # Zalo's "internal server error", once

    [second] = await chat.send("1")
    assert "Câu 2/10" in second  # the answer came, at the second try
    tries = [c.status for c in zalo.calls[mark:] if c.method == "sendMessage"]
    assert tries == [403, 200]
    [third] = await chat.send("1")  # and the person goes on as ever
    assert "Câu 3/10" in third
    async with session_factory() as session:
        identity = await session.scalar(
            select(Identity).where(
                Identity.channel == "zalo", Identity.external_id == chat.user.id
            )
        )
    assert identity is not None and identity.blocked_at is None
    assert [c.status for c in zalo.refused()] == [403]


# --------------------------------------------------------------------------- 3. groups


async def test_a_group_hears_one_polite_line_once_and_nothing_personal(
    zalo: FakeZaloApi,  # noqa: F811
    runner: ZaloRunner,  # noqa: F811
    mode: str,  # noqa: F811
    session_factory: Sessions,
) -> None:
    hoa = zalo.user("6ede9afa66b88fe6d6a9", "Nguyễn Thị Hoa")
    group = zalo.group("8f0e1d2c3b4a59687766")
    with use_locale("vi"):
        polite = group_line().plain()

    zalo.send_group_text(group, hoa, "@Bot hoctap cho tôi xem kết quả của tôi")
    await zalo.wait_until(lambda: zalo.messages_to(group), describe="the line to the group")
    later = zalo.send_group_text(group, hoa, "@Bot hoctap 1")
    if mode == "polling":
        await zalo.wait_until(lambda: later in zalo.handed_out(), describe="the second one")
    else:
        await zalo.wait_until(
            lambda: any(d.message_id == later for d in zalo.deliveries), describe="its push"
        )
    await runner.idle()

    assert [m.text for m in zalo.messages_to(group)] == [polite]  # once, for the first only
    assert "Hoa" not in polite and hoa.id not in polite
    assert zalo.messages_to(hoa) == []  # nothing to her private chat either
    assert await stored(session_factory, hoa) is None  # nobody is made of a group message
    rows = await inbox_rows(session_factory)
    assert len(rows) == 2 and all(row.done_at == NOW for row in rows)
    assert zalo.refused() == []

    chat = ZaloChat(zalo, hoa)  # in private, she is answered as anyone is
    [notice] = await chat.send("Xin chào")
    assert notice.startswith("Xin chào! hoctap")
