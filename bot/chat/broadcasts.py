"""A commune officer's messages to the commune, and the commune's reminder campaigns, in chat.

A message goes to the commune's village leaders, or to its citizens who agreed to hear from the
commune. The officer types it, sees it as people will, and only then sends it; each recipient
gets a reminder row (sent by the periodic job, at Telegram's pace) and the officer is told how
many got it. Must not import any platform library.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from bot.chat.callbacks import BULLETIN, MENU, Callback, pack
from bot.chat.messages import Button, Reply
from bot.chat.reminders import bulletin
from bot.chat.turn import Turn
from bot.i18n import _, format_number, ngettext
from bot.rich import Text, bold, lines, t
from bot.services import audit, campaigns, reminders, scope, words
from bot.services.campaigns import BROADCAST, CAMPAIGNS
from bot.services.people import Conversation
from bot.storage.models import Broadcast, RoleAssignment, Unit

FLOW = "broadcast"
REPORT_DAY = "report_day"  # the commune's reporting date, changed from the campaigns screen
CAMPAIGN_FLOW = "campaign"
AUDIENCES = ("leaders", "citizens")
WHENS = (*CAMPAIGNS, REPORT_DAY)  # what "🗓" changes: a campaign's day or days, or the date
MAX_LENGTH = 1000  # characters: fits one message on Telegram and on Zalo


def menu_button(commune: Unit) -> Button:
    """The officer's entry in the main menu (the commune's reminders are reached from the one
    "Reminders" entry, beside the officer's own)."""
    return Button("📣 " + _("Send a message"), pack(BULLETIN, "new", commune.id))


async def _commune(turn: Turn, ident: str) -> Unit | None:
    unit = await turn.session.get(Unit, int(ident)) if ident.isdigit() else None
    if (
        unit is None
        or unit.level != 2
        or not unit.active
        or not await scope.may(turn.session, turn.person.id, unit, ("officer",))
    ):
        turn.out.notice, turn.out.alert = t(_("That is outside your commune.")), True
        return None
    return unit


async def _typing_for(turn: Turn, field: str, known: Collection[str]) -> tuple[Unit, str] | None:
    """The commune and the ``field`` (audience or campaign) the officer is typing for, as the
    conversation remembers them; None, and the conversation ended, if either is no longer
    valid."""
    data = turn.conversation.data
    commune = await _commune(turn, str(data.get("commune", "")))
    value = str(data.get(field, ""))
    if commune is None or value not in known:
        turn.conversation = Conversation()
        return None
    return commune, value


async def on_button(turn: Turn, callback: Callback) -> None:
    """Route ``b:<action>:<arg>``; every commune is checked against the officer's scope."""
    action, arg = callback.fields
    ident, _sep, rest = arg.partition("-")
    if action == "cancel":
        turn.conversation = Conversation()
        turn.out.add(Reply(t(_("Cancelled: nothing was sent.")), edit=turn.tapped))
        return
    commune = await _commune(turn, ident)
    if commune is None:
        return
    if action == "new":
        await _ask_audience(turn, commune)
    elif action == "to" and rest in AUDIENCES:
        await _ask_text(turn, commune, rest)
    elif action == "send":
        await _send(turn, commune)
    elif action == "camp":
        await show_campaigns(turn, commune)
    elif action == "tog" and rest in CAMPAIGNS:
        own = (await campaigns.settings_of(turn.session, [commune.id]))[commune.id][rest]
        await campaigns.change(turn.session, commune.id, rest, turn.now, enabled=not own.enabled)
        await _changed(turn, commune, rest)
    elif action == "when" and rest in WHENS:
        await _ask_when(turn, commune, rest)
    else:
        turn.out.notice = t(_("This button is no longer valid."))


async def recipients(turn: Turn, commune: Unit, audience: str) -> list[int]:
    """Who a message to this audience reaches (people who turned messages off are left out)."""
    session = turn.session
    if audience == "leaders":
        village_ids = select(Unit.id).where(Unit.parent_id == commune.id, Unit.active)
        people = set(
            await session.scalars(
                select(RoleAssignment.person_id).where(
                    RoleAssignment.role == "leader",
                    RoleAssignment.revoked_at.is_(None),
                    RoleAssignment.unit_id.in_(village_ids),
                )
            )
        )
        chosen = await reminders.choices_of(session, people)
        return sorted(p for p in people if chosen.get((p, BROADCAST), True))
    rows = await session.execute(reminders.citizens_who_agreed(BROADCAST, [commune.id]))
    return sorted({int(person) for person, _c, _u in rows})


async def _ask_audience(turn: Turn, commune: Unit) -> None:
    leaders = len(await recipients(turn, commune, "leaders"))
    citizens = len(await recipients(turn, commune, "citizens"))
    turn.conversation = Conversation()
    turn.out.add(
        Reply(
            "📣 " + t(_("Who should receive the message?")),
            (
                (
                    Button(
                        _("Village leaders ({count})").format(count=format_number(leaders)),
                        pack(BULLETIN, "to", f"{commune.id}-leaders"),
                    ),
                ),
                (
                    Button(
                        _("Citizens who agreed ({count})").format(count=format_number(citizens)),
                        pack(BULLETIN, "to", f"{commune.id}-citizens"),
                    ),
                ),
                (Button("✖️ " + _("Cancel"), pack(BULLETIN, "cancel", "0")),),
            ),
            edit=turn.tapped,
        )
    )


async def _ask_text(turn: Turn, commune: Unit, audience: str) -> None:
    turn.conversation = Conversation(FLOW, {"commune": commune.id, "audience": audience})
    turn.out.add(
        Reply(
            t(
                _("Type the message (up to {limit} characters). You will see it before it goes."),
                limit=format_number(MAX_LENGTH),
            ),
            ((Button("✖️ " + _("Cancel"), pack(BULLETIN, "cancel", "0")),),),
            expects_text=True,
        )
    )


async def on_text(turn: Turn, text: str) -> None:
    """The typed message (shown back as a preview) or a campaign's new day or days."""
    if turn.conversation.flow == CAMPAIGN_FLOW:
        await _on_when(turn, text)
        return
    data = dict(turn.conversation.data)
    found = await _typing_for(turn, "audience", AUDIENCES)
    if found is None:
        return
    commune, audience = found
    message = text.strip()
    if not message or len(message) > MAX_LENGTH:
        turn.out.add(
            Reply(
                t(
                    _(
                        "The message must have 1 to {limit} characters; yours has {count}. Type "
                        "it again:"
                    ),
                    limit=format_number(MAX_LENGTH),
                    count=format_number(len(message)),
                ),
                expects_text=True,
            )
        )
        return
    people = await recipients(turn, commune, audience)
    count = len(people)
    if count == 0:
        turn.conversation = Conversation()
        turn.out.add(Reply(t(_("Nobody to send it to yet: nothing was sent."))))
        return
    turn.conversation = Conversation(FLOW, {**data, "text": message})
    when = campaigns.send_time(turn.now, turn.now)
    night = t(_("It is night now: it goes from 7:00.")) if when > turn.now else None
    turn.out.add(
        Reply(
            lines(
                bold(t(_("Preview"))),
                "",
                bulletin(commune.name, message),
                "",
                _reach_text(count),
                _later_text(*await reminders.reach(turn.session, people, turn.now)),
                night,
            ),
            (
                (Button("✅ " + _("Send"), pack(BULLETIN, "send", commune.id)),),
                (
                    Button(
                        "✏️ " + _("Change the text"),
                        pack(BULLETIN, "to", f"{commune.id}-{audience}"),
                    ),
                ),
                (Button("✖️ " + _("Cancel"), pack(BULLETIN, "cancel", "0")),),
            ),
        )
    )


def _reach_text(count: int) -> Text:
    """How many the message goes to."""
    return t(
        ngettext("It goes to {count} person.", "It goes to {count} people.", count),
        count=format_number(count),
    )


def _later_text(now: int, later: int) -> Text | None:
    """How many it reaches at once and how many only once they write again (a Zalo Official
    Account may write to someone only within 7 days of their last message)."""
    if not later:
        return None
    return t(
        ngettext(
            "{now} can get it now; {later} person has not written to the Zalo page for over "
            "a week and gets it when they next write.",
            "{now} can get it now; {later} people have not written to the Zalo page for over "
            "a week and get it when they next write.",
            later,
        ),
        now=format_number(now),
        later=format_number(later),
    )


async def _send(turn: Turn, commune: Unit) -> None:
    data = turn.conversation.data
    if (
        turn.conversation.flow != FLOW
        or data.get("commune") != commune.id
        or not isinstance(data.get("text"), str)
    ):
        turn.out.notice = t(_("This message was already sent or cancelled."))
        return
    audience = str(data["audience"])
    people = await recipients(turn, commune, audience)
    broadcast = Broadcast(
        unit_id=commune.id,
        author_id=turn.person.id,
        audience=audience,
        text=data["text"],
        created_at=turn.now,
    )
    turn.session.add(broadcast)
    await turn.session.flush()
    planned = [
        reminders.Planned(
            f"{BROADCAST}:{broadcast.id}:{person}",
            person,
            BROADCAST,
            turn.now,
            {"broadcast": broadcast.id},
        )
        for person in people
    ]
    broadcast.recipients = await reminders.add(turn.session, planned, turn.now)
    await audit.record(
        turn.session,
        turn.person.id,
        "broadcast.sent",
        "broadcast",
        broadcast.id,
        turn.now,
        commune.id,
        detail=f"{audience}:{broadcast.recipients}",
    )
    turn.conversation = Conversation()
    turn.out.wake_reminders = True
    turn.out.add(
        Reply(
            "📣 "
            + t(
                _("Sending to {count} people. I will tell you how many got it."),
                count=format_number(broadcast.recipients),
            ),
            edit=turn.tapped,
        )
    )


async def show_campaigns(turn: Turn, commune: Unit) -> None:
    """The commune's reminder campaigns: on or off, and when each goes."""
    own = (await campaigns.settings_of(turn.session, [commune.id]))[commune.id]
    report_day = campaigns.day_text(own[campaigns.REPORT_DEADLINE].day)
    parts = [
        "⏰ " + bold(t(_("Reminders of {commune}"), commune=commune.name)),
        "📅 "
        + t(
            _(
                "The {commune_word} reports to the province on {day} (the province by "
                "{province_day})."
            ),
            day=report_day,
            province_day=campaigns.province_deadline_text(),
            **words.words_of(commune).placeholders(),
        ),
    ]
    rows: list[tuple[Button, ...]] = [
        (
            Button(
                "📅 " + _("Change the reporting date"),
                pack(BULLETIN, "when", f"{commune.id}-{REPORT_DAY}"),
            ),
        )
    ]
    for kind in CAMPAIGNS:
        campaign = own[kind]
        mark = "✅" if campaign.enabled else "⛔"
        parts.append(
            t(
                "{mark} {kind}: {when}",
                mark=mark,
                kind=campaigns.kind_name(kind),
                when=campaigns.describe(campaign),
            )
        )
        rows.append(
            (
                Button(
                    (_("Turn off") if campaign.enabled else _("Turn on"))
                    + ": "
                    + campaigns.kind_name(kind),
                    pack(BULLETIN, "tog", f"{commune.id}-{kind}"),
                ),
                Button("🗓", pack(BULLETIN, "when", f"{commune.id}-{kind}")),
            )
        )
    parts.append(t(_("Tap 🗓 to change when a reminder goes.")))
    rows.append((Button("⬅️ " + _("Menu"), pack(MENU, "menu")),))
    turn.out.add(Reply(lines(*parts), tuple(rows), edit=turn.tapped))


async def _ask_when(turn: Turn, commune: Unit, kind: str) -> None:
    own = (await campaigns.settings_of(turn.session, [commune.id]))[commune.id]
    campaign = own[campaigns.REPORT_DEADLINE if kind == REPORT_DAY else kind]
    turn.conversation = Conversation(CAMPAIGN_FLOW, {"commune": commune.id, "kind": kind})
    if kind == REPORT_DAY:
        question = _(
            "On which day does the commune report to the province? Type day/month, for "
            "example 30/11:"
        )
    elif campaign.kind == campaigns.STALE_DRAFT:
        question = _("After how many days without an answer? Type a number (now {days}):")
    elif campaign.kind in campaigns.DEADLINE_KINDS:
        question = _("How many days before the deadline? Type a number (now {days}):")
    else:
        question = _("On which day each year? Type day/month, for example 1/10:")
    turn.out.add(Reply(t(question, days=campaign.days or ""), expects_text=True))


async def _on_when(turn: Turn, text: str) -> None:
    found = await _typing_for(turn, "kind", WHENS)
    if found is None:
        return
    commune, kind = found
    try:
        if kind == REPORT_DAY:
            kind = campaigns.REPORT_DEADLINE  # its day is the commune's reporting date
            await campaigns.change(
                turn.session, commune.id, kind, turn.now, day=campaigns.parse_day(text)
            )
        elif campaigns.DEFAULTS[kind].day is not None and kind not in campaigns.DEADLINE_KINDS:
            await campaigns.change(
                turn.session, commune.id, kind, turn.now, day=campaigns.parse_day(text)
            )
        else:
            days = int(text.strip())
            await campaigns.change(turn.session, commune.id, kind, turn.now, days=days)
    except ValueError:
        turn.out.add(
            Reply(t(_("That is not a day or a number I can use. Try again:")), expects_text=True)
        )
        return
    turn.conversation = Conversation()
    await _changed(turn, commune, kind)


async def _changed(turn: Turn, commune: Unit, kind: str) -> None:
    """Log a campaign changed by the officer, and show the campaigns as they now stand."""
    await audit.record(
        turn.session,
        turn.person.id,
        "campaign.changed",
        "unit",
        commune.id,
        turn.now,
        commune.id,
        detail=kind,
    )
    await show_campaigns(turn, commune)
