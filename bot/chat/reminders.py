"""Reminders as people read them: each kind's words, and /reminders, the next ones in plain
words with a switch per kind.

``due`` words the reminders ``bot.services.reminders`` finds due, in each person's language, as
they stand now (one no longer true is closed unsent). Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.callbacks import BULLETIN, HOUSEHOLD, MENU, REMINDERS, Callback, pack
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import (
    _,
    format_date,
    format_datetime,
    format_number,
    format_time,
    ngettext,
    use_locale,
)
from bot.rich import Text, bold, code, lines, t
from bot.services import campaigns, scope, words
from bot.services.campaigns import (
    ADMIN_ALERT,
    BROADCAST,
    BROADCAST_REPORT,
    NOT_ASSESSED,
    PERSONAL_KINDS,
    REPORT_DEADLINE,
    SEASON_OPEN,
    SELFCHECK_INVITE,
    STALE_DRAFT,
)
from bot.services.context import CDHT_FORMS
from bot.services.people import roles_of
from bot.services.reminders import (
    BLOCKED,
    FAILED,
    SENT,
    SKIPPED,
    candidates,
    choices_of,
    choose,
    close,
    default_on,
    kinds_for,
    upcoming,
)
from bot.services.reports import HOUSEHOLD_FORMS, PERSON_FORMS
from bot.services.tokens import LINK, REPAIR
from bot.storage import queries
from bot.storage.models import Assessment, Broadcast, Household, Person, Reminder, Unit


@dataclass(frozen=True)
class Due:
    """One reminder ready to go: where, and what it says."""

    reminder_id: int
    chat_id: str
    reply: Reply


async def due(
    session: AsyncSession,
    channel: str,
    now: dt.datetime,
    limit: int = 100,
    exclude: set[int] | None = None,
) -> list[Due]:
    """The reminders to send on ``channel`` now, oldest first, each in its person's language;
    one no longer true is closed as skipped. The caller commits."""
    found: list[Due] = []
    while not found:
        ready = await candidates(session, channel, now, limit, exclude)
        if not ready:
            return found
        cache: dict[object, Any] = {}  # rows shared by many reminders (a broadcast, its commune)
        for item in ready:
            with use_locale(item.person.locale):
                reply = await compose(session, item.row, item.person, now, cache)
            if reply is None:
                close(item.row, SKIPPED, now)
                continue
            assert item.identity.chat_id is not None  # candidates() leaves out those without
            found.append(Due(item.row.id, item.identity.chat_id, reply))
        await session.flush()
    return found


async def compose(
    session: AsyncSession,
    row: Reminder,
    person: Person,
    now: dt.datetime,
    cache: dict[object, Any] | None = None,
) -> Reply | None:
    """The reminder's message as it stands now, or None when it is no longer true."""
    data: dict[str, Any] = json.loads(row.payload or "{}")
    if "until" in data and campaigns.local_today(now) > dt.date.fromisoformat(data["until"]):
        return None  # held back too long (quiet hours, an outage): no longer worth sending
    if row.kind == SEASON_OPEN:
        village = await session.get(Unit, data["unit"])
        if village is None or not village.active:
            return None
        return Reply(
            "📅 "
            + t(
                _(
                    "The {year} Learning family assessment has begun. Open the households of "
                    "{village} to start; you can stop at any question and come back."
                ),
                year=data["year"],
                village=village.name,
            ),
            ((Button("🏠 " + _("Households"), pack(MENU, "households")),),),
        )
    if row.kind == STALE_DRAFT:
        return await _stale_text(session, data)
    if row.kind == NOT_ASSESSED:
        return await _not_assessed_text(session, data)
    if row.kind == REPORT_DEADLINE:
        return await _deadline_text(session, data)
    if row.kind == SELFCHECK_INVITE:
        done = await session.scalar(
            select(Assessment.id).where(
                Assessment.person_id == person.id,
                Assessment.form_key.in_(CDHT_FORMS),
                Assessment.year == data["year"],
                Assessment.state != "draft",
            )
        )
        if done is not None:
            return None
        return Reply(
            "📝 "
            + t(
                _(
                    "A new year: check yourself again against the Learning citizen criteria "
                    "and see what to learn next."
                )
            ),
            ((Button("📝 " + _("Self-check: Learning citizen"), pack(MENU, "self")),),),
        )
    if row.kind == BROADCAST:
        cache = {} if cache is None else cache
        key = (BROADCAST, data["broadcast"])
        if key not in cache:
            broadcast = await session.get(Broadcast, data["broadcast"])
            unit = await session.get(Unit, broadcast.unit_id) if broadcast else None
            cache[key] = (
                None if broadcast is None else bulletin(unit.name if unit else "", broadcast.text)
            )
        return None if cache[key] is None else Reply(cache[key])
    if row.kind == BROADCAST_REPORT:
        return await _broadcast_report_text(session, data)
    if row.kind == ADMIN_ALERT and data.get("what") == "token_dead":
        return Reply(
            lines(
                "⚠️ "
                + t(
                    _(
                        "The Zalo Official Account can no longer send messages: its "
                        "authorisation has ended. On the server, run the first command, open "
                        "the page it prints and agree, then run the second with the code that "
                        "page gives:"
                    )
                ),
                code(LINK),
                code(REPAIR),
            )
        )
    return None


def _report_day(data: dict[str, Any]) -> str:
    """The commune's reporting date a deadline reminder was planned for (30/11)."""
    if "deadline" in data:
        return format_date(dt.date.fromisoformat(data["deadline"]))
    return campaigns.day_text(campaigns.REPORT_DAY)


def bulletin(commune: str, message: str) -> Text:
    """A commune officer's message as its recipients see it: the commune's name, then the text."""
    return lines("📣 " + bold(commune), message)


async def _stale_text(session: AsyncSession, data: dict[str, Any]) -> Reply | None:
    assessment = await session.get(Assessment, data["assessment"])
    if (
        assessment is None
        or assessment.state not in ("draft", "returned")
        or int(assessment.updated_at.timestamp()) != data["stamp"]
    ):
        return None  # finished, or answered again since
    household = await session.get(Household, data["household"])
    if household is None or household.removed_at is not None:
        return None
    return Reply(
        "⏰ "
        + t(
            _(
                "The assessment of household {name} is not finished yet. Your answers are "
                "kept: carry on where you stopped."
            ),
            name=household.head_name,
        ),
        ((Button("▶️ " + _("Carry on"), pack(HOUSEHOLD, "assess", household.id)),),),
    )


async def _not_assessed_text(session: AsyncSession, data: dict[str, Any]) -> Reply | None:
    village = await session.get(Unit, data["unit"])
    if village is None or not village.active:
        return None
    rows = await queries.child_counts(
        session, village, data["year"], HOUSEHOLD_FORMS, PERSON_FORMS
    )
    counts = sum((row.counts for row in rows), queries.Counts())
    left = counts.households - counts.assessed
    if left == 0:
        return None
    return Reply(
        "⏰ "
        + t(
            ngettext(
                "{village}: {count} household is not assessed yet for {year}; the "
                "{commune_word} reports by {day}.",
                "{village}: {count} households are not assessed yet for {year}; the "
                "{commune_word} reports by {day}.",
                left,
            ),
            village=village.name,
            count=format_number(left),
            year=data["year"],
            day=_report_day(data),
            **(await words.words_for(session, village)).placeholders(),
        ),
        ((Button("🏠 " + _("Households"), pack(MENU, "households")),),),
    )


async def _deadline_text(session: AsyncSession, data: dict[str, Any]) -> Reply | None:
    commune = await session.get(Unit, data["unit"])
    if commune is None:
        return None
    rows = await queries.child_counts(
        session, commune, data["year"], HOUSEHOLD_FORMS, PERSON_FORMS
    )
    total = sum((row.counts for row in rows), queries.Counts())
    text = lines(
        "📊 "
        + t(
            _(
                "{commune}: the {year} report goes to the province by {day}. (The province "
                "reports to the Ministry and the Association by {province_day}, CV "
                "6782/BGDĐT-GDTX.)"
            ),
            commune=commune.name,
            year=data["year"],
            day=_report_day(data),
            province_day=campaigns.province_deadline_text(),
        ),
        t(
            _("Villages reporting: {done} of {total}"),
            done=format_number(total.villages_reporting),
            total=format_number(total.villages),
        ),
        t(
            _("Households assessed: {done} of {total}"),
            done=format_number(total.assessed),
            total=format_number(total.households),
        ),
        t(_("Waiting for your review: {count}"), count=format_number(total.pending)),
    )
    return Reply(text, ((Button("📊 " + _("Report"), pack(MENU, "report")),),))


async def _broadcast_report_text(session: AsyncSession, data: dict[str, Any]) -> Reply | None:
    broadcast = await session.get(Broadcast, data["report"])
    if broadcast is None:
        return None
    counts = dict(
        (
            await session.execute(
                select(Reminder.outcome, func.count())
                .where(Reminder.broadcast_id == broadcast.id)
                .group_by(Reminder.outcome)
            )
        ).all()
    )
    blocked, skipped = counts.get(BLOCKED, 0), counts.get(SKIPPED, 0)
    waiting = counts.get(None, 0)  # still due: the person has to write first
    return Reply(
        lines(
            "📣 "
            + t(
                _("Your message of {date} has gone out."),
                date=format_datetime(broadcast.created_at),
            ),
            t(_("Delivered: {count}"), count=format_number(counts.get(SENT, 0))),
            t(
                _("Not delivered: {count}"),
                count=format_number(blocked + counts.get(FAILED, 0)),
            ),
            t(_("Of these, {count} blocked the bot."), count=format_number(blocked))
            if blocked
            else None,
            t(_("Not sent (turned off or no messenger): {count}"), count=format_number(skipped))
            if skipped
            else None,
            t(
                _("Waiting until they next write to the Zalo page (silent over a week): {count}"),
                count=format_number(waiting),
            )
            if waiting
            else None,
        )
    )


# ----------------------------------------------------------------------------- /reminders


async def show(turn: Turn) -> None:
    """/reminders: the next reminders in plain words and a switch for each kind."""
    turn.out.add(await view(turn))


async def view(turn: Turn) -> Reply:
    session, person = turn.session, turn.person
    roles = await roles_of(session, person.id)
    staff = bool(roles & {"leader", "officer"})
    chosen = await choices_of(session, [person.id])
    parts = ["🔔 " + bold(t(_("Your reminders")))]
    coming = await upcoming(session, person, turn.now, roles, chosen)
    if coming:
        parts.append(t(_("Coming up:")))
        for when, kind in coming[:8]:
            parts.append(
                "• "
                + t(_("{when}: {what}"), when=_when_text(when), what=campaigns.kind_name(kind))
            )
    else:
        parts.append(t(_("Nothing planned for you at the moment.")))
    parts.append(t(_("No reminder is sent between 21:00 and 7:00.")))
    rows = []
    for kind in kinds_for(roles):
        on = chosen.get((person.id, kind), default_on(kind, staff))
        label = ("🔔 " if on else "🔕 ") + campaigns.kind_name(kind)
        action = "off" if on else "on"
        rows.append((Button(label + (" ✓" if on else ""), pack(REMINDERS, action, kind)),))
    parts.append(t(_("Tap a kind to turn it on or off (🔔 on, 🔕 off).")))
    held = await scope.units_of(session, person.id, ("officer",))
    communes = [unit for unit in held if unit.level == words.COMMUNE]
    if communes:  # one entry for reminders: the commune's campaigns are here too
        parts.append(t(_("What your commune sends to leaders and citizens:")))
        rows.extend(
            (
                Button(
                    "⏰ " + _("Reminders of {commune}").format(commune=commune.name),
                    pack(BULLETIN, "camp", commune.id),
                ),
            )
            for commune in communes
        )
    return Reply(lines(*parts), tuple(rows), edit=turn.tapped)


def _when_text(moment: dt.datetime) -> str:
    """ "1/12 at 8:00" in the person's language, in Vietnam's time."""
    return _("{day} at {time}").format(day=format_date(moment), time=format_time(moment))


async def on_button(turn: Turn, callback: Callback) -> None:
    """``n:on|off:<kind>``: turn one kind of reminder on or off, then show the view again."""
    action, kind = callback.fields
    if kind not in PERSONAL_KINDS or action not in ("on", "off"):
        turn.out.notice = t(_("This button is no longer valid."))
        return
    await choose(turn.session, turn.person.id, kind, action == "on", turn.now)
    turn.out.notice = t(
        _("Turned on: {kind}") if action == "on" else _("Turned off: {kind}"),
        kind=campaigns.kind_name(kind),
    )
    turn.out.add(await view(turn))
