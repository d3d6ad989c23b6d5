"""Reminders as rows: campaigns plan them, the periodic job sends them, people see and choose them.

- ``plan(session, now)`` turns the campaigns (``campaigns.py``) into reminder rows. Each row has a
  ``key`` (kind, year, unit, person, or the draft and its last change), so planning again —
  every few minutes, after a restart, on two workers — adds nothing twice.
- ``candidates(session, channel, now)`` closes what should no longer go (turned off, blocked,
  nobody to reach) and returns the rest, which ``bot.chat.reminders`` words (or closes, when
  no longer true); ``record`` closes a row once the channel has sent it. The row is closed
  right after Telegram (or Zalo) answers, in its own transaction; see
  ``bot/runtime/reminders.py`` for the one window where a crash can repeat a message.
- ``upcoming``: a person's next reminders, for /reminders (``bot.chat.reminders``).

Must not import any platform library or the chat layer.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import TIMEZONE
from bot.services import campaigns
from bot.services.campaigns import (
    ADMIN_ALERT,
    BROADCAST,
    BROADCAST_REPORT,
    NOT_ASSESSED,
    REPORT_DEADLINE,
    SEASON_OPEN,
    SELFCHECK_INVITE,
    STAFF_KINDS,
    STALE_DRAFT,
)
from bot.services.people import (
    SEEN_EVERY,
    TYPED_KEYS,
    load_conversation,
    roles_of,
    save_conversation,
)
from bot.storage.db import insert_ignore
from bot.storage.models import (
    Assessment,
    Broadcast,
    Identity,
    Person,
    Reminder,
    ReminderChoice,
    RoleAssignment,
    Unit,
)

# In order of preference when a person has several.
MESSENGERS = ("telegram", "zalo-oa", "zalo")
MAX_ATTEMPTS = 5  # network failures before a reminder is given up
SENT, BLOCKED, FAILED, SKIPPED = "sent", "blocked", "failed", "skipped"
# Not closed: the platform says the person cannot be written to until they write again.
HELD = "held"
# Messengers that let the bot write to a person only for a while after the person last wrote:
# a Zalo OA gets error -230 for someone with no interaction in the last 7 days. Reminders to
# someone silent longer stay due, and go once they write (``people.SEEN_EVERY`` is the margin
# by which ``last_seen_at`` may lag).
WINDOWS = {"zalo-oa": dt.timedelta(days=7) - SEEN_EVERY}


# ----------------------------------------------------------------------------- choices


def default_on(kind: str, staff: bool) -> bool:
    """Work reminders are on for leaders and officers; citizens get messages only once they
    have agreed (the yearly invitation, the commune's messages)."""
    if kind in STAFF_KINDS:
        return True
    if kind == BROADCAST:
        return staff
    return kind in (BROADCAST_REPORT, ADMIN_ALERT)


async def choices_of(
    session: AsyncSession, person_ids: Iterable[int]
) -> dict[tuple[int, str], bool]:
    """The choices people made themselves, by (person, kind)."""
    ids = list(person_ids)
    if not ids:
        return {}
    rows = await session.execute(
        select(ReminderChoice.person_id, ReminderChoice.kind, ReminderChoice.enabled).where(
            ReminderChoice.person_id.in_(ids)
        )
    )
    return {(person, kind): enabled for person, kind, enabled in rows}


async def choose(
    session: AsyncSession, person_id: int, kind: str, enabled: bool, now: dt.datetime
) -> None:
    """Record a person's own choice for one kind of reminder."""
    row = await session.get(ReminderChoice, (person_id, kind))
    if row is None:
        row = ReminderChoice(person_id=person_id, kind=kind, enabled=enabled, updated_at=now)
        session.add(row)
    else:
        row.enabled, row.updated_at = enabled, now
    await session.flush()


# ----------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class Planned:
    key: str
    person_id: int
    kind: str
    due_at: dt.datetime
    payload: dict[str, Any]


async def plan(session: AsyncSession, now: dt.datetime) -> int:
    """Add the reminders every campaign calls for now; return how many rows were added."""
    today = campaigns.local_today(now)
    planned: list[Planned] = []
    planned += await _dated(session, today)
    planned += await _stale_drafts(session, now, today.year)
    planned += await _broadcast_reports(session, now)
    return await add(session, planned, now)


async def plan_reports(session: AsyncSession, now: dt.datetime) -> int:
    """Only the counts of finished broadcasts (cheap: planned after every batch sent)."""
    return await add(session, await _broadcast_reports(session, now), now)


async def add(session: AsyncSession, planned: Sequence[Planned], now: dt.datetime) -> int:
    """Store planned reminders once each, for the people who still want them."""
    if not planned:
        return 0
    people = {item.person_id for item in planned}
    chosen = await choices_of(session, people)
    staff = await _staff_among(session, people)
    reach = await channels_of(session, people)
    rows = [
        {
            "key": item.key,
            "person_id": item.person_id,
            "kind": item.kind,
            "channel": reach.get(item.person_id),
            "payload": json.dumps(item.payload),
            "broadcast_id": item.payload.get("broadcast"),
            "due_at": item.due_at,
            "attempts": 0,
            # Nobody to reach (no messenger): closed at once, so a broadcast's count still goes.
            "done_at": None if item.person_id in reach else now,
            "outcome": None if item.person_id in reach else SKIPPED,
            "created_at": now,
        }
        for item in planned
        if chosen.get((item.person_id, item.kind), default_on(item.kind, item.person_id in staff))
    ]
    return await insert_ignore(session, Reminder, rows, ["key"])


async def _staff_among(session: AsyncSession, people: set[int]) -> set[int]:
    rows = await session.scalars(
        select(RoleAssignment.person_id).where(
            RoleAssignment.person_id.in_(people),
            RoleAssignment.revoked_at.is_(None),
            RoleAssignment.role.in_(("leader", "officer")),
        )
    )
    return set(rows)


async def channels_of(session: AsyncSession, people: Iterable[int]) -> dict[int, str]:
    """The messenger each person is reached on (Telegram before Zalo)."""
    rows = await session.execute(
        select(Identity.person_id, Identity.channel).where(
            Identity.person_id.in_(list(people)), Identity.channel.in_(MESSENGERS)
        )
    )
    found: dict[int, str] = {}
    for person, channel in rows:
        if person not in found or MESSENGERS.index(channel) < MESSENGERS.index(found[person]):
            found[person] = channel
    return found


def _window(kind: str, campaign: campaigns.Campaign, today: dt.date) -> dt.date | None:
    """The day of this year's reminder when it should be planned today, else None."""
    day = campaign.date_in(today.year)
    if not campaign.enabled or day is None or today < day:
        return None
    if kind in (NOT_ASSESSED, REPORT_DEADLINE):
        deadline = day + dt.timedelta(days=campaign.days or 0)
        return day if today <= deadline else None
    return day if today <= day + dt.timedelta(days=campaigns.GRACE_DAYS) else None


async def _dated(session: AsyncSession, today: dt.date) -> list[Planned]:
    """Season opening, households not assessed, report deadline, yearly self-check invitation."""
    commune_ids = list(await session.scalars(select(Unit.id).where(Unit.level == 2, Unit.active)))
    settings = await campaigns.settings_of(session, commune_ids) if commune_ids else {}
    planned: list[Planned] = []
    for kind in (SEASON_OPEN, NOT_ASSESSED, REPORT_DEADLINE, SELFCHECK_INVITE):
        days = {
            commune: day
            for commune, own in settings.items()
            if (day := _window(kind, own[kind], today)) is not None
        }
        if not days:
            continue
        for person, commune, unit in await _audience(session, kind, list(days)):
            day = days[commune]
            own = settings[commune][kind]
            # Past this day the reminder is no longer worth sending (the deadline has passed,
            # or the season began long ago).
            until = (
                day + dt.timedelta(days=own.days or 0)
                if kind in (NOT_ASSESSED, REPORT_DEADLINE)
                else day + dt.timedelta(days=campaigns.GRACE_DAYS)
            )
            planned.append(
                Planned(
                    f"{kind}:{today.year}:{unit}:{person}",
                    person,
                    kind,
                    campaigns.due_on(day),
                    {
                        "unit": unit,
                        "year": today.year,
                        "until": until.isoformat(),
                        **_deadline_of(kind, own, day),
                    },
                )
            )
    return planned


def _deadline_of(kind: str, own: campaigns.Campaign, day: dt.date) -> dict[str, str]:
    """For a deadline reminder, the commune's reporting date it speaks of."""
    if kind not in campaigns.DEADLINE_KINDS:
        return {}
    return {"deadline": (day + dt.timedelta(days=own.days or 0)).isoformat()}


async def _audience(
    session: AsyncSession, kind: str, commune_ids: list[int]
) -> list[tuple[int, int, int]]:
    """(person, commune, unit) for everyone a campaign speaks to in these communes."""
    village = select(Unit.id, Unit.parent_id).where(Unit.level == 3, Unit.active).subquery()
    if kind in (SEASON_OPEN, NOT_ASSESSED):
        statement = (
            select(RoleAssignment.person_id, village.c.parent_id, village.c.id)
            .join(village, village.c.id == RoleAssignment.unit_id)
            .where(
                RoleAssignment.role == "leader",
                RoleAssignment.revoked_at.is_(None),
                village.c.parent_id.in_(commune_ids),
            )
        )
    elif kind == REPORT_DEADLINE:
        statement = select(
            RoleAssignment.person_id, RoleAssignment.unit_id, RoleAssignment.unit_id
        ).where(
            RoleAssignment.role == "officer",
            RoleAssignment.revoked_at.is_(None),
            RoleAssignment.unit_id.in_(commune_ids),
        )
    else:  # the yearly invitation: citizens of the commune who asked for it
        statement = citizens_who_agreed(SELFCHECK_INVITE, commune_ids)
    rows = await session.execute(statement.distinct())
    return [(int(p), int(c), int(u)) for p, c, u in rows if c is not None]


def citizens_who_agreed(kind: str, commune_ids: list[int]) -> Any:
    """(person, commune, commune) of people living in these communes who turned ``kind`` on."""
    village = select(Unit.id, Unit.parent_id).where(Unit.level == 3).subquery()
    return (
        select(Person.id, village.c.parent_id, village.c.parent_id)
        .join(village, village.c.id == Person.home_unit_id)
        .join(
            ReminderChoice,
            and_(
                ReminderChoice.person_id == Person.id,
                ReminderChoice.kind == kind,
                ReminderChoice.enabled.is_(True),
            ),
        )
        .where(
            village.c.parent_id.in_(commune_ids),
            Person.consent_at.is_not(None),
            Person.erased_at.is_(None),
        )
    )


async def _stale_drafts(session: AsyncSession, now: dt.datetime, year: int) -> list[Planned]:
    """Household drafts of this year with no answer for the commune's number of days."""
    rows = (
        await session.execute(
            select(
                Assessment.id,
                Assessment.created_by,
                Assessment.household_id,
                Assessment.updated_at,
                Unit.parent_id,
            )
            .join(Unit, Unit.id == Assessment.unit_id)
            .where(
                Assessment.state.in_(("draft", "returned")),
                Assessment.subject == "household",
                Assessment.year == year,
            )
        )
    ).all()
    communes = sorted({int(row.parent_id) for row in rows if row.parent_id is not None})
    settings = await campaigns.settings_of(session, communes)
    planned = []
    for row in rows:
        own = settings.get(row.parent_id, campaigns.DEFAULTS)[STALE_DRAFT]
        idle = dt.timedelta(days=own.days or 0)
        if own.enabled and row.updated_at + idle <= now:
            stamp = int(row.updated_at.timestamp())
            planned.append(
                Planned(
                    f"{STALE_DRAFT}:{row.id}:{stamp}",
                    row.created_by,
                    STALE_DRAFT,
                    row.updated_at + idle,
                    {"assessment": row.id, "household": row.household_id, "stamp": stamp},
                )
            )
    return planned


async def _broadcast_reports(session: AsyncSession, now: dt.datetime) -> list[Planned]:
    """Tell each broadcast's author how it went, once every recipient's row is closed or
    waits for its person to write again (silent past a messenger's window: counted as
    waiting, sent when they write)."""
    open_rows = (
        select(Reminder.id)
        .where(
            Reminder.broadcast_id == Broadcast.id,
            Reminder.done_at.is_(None),
            ~_waiting_for_silence(now),
        )
        .exists()
    )
    finished = (
        await session.scalars(select(Broadcast).where(Broadcast.reported_at.is_(None), ~open_rows))
    ).all()
    planned = []
    for broadcast in finished:
        broadcast.reported_at = now
        planned.append(
            Planned(
                f"{BROADCAST_REPORT}:{broadcast.id}",
                broadcast.author_id,
                BROADCAST_REPORT,
                now,
                {"report": broadcast.id},
            )
        )
    return planned


async def alert_admins(
    session: AsyncSession, key: str, payload: dict[str, Any], now: dt.datetime
) -> int:
    """Tell every administrator about something only they can repair (``key`` keeps it to
    one message each, however often it is raised); return how many were told."""
    admins = await session.scalars(
        select(RoleAssignment.person_id).where(
            RoleAssignment.role == "admin", RoleAssignment.revoked_at.is_(None)
        )
    )
    planned = [
        Planned(f"{ADMIN_ALERT}:{key}:{person}", person, ADMIN_ALERT, now, payload)
        for person in set(admins)
    ]
    return await add(session, planned, now)


async def withdraw_alerts(session: AsyncSession, key: str, now: dt.datetime) -> int:
    """The trouble behind alerts of ``key`` (a prefix) is repaired: those not sent yet are
    closed as skipped, so nobody hears of it afterwards; return how many. The caller commits."""
    prefix = f"{ADMIN_ALERT}:{key}"
    result = await session.execute(
        update(Reminder)
        .where(
            Reminder.kind == ADMIN_ALERT,
            Reminder.done_at.is_(None),
            Reminder.key.startswith(prefix, autoescape=True),
        )
        .values(done_at=now, outcome=SKIPPED)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ----------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class Candidate:
    """A due reminder that may still go: its row, its person and the messenger identity."""

    row: Reminder
    person: Person
    identity: Identity


async def candidates(
    session: AsyncSession,
    channel: str,
    now: dt.datetime,
    limit: int = 100,
    exclude: set[int] | None = None,
) -> list[Candidate]:
    """The reminders due on ``channel`` now, oldest first (none in quiet hours), for the
    caller to word (``bot.chat.reminders.due``).

    What should no longer go is closed here as skipped (turned off, nobody to reach) or
    blocked; the caller commits. Returns an empty list only when nothing more is due.
    """
    if campaigns.is_quiet(now):
        return []
    query = (
        select(Reminder)
        .where(
            Reminder.done_at.is_(None),
            Reminder.channel == channel,
            Reminder.due_at <= now,
            Reminder.id.not_in(exclude or set()),
        )
        .order_by(Reminder.due_at, Reminder.id)
        .limit(limit)
    )
    window = WINDOWS.get(channel)
    if window is not None:  # the rest wait, due, until the person writes again
        query = query.where(_within(channel, now - window))
    while True:
        rows = (await session.scalars(query)).all()
        if not rows:
            return []
        found = await _reachable(session, channel, rows, now)
        if found:
            return found


async def _reachable(
    session: AsyncSession, channel: str, rows: Sequence[Reminder], now: dt.datetime
) -> list[Candidate]:
    people_ids = {row.person_id for row in rows}
    people = {
        p.id: p for p in await session.scalars(select(Person).where(Person.id.in_(people_ids)))
    }
    chats = {
        identity.person_id: identity
        for identity in await session.scalars(
            select(Identity).where(Identity.person_id.in_(people_ids), Identity.channel == channel)
        )
    }
    chosen = await choices_of(session, people_ids)
    staff = await _staff_among(session, people_ids)
    ready = []
    for row in rows:
        person, identity = people.get(row.person_id), chats.get(row.person_id)
        default = default_on(row.kind, row.person_id in staff)
        wanted = chosen.get((row.person_id, row.kind), default)
        if identity is not None and identity.blocked_at is not None:
            close(row, BLOCKED, now)
        elif (
            person is None
            or person.erased_at is not None
            or identity is None
            or identity.chat_id is None
            or not wanted
        ):
            close(row, SKIPPED, now)
        else:
            ready.append(Candidate(row, person, identity))
    await session.flush()
    return ready


def _waiting_for_silence(now: dt.datetime) -> Any:
    """The reminder is on a messenger with a window, and its person fell silent past it."""
    return or_(
        *(
            and_(Reminder.channel == channel, ~_within(channel, now - window))
            for channel, window in WINDOWS.items()
        )
    )


def _within(channel: str, since: dt.datetime) -> Any:
    """The reminder's person wrote on ``channel`` after ``since``."""
    return exists().where(
        Identity.person_id == Reminder.person_id,
        Identity.channel == channel,
        Identity.last_seen_at >= since,
    )


async def reach(session: AsyncSession, people: Iterable[int], now: dt.datetime) -> tuple[int, int]:
    """Of these people, how many a message reaches now, and how many only once they next
    write (silent too long on a messenger with a window, see ``WINDOWS``)."""
    chosen = await channels_of(session, people)
    windowed = [person for person, channel in chosen.items() if channel in WINDOWS]
    later = 0
    if windowed:
        rows = await session.execute(
            select(Identity.person_id, Identity.last_seen_at).where(
                Identity.person_id.in_(windowed), Identity.channel.in_(list(WINDOWS))
            )
        )
        seen = {person: moment for person, moment in rows}
        for person in windowed:
            since = now - WINDOWS[chosen[person]]
            moment = seen.get(person)
            later += moment is None or moment < since
    return len(chosen) - later, later


def quota_hold(channel: str) -> str:
    """The name of the pause a used-up monthly quota puts on a channel's reminders
    (``leases.hold``)."""
    return f"quota:{channel}"


def quota_resets(now: dt.datetime) -> dt.datetime:
    """When a monthly message quota starts again: the first of next month, Vietnam time (Zalo
    does not document the day; taken as the calendar month)."""
    local = now.astimezone(TIMEZONE)
    first = dt.date(local.year + local.month // 12, local.month % 12 + 1, 1)
    return dt.datetime.combine(first, dt.time(0), tzinfo=TIMEZONE).astimezone(dt.UTC)


def close(row: Reminder, outcome: str, now: dt.datetime) -> None:
    """Close a reminder that will not go, or went: ``outcome`` says how."""
    row.done_at, row.outcome = now, outcome


async def record(
    session: AsyncSession,
    reminder_id: int,
    outcome: str,
    now: dt.datetime,
    retry_in: dt.timedelta | None = None,
    keys: dict[str, str] | None = None,
) -> None:
    """What became of one send: sent, blocked, failed, or (``retry_in``) tried again later.

    ``keys``, from channels without buttons: what typing 1, 2, … now means, kept for a person
    at the menu (not in the middle of answering, where a typed number is an answer)."""
    row = await session.get(Reminder, reminder_id)
    if row is None or row.done_at is not None:
        return
    if keys and outcome == SENT:
        conversation = await load_conversation(session, row.person_id)
        if not conversation.flow:
            conversation.data[TYPED_KEYS] = keys
            await save_conversation(session, row.person_id, conversation, now)
    if outcome == BLOCKED and row.channel is not None:
        await session.execute(
            update(Identity)
            .where(Identity.person_id == row.person_id, Identity.channel == row.channel)
            .values(blocked_at=now)
        )
    if outcome == HELD:  # the platform's window closed early: wait for the person's next word
        await session.execute(
            update(Identity)
            .where(Identity.person_id == row.person_id, Identity.channel == row.channel)
            .values(last_seen_at=None)
        )
        return
    if retry_in is not None:
        row.attempts += 1
        if row.attempts < MAX_ATTEMPTS:
            row.due_at = now + retry_in * row.attempts
            return
        outcome = FAILED
    close(row, outcome, now)


# ----------------------------------------------------------------------------- what comes


def kinds_for(roles: set[str]) -> list[str]:
    """The kinds of reminder that can reach someone with these roles."""
    kinds = []
    if "leader" in roles:
        kinds += [SEASON_OPEN, STALE_DRAFT, NOT_ASSESSED]
    if "officer" in roles:
        kinds.append(REPORT_DEADLINE)
    return [*kinds, SELFCHECK_INVITE, BROADCAST]


async def upcoming(
    session: AsyncSession,
    person: Person,
    now: dt.datetime,
    roles: set[str] | None = None,
    chosen: dict[tuple[int, str], bool] | None = None,
) -> list[tuple[dt.datetime, str]]:
    """(when, what) of the person's next reminders: planned ones, then this year's or next
    year's dated campaigns not planned yet. ``roles`` and ``chosen``: when the caller has them."""
    rows = await session.scalars(
        select(Reminder)
        .where(Reminder.person_id == person.id, Reminder.done_at.is_(None))
        .order_by(Reminder.due_at)
        .limit(10)
    )
    items = [(campaigns.send_time(row.due_at, now), row.kind) for row in rows]
    planned_kinds = {kind for _when, kind in items}
    roles = await roles_of(session, person.id) if roles is None else roles
    communes = await _communes_of(session, person)
    if not communes:
        return sorted(items)
    settings = (await campaigns.settings_of(session, [communes[0]]))[communes[0]]
    chosen = await choices_of(session, [person.id]) if chosen is None else chosen
    staff = bool(roles & {"leader", "officer"})
    today = campaigns.local_today(now)
    for kind in kinds_for(roles):
        own = settings.get(kind)
        if (
            own is None
            or not own.enabled
            or kind in planned_kinds
            or not chosen.get((person.id, kind), default_on(kind, staff))
        ):
            continue
        for year in (today.year, today.year + 1):
            day = own.date_in(year)
            if day is not None and day > today:
                items.append((campaigns.due_on(day), kind))
                break
    return sorted(items)


async def _communes_of(session: AsyncSession, person: Person) -> list[int]:
    """The communes a person's roles or home village lie in."""
    units = list(
        await session.scalars(
            select(Unit)
            .join(RoleAssignment, RoleAssignment.unit_id == Unit.id)
            .where(RoleAssignment.person_id == person.id, RoleAssignment.revoked_at.is_(None))
        )
    )
    if person.home_unit_id is not None:
        home = await session.get(Unit, person.home_unit_id)
        if home is not None:
            units.append(home)
    found: list[int] = []
    for unit in units:
        commune = unit.id if unit.level == 2 else unit.parent_id if unit.level == 3 else None
        if commune is not None and commune not in found:
            found.append(commune)
    return found
