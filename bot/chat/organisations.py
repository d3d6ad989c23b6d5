"""Learning units (Đơn vị học tập) in chat: a commune officer lists, adds and opens the
commune's schools, agencies, enterprises and cooperatives and invites each one's head; the head
(or the officer) assesses the unit, walked like any assessment (``bot/chat/answering.py``).

Buttons are ``d:<action>:<id>``. Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.chat import answering, presenting
from bot.chat.callbacks import MENU, ORGANISATION, Callback, pack
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_datetime, format_number
from bot.rich import Text, bold, code, lines, t
from bot.services import organisations
from bot.services.context import DVHT
from bot.services.people import Conversation
from bot.storage.models import ORGANISATION_KINDS, Assessment, Organisation, Person, Unit

FLOW = "organisation"  # typing a new unit's name, then its staff


def kind_name(kind: str) -> str:
    """A unit's kind, in a word or two."""
    names = {
        "school": _("School"),
        "agency": _("Agency"),
        "enterprise": _("Enterprise"),
        "cooperative": _("Cooperative"),
    }
    return names.get(kind, kind)


async def on_button(turn: Turn, callback: Callback) -> None:
    """Route ``d:<action>:<id>``; every action checks the person's right to it."""
    action, ident = callback.fields
    handler = {
        "go": _assess,
        "list": _list,
        "card": _card,
        "invite": _invite,
        "add": _ask_kind,
        "kind": _ask_name,
    }.get(action)
    if handler is None:
        turn.out.notice = t(_("This button is no longer valid."))
        return
    try:
        await handler(turn, ident)
    except (organisations.OrganisationError, ValueError) as error:
        text = error.text if isinstance(error, organisations.OrganisationError) else None
        turn.out.notice = text or t(_("This button is no longer valid."))
        turn.out.alert = True


async def _unit(turn: Turn, ident: str) -> Organisation:
    return await organisations.get(turn.session, int(ident))


async def _assess(turn: Turn, ident: str) -> None:
    unit = await _unit(turn, ident)
    if not await organisations.may_assess(turn.session, turn.person.id, unit):
        turn.out.notice = t(_("Only this unit's head or its commune officer can."))
        return
    assessment = await organisations.open_assessment(
        turn.session, turn.services.forms, unit, turn.services.year(), turn.person.id, turn.now
    )
    await answering.begin(turn, assessment)


async def _commune(turn: Turn, ident: str) -> Unit:
    commune = await turn.session.get(Unit, int(ident))
    if commune is None:
        raise ValueError(ident)
    return await organisations._commune(turn.session, turn.person.id, commune)


async def _list(turn: Turn, ident: str) -> None:
    commune = await _commune(turn, ident)
    units = await organisations.of_commune(turn.session, commune)
    text = lines(
        "🏫 " + bold(t(_("Learning units of {commune}"), commune=commune.name)),
        t(
            _("Schools, agencies, enterprises and cooperatives: {count}"),
            count=format_number(len(units)),
        ),
    )
    rows = [(Button(unit.name, pack(ORGANISATION, "card", unit.id)),) for unit in units]
    rows.append((Button("➕ " + _("Add a learning unit"), pack(ORGANISATION, "add", commune.id)),))
    rows.append((Button("◀ " + _("Menu"), pack(MENU, "menu")),))
    turn.out.add(Reply(text, tuple(rows), edit=turn.tapped))


async def status_line(turn: Turn, unit: Organisation) -> Text:
    """Where the unit's assessment of the year stands, with its rating once scored."""
    found = await turn.session.scalar(
        select(Assessment)
        .where(Assessment.organisation_id == unit.id, Assessment.year == turn.services.year(),
               Assessment.form_key == DVHT)
        .order_by(Assessment.id.desc())
        .limit(1)
    )  # fmt: skip
    if found is None:
        return t(_("Not assessed yet this year."))
    if found.state == "draft":
        return t(_("Being assessed."))
    form = turn.services.forms.get(found.form_key, found.form_version)
    rated = organisations.rating(form, found.score or 0, bool(found.passed))
    return t(
        _("{score} points, {rating}"),
        score=format_number(found.score or 0, decimals=1),
        rating=presenting.rating_name(rated),
    )


async def _card(turn: Turn, ident: str) -> None:
    unit = await _unit(turn, ident)
    commune = await _commune(turn, str(unit.commune_id))
    head = await turn.session.get(Person, unit.head_id) if unit.head_id else None
    text = lines(
        "🏫 " + bold(t("{name}", name=unit.name)),
        t(_("{kind} in {commune}"), kind=kind_name(unit.kind), commune=commune.name),
        t(_("Staff: {count}"), count=format_number(unit.staff) if unit.staff is not None else "—"),
        t(_("Head: {name}"), name=head.display_name if head else _("not invited yet")),
        await status_line(turn, unit),
    )
    rows = (
        (Button("📝 " + _("Assess the unit"), pack(ORGANISATION, "go", unit.id)),),
        (Button("✉️ " + _("Invite its head"), pack(ORGANISATION, "invite", unit.id)),),
        (Button("◀ " + _("Learning units"), pack(ORGANISATION, "list", commune.id)),),
    )
    turn.out.add(Reply(text, rows, edit=turn.tapped))


async def _invite(turn: Turn, ident: str) -> None:
    unit = await _unit(turn, ident)
    invite = await organisations.invite_head(turn.session, turn.person.id, unit.id, turn.now)
    turn.out.add(
        Reply(
            lines(
                t(_("Invite for the head of {unit}:"), unit=unit.name),
                code(f"/join {invite.code}"),
                t(
                    _("Valid until {date}; it works once."),
                    date=format_datetime(invite.expires_at),
                ),
                turn.services.invite_link(invite.code),
            )
        )
    )


async def _ask_kind(turn: Turn, ident: str) -> None:
    commune = await _commune(turn, ident)
    rows = tuple(
        (Button(kind_name(kind), pack(ORGANISATION, "kind", f"{commune.id}-{kind}")),)
        for kind in ORGANISATION_KINDS
    )
    turn.out.add(Reply(t(_("What kind of unit is it?")), rows, edit=turn.tapped))


async def _ask_name(turn: Turn, ident: str) -> None:
    commune_id, _sep, kind = ident.partition("-")
    commune = await _commune(turn, commune_id)
    if kind not in ORGANISATION_KINDS:
        raise ValueError(kind)
    turn.conversation = Conversation(FLOW, {"commune": commune.id, "kind": kind})
    turn.out.add(Reply(t(_("Type the unit's name, for example Trường Tiểu học Thanh Trì:")),
                       expects_text=True))  # fmt: skip


async def on_text(turn: Turn, text: str) -> None:
    """The new unit's name, then its number of staff (a number, or 0 when not known)."""
    data = dict(turn.conversation.data)
    if "name" not in data:
        name = " ".join(text.split())
        if not name or len(name) > organisations.NAME_MAX:
            turn.out.add(Reply(t(_("Give the unit's name (1 to {maximum} characters)."),
                                 maximum=organisations.NAME_MAX), expects_text=True))  # fmt: skip
            return
        turn.conversation = Conversation(FLOW, {**data, "name": name})
        turn.out.add(Reply(t(_("How many staff does it have? Type a number (0 if not known).")),
                           expects_text=True))  # fmt: skip
        return
    typed = text.strip()
    if not typed.isdigit() or int(typed) > 100_000:
        turn.out.add(Reply(t(_("Type the number of staff as digits, for example 25.")),
                           expects_text=True))  # fmt: skip
        return
    staff = int(typed) or None
    try:
        unit = await organisations.add(
            turn.session,
            turn.person.id,
            int(data["commune"]),
            str(data["kind"]),
            str(data["name"]),
            staff,
            turn.now,
        )
    except organisations.OrganisationError as error:  # fmt: skip
        turn.conversation = Conversation()
        turn.out.add(Reply(error.text))
        return
    turn.conversation = Conversation()
    turn.out.add(Reply("✅ " + t(_("Added {unit}."), unit=unit.name)))
    await _card(turn, str(unit.id))
