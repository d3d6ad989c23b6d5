"""Reminders as rows: campaigns planned once, quiet hours, people's own choices, stale drafts,
broadcasts — with an injected clock, on real database files (and PostgreSQL when set)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import reminders as chat_reminders
from bot.chat.messages import Actor
from bot.i18n import TIMEZONE, use_locale
from bot.services import campaigns, reminders
from bot.services.people import ensure_person, grant
from bot.services.privacy import erase_person
from bot.services.units import add_village
from bot.storage.models import Assessment, Household, Identity, Person, Reminder, Unit

COMMUNE = "00070"


def vn(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    """A moment given in Vietnam's time, as the aware UTC the code works in."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=TIMEZONE).astimezone(dt.UTC)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with use_locale("en"):
        yield


async def person(session: AsyncSession, user: str, channel: str = "telegram") -> Person:
    actor = Actor(channel, user, user, f"Người {user}", language="en")
    return await ensure_person(session, actor, vn(2026, 1, 2))


async def commune_of(session: AsyncSession) -> Unit:
    found = await session.scalar(select(Unit).where(Unit.code == COMMUNE))
    assert found is not None
    return found


@pytest.fixture
async def people(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> dict[str, int]:
    """A commune with two villages: a leader of each, an officer, and two citizens."""
    async with session_factory() as session:
        commune = await commune_of(session)
        east = await add_village(session, COMMUNE, "Thôn Đông")
        west = await add_village(session, COMMUNE, "Thôn Tây")
        ids = {}
        for name, role, unit in (
            ("east", "leader", east.id),
            ("west", "leader", west.id),
            ("officer", "officer", commune.id),
        ):
            someone = await person(session, name)
            someone.consent_at = vn(2026, 1, 2)
            await grant(session, someone.id, role, unit, vn(2026, 1, 2))
            ids[name] = someone.id
        for name in ("citizen", "quiet"):
            someone = await person(session, name)
            someone.consent_at = vn(2026, 1, 2)
            someone.home_unit_id = east.id
            ids[name] = someone.id
        ids["east_village"], ids["west_village"], ids["commune"] = east.id, west.id, commune.id
        await session.commit()
        return ids


async def planned(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(select(Reminder.kind, Reminder.person_id).order_by(Reminder.id))
    return [(kind, who) for kind, who in rows]


async def test_the_season_opening_is_planned_once_for_each_leader_at_8_in_vietnam(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        assert await reminders.plan(session, vn(2026, 9, 30, 23)) == 0  # the day before
        added = await reminders.plan(session, vn(2026, 10, 1, 0, 5))
        again = await reminders.plan(session, vn(2026, 10, 1, 0, 6))
        await session.commit()
        assert (added, again) == (2, 0)
        rows = (await session.scalars(select(Reminder))).all()
        assert {row.person_id for row in rows} == {people["east"], people["west"]}
        assert {row.due_at for row in rows} == {vn(2026, 10, 1, 8)}
        assert {row.channel for row in rows} == {"telegram"}


async def test_nothing_is_due_in_quiet_hours_and_it_goes_at_7(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        await reminders.plan(session, vn(2026, 10, 1, 9))
        await session.commit()
        assert await chat_reminders.due(session, "telegram", vn(2026, 10, 1, 21, 0)) == []
        assert await chat_reminders.due(session, "telegram", vn(2026, 10, 2, 6, 59)) == []
        due = await chat_reminders.due(session, "telegram", vn(2026, 10, 2, 7, 0))
        assert len(due) == 2
        assert "assessment has begun" in due[0].reply.text.html()
    assert campaigns.send_time(vn(2026, 10, 1, 22), vn(2026, 10, 1, 22)) == vn(2026, 10, 2, 7)
    assert campaigns.send_time(vn(2026, 10, 2, 3), vn(2026, 10, 1, 22)) == vn(2026, 10, 2, 7)
    assert campaigns.send_time(vn(2026, 10, 2, 8), vn(2026, 10, 1, 22)) == vn(2026, 10, 2, 8)


async def test_a_kind_turned_off_is_not_planned_and_not_sent(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        await reminders.plan(session, vn(2026, 10, 1, 9))
        # East turns it off after it was planned, before it went.
        await reminders.choose(
            session, people["east"], campaigns.SEASON_OPEN, False, vn(2026, 10, 1, 9)
        )
        due = await chat_reminders.due(session, "telegram", vn(2026, 10, 1, 9, 1))
        await session.commit()
        assert len(due) == 1
        east = await session.scalar(select(Reminder).where(Reminder.person_id == people["east"]))
        assert east is not None
        assert east.outcome == reminders.SKIPPED


async def test_citizens_get_the_yearly_invitation_only_once_they_agreed(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        await reminders.choose(
            session, people["citizen"], campaigns.SELFCHECK_INVITE, True, vn(2026, 9, 1)
        )
        await reminders.plan(session, vn(2026, 10, 1, 9))
        await session.commit()
        invited = [
            who for kind, who in await planned(session) if kind == campaigns.SELFCHECK_INVITE
        ]
        assert invited == [people["citizen"]]


async def test_the_commune_sets_its_own_day_or_turns_a_campaign_off(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        commune = people["commune"]
        await campaigns.change(
            session,
            commune,
            campaigns.SEASON_OPEN,
            vn(2026, 1, 1),
            day=campaigns.parse_day("15/10"),
        )
        assert await reminders.plan(session, vn(2026, 10, 1, 9)) == 0
        assert await reminders.plan(session, vn(2026, 10, 15, 9)) == 2
        await campaigns.change(
            session, commune, campaigns.REPORT_DEADLINE, vn(2026, 1, 1), enabled=False
        )
        assert await reminders.plan(session, vn(2026, 12, 10, 9)) == 0
        kinds = {kind for kind, _who in await planned(session)}
        assert campaigns.REPORT_DEADLINE not in kinds
    with pytest.raises(ValueError, match="day is out of range"):
        campaigns.parse_day("31/2")


async def test_the_report_deadline_tells_officers_how_complete_the_commune_is(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        session.add(
            Household(village_id=people["east_village"], code="H1", head_name="A", members=3)
        )
        # The commune reports on 30/11 (its own date, the default): leaders hear 14 days
        # before it, on 16/11; officers 7 days before it, on 23/11.
        await reminders.plan(session, vn(2026, 11, 17, 9))
        due = await chat_reminders.due(session, "telegram", vn(2026, 11, 17, 9))
        # "Not assessed" went to East only: West has no household to assess.
        assert [d.reply.text.html() for d in due] == [
            "⏰ Thôn Đông: 1 household is not assessed yet for 2026; the ward reports by "
            "30 Nov 2026."
        ]
        await reminders.record(session, due[0].reminder_id, reminders.SENT, vn(2026, 11, 17, 9))
        await reminders.plan(session, vn(2026, 11, 24, 9))
        due = await chat_reminders.due(session, "telegram", vn(2026, 11, 24, 9))
        await session.commit()
        assert len(due) == 1
        text = due[0].reply.text.html()
        assert "the 2026 report goes to the province by 30 Nov 2026" in text
        assert "The province reports to the Ministry and the Association by 15 Dec" in text
        assert "Villages reporting: 0 of 2" in text
        assert "Households assessed: 0 of 1" in text


async def test_the_communes_own_reporting_date_moves_both_deadline_reminders(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        commune = people["commune"]
        await campaigns.change(session, commune, campaigns.REPORT_DEADLINE, vn(2026, 11, 1, 9),
                               day=campaigns.parse_day("20/11"))  # fmt: skip
        session.add(
            Household(village_id=people["east_village"], code="H1", head_name="A", members=3)
        )
        own = (await campaigns.settings_of(session, [commune]))[commune]
        assert own[campaigns.NOT_ASSESSED].date_in(2026) == dt.date(2026, 11, 6)
        assert own[campaigns.REPORT_DEADLINE].date_in(2026) == dt.date(2026, 11, 13)
        await reminders.plan(session, vn(2026, 11, 14, 9))
        due = await chat_reminders.due(session, "telegram", vn(2026, 11, 14, 9))
        texts = [d.reply.text.plain() for d in due]
        assert any("the ward reports by 20 Nov 2026" in text for text in texts)  # 00070 is a ward
        assert any("goes to the province by 20 Nov 2026" in text for text in texts)
        with pytest.raises(ValueError, match="not_assessed"):  # its deadline: the report date
            await campaigns.change(
                session, commune, campaigns.NOT_ASSESSED, vn(2026, 11, 1, 9), day="11-01"
            )


async def test_a_draft_left_for_3_days_reminds_its_leader_with_a_button_that_resumes_it(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        household = Household(
            village_id=people["east_village"], code="H1", head_name="Lan", members=3
        )
        session.add(household)
        await session.flush()
        draft = Assessment(
            form_key="gia-dinh-hoc-tap",
            form_version=1,
            year=2026,
            subject="household",
            household_id=household.id,
            unit_id=people["east_village"],
            created_by=people["east"],
            state="draft",
            created_at=vn(2026, 11, 1),
            updated_at=vn(2026, 11, 1),
        )
        session.add(draft)
        await session.commit()
        assert await reminders.plan(session, vn(2026, 11, 3, 9)) == 0
        assert await reminders.plan(session, vn(2026, 11, 4, 9)) == 1
        due = await chat_reminders.due(session, "telegram", vn(2026, 11, 4, 9))
        assert len(due) == 1
        assert "household Lan is not finished" in due[0].reply.text.html()
        assert due[0].reply.choices()[0].data == f"h:assess:{household.id}"
        await session.rollback()

    # Answered again before it went: the reminder is no longer true and is skipped.
    async with session_factory() as session:
        await reminders.plan(session, vn(2026, 11, 4, 9))
        row = await session.scalar(select(Assessment))
        assert row is not None
        row.updated_at = vn(2026, 11, 4, 8)
        assert await chat_reminders.due(session, "telegram", vn(2026, 11, 4, 9)) == []
        await session.commit()
        assert (await session.scalar(select(Reminder.outcome))) == reminders.SKIPPED


async def test_sending_records_the_outcome_once_and_marks_who_blocked_the_bot(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        await reminders.plan(session, vn(2026, 10, 1, 9))
        due = await chat_reminders.due(session, "telegram", vn(2026, 10, 1, 9))
        first, second = due
        await reminders.record(session, first.reminder_id, reminders.SENT, vn(2026, 10, 1, 9))
        await reminders.record(session, first.reminder_id, reminders.FAILED, vn(2026, 10, 1, 9))
        await reminders.record(session, second.reminder_id, reminders.BLOCKED, vn(2026, 10, 1, 9))
        await session.commit()
        outcomes = dict((await session.execute(select(Reminder.id, Reminder.outcome))).all())
        assert outcomes == {first.reminder_id: "sent", second.reminder_id: "blocked"}
        blocked = await session.scalar(
            select(func.count()).where(Identity.blocked_at.is_not(None))
        )
        assert blocked == 1


async def test_a_network_failure_is_tried_again_later_then_given_up(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        await reminders.plan(session, vn(2026, 10, 1, 9))
        row = (await chat_reminders.due(session, "telegram", vn(2026, 10, 1, 9)))[0]
        for attempt in range(1, reminders.MAX_ATTEMPTS + 1):
            await reminders.record(
                session, row.reminder_id, "retry", vn(2026, 10, 1, 9), dt.timedelta(minutes=2)
            )
            reminder = await session.get(Reminder, row.reminder_id)
            assert reminder is not None
            assert reminder.attempts == attempt
        assert reminder.outcome == reminders.FAILED


async def test_erasure_cancels_what_was_not_sent_and_forgets_the_choices(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        await reminders.plan(session, vn(2026, 10, 1, 9))
        east = await session.get(Person, people["east"])
        assert east is not None
        await reminders.choose(session, east.id, campaigns.BROADCAST, False, vn(2026, 10, 1, 9))
        await erase_person(session, east, vn(2026, 10, 1, 9))
        await session.commit()
        row = await session.scalar(select(Reminder).where(Reminder.person_id == east.id))
        assert row is not None
        assert row.outcome == reminders.SKIPPED
        assert await reminders.choices_of(session, [east.id]) == {}


async def test_a_person_sees_the_next_reminders_in_plain_words(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        officer = await session.get(Person, people["officer"])
        assert officer is not None
        # The commune reports on 30/11: officers hear 7 days before, leaders 14 days before.
        coming = await reminders.upcoming(session, officer, vn(2026, 11, 10, 9))
        assert coming == [(vn(2026, 11, 23, 8), campaigns.REPORT_DEADLINE)]
        leader = await session.get(Person, people["east"])
        assert leader is not None
        coming = await reminders.upcoming(session, leader, vn(2026, 11, 10, 9))
        assert coming == [
            (vn(2026, 11, 16, 8), campaigns.NOT_ASSESSED),
            (vn(2027, 10, 1, 8), campaigns.SEASON_OPEN),
        ]


async def test_a_finished_broadcast_is_reported_to_its_author_once(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    from bot.storage.models import Broadcast

    async with session_factory() as session:
        broadcast = Broadcast(
            unit_id=people["commune"],
            author_id=people["officer"],
            audience="leaders",
            text="Họp chi hội tối thứ Bảy",
            created_at=vn(2026, 11, 2, 9),
        )
        session.add(broadcast)
        await session.flush()
        items = [
            reminders.Planned(
                f"broadcast:{broadcast.id}:{who}",
                who,
                campaigns.BROADCAST,
                vn(2026, 11, 2, 9),
                {"broadcast": broadcast.id},
            )
            for who in (people["east"], people["west"])
        ]
        broadcast.recipients = await reminders.add(session, items, vn(2026, 11, 2, 9))
        assert broadcast.recipients == 2
        assert await reminders.plan(session, vn(2026, 11, 2, 9)) == 0  # not finished yet
        due = await chat_reminders.due(session, "telegram", vn(2026, 11, 2, 9))
        assert [d.reply.text.html().split("\n")[1] for d in due] == ["Họp chi hội tối thứ Bảy"] * 2
        await reminders.record(session, due[0].reminder_id, reminders.SENT, vn(2026, 11, 2, 9))
        await reminders.record(session, due[1].reminder_id, reminders.BLOCKED, vn(2026, 11, 2, 9))
        assert await reminders.plan(session, vn(2026, 11, 2, 9, 1)) == 1
        assert await reminders.plan(session, vn(2026, 11, 2, 9, 2)) == 0
        report = await chat_reminders.due(session, "telegram", vn(2026, 11, 2, 9, 2))
        assert len(report) == 1
        assert "Delivered: 1" in report[0].reply.text.html()
        assert "Not delivered: 1" in report[0].reply.text.html()
        assert "1 blocked the bot" in report[0].reply.text.html()
        payload = await session.scalar(
            select(Reminder.payload).where(Reminder.kind == campaigns.BROADCAST_REPORT)
        )
        assert json.loads(payload or "{}") == {"report": broadcast.id}


async def test_a_broadcast_is_reported_while_someone_silent_on_the_zalo_page_still_waits(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    from bot.storage.models import Broadcast

    now = vn(2026, 11, 2, 9)
    async with session_factory() as session:
        silent = await person(session, "zalo-9", channel="zalo-oa")  # last wrote on 2 January
        await reminders.choose(session, silent.id, campaigns.BROADCAST, True, now)
        broadcast = Broadcast(
            unit_id=people["commune"],
            author_id=people["officer"],
            audience="citizens",
            text="Họp tổ",
            created_at=now,
        )
        session.add(broadcast)
        await session.flush()
        items = [
            reminders.Planned(
                f"broadcast:{broadcast.id}:{who}",
                who,
                campaigns.BROADCAST,
                now,
                {"broadcast": broadcast.id},
            )
            for who in (people["east"], silent.id)
        ]
        assert await reminders.add(session, items, now) == 2
        assert await reminders.reach(session, [people["east"], silent.id], now) == (1, 1)
        [due] = await chat_reminders.due(session, "telegram", now)
        assert await chat_reminders.due(session, "zalo-oa", now) == []  # she must write first
        await reminders.record(session, due.reminder_id, reminders.SENT, now)
        # The one who can get it has: the author hears now, not once she writes (maybe never).
        assert await reminders.plan(session, vn(2026, 11, 2, 9, 1)) == 1
        [report] = await chat_reminders.due(session, "telegram", vn(2026, 11, 2, 9, 1))
        text = report.reply.text.html()
        assert "Delivered: 1" in text
        assert "Waiting until they next write to the Zalo page (silent over a week): 1" in text
        waiting = await session.scalar(select(Reminder).where(Reminder.person_id == silent.id))
        assert waiting is not None and waiting.done_at is None  # still goes when she writes
        await session.commit()


async def test_someone_with_no_messenger_is_counted_as_not_sent_at_once(
    session_factory: async_sessionmaker[AsyncSession], people: dict[str, int]
) -> None:
    async with session_factory() as session:
        local = await person(session, "at-the-desk", channel="terminal")
        item = reminders.Planned(
            "only-terminal",
            local.id,
            campaigns.SEASON_OPEN,
            vn(2026, 11, 22, 9),
            {"unit": people["east_village"], "year": 2026},
        )
        assert await reminders.add(session, [item], vn(2026, 11, 22, 9)) == 1
        row = await session.scalar(select(Reminder).where(Reminder.key == "only-terminal"))
        assert row is not None
        assert (row.channel, row.outcome, row.done_at) == (None, "skipped", vn(2026, 11, 22, 9))
