"""The person's own account: joining a role with a code, seeing their data, erasing it.

Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.i18n import _, format_date, format_number
from bot.rich import bold, lines, t
from bot.services import audit, invites, privacy
from bot.services.callbacks import ACCOUNT, MENU, pack
from bot.services.menus import menu_reply
from bot.services.messages import Button, Reply
from bot.services.people import Conversation
from bot.services.turn import Turn
from bot.storage.models import Unit

VILLAGE = 3  # unit level of villages (and anything deeper)


def role_name(role: str) -> str:
    """A role in words, in the person's language."""
    names = {
        "leader": _("village leader"),
        "officer": _("commune officer"),
        "province": _("province viewer"),
        "admin": _("administrator"),
    }
    return names.get(role, role)


async def on_join(turn: Turn) -> None:
    """``/join CODE`` (or a deep link): take up the role the code stands for."""
    code = turn.inbound.argument.strip()
    if not code:
        turn.out.add(Reply(t(_("Send the code you were given like this: /join ABCD2345"))))
        return
    try:
        unit = await invites.join(turn.session, turn.person, code, turn.now)
    except invites.InviteError as error:
        turn.out.add(Reply(error.text))
        return
    if unit.level >= VILLAGE and turn.person.home_unit_id is None:
        turn.person.home_unit_id = unit.id  # a village leader usually lives in the village
    turn.out.add(Reply(t(_("Welcome! You are now registered for {unit}."), unit=unit.name)))
    turn.out.add(await menu_reply(turn))


async def on_village(turn: Turn) -> None:
    """``/village CODE`` (or a deep link): say which village one lives in, so one's self-checks
    count in its totals. Village leaders share the code with their residents."""
    code = turn.inbound.argument.strip().removeprefix("v-")
    village = await turn.session.scalar(
        select(Unit).where(Unit.code == code, Unit.active.is_(True), Unit.level >= VILLAGE)
    )
    if village is None:
        turn.out.add(
            Reply(
                t(
                    _("There is no village with code {code}. Ask your village leader for it."),
                    code=code[:32],
                )
            )
        )
        return
    turn.person.home_unit_id = village.id
    await audit.record(
        turn.session,
        turn.person.id,
        "person.home_set",
        "person",
        turn.person.id,
        turn.now,
        village.id,
    )
    turn.out.add(
        Reply(
            t(
                _("Noted: you live in {village}. Your self-checks count there."),
                village=village.name,
            )
        )
    )
    turn.out.add(await menu_reply(turn))


async def on_mydata(turn: Turn) -> None:
    """Everything stored about the person, and the way to erase it."""
    data = await privacy.personal_data(turn.session, turn.person)
    consent = (
        t(
            _("given on {date} for: {purpose}"),
            date=format_date(data.consent_at),
            purpose=data.consent_purpose or "",
        )
        if data.consent_at
        else t(_("not given"))
    )
    roles = ", ".join(f"{role_name(r)} ({u})" for r, u in data.roles) or "—"
    text = lines(
        bold(t(_("What hoctap keeps about you"))),
        t(_("Name: {name}"), name=data.name),
        t(_("Language: {locale}"), locale=data.locale),
        t(_("Consent: {consent}"), consent=consent),
        t(_("Messengers: {channels}"), channels=", ".join(data.channels)),
        t(_("Roles: {roles}"), roles=roles),
        t(
            _("Your self-checks: {count} ({answers} answers)"),
            count=format_number(data.self_checks),
            answers=format_number(data.answers),
        ),
        t(
            _("Earlier answers kept after you changed them: {count}"),
            count=format_number(data.revisions),
        ),
        t(_("Households you assessed: {count}"), count=format_number(data.households_assessed)),
        t(
            _("Household answers you changed (their earlier values are kept): {count}"),
            count=format_number(data.household_changes),
        ),
        "",
        t(_("Household answers belong to the households: their leader can remove a household.")),
    )
    turn.out.add(
        Reply(
            text,
            (
                (Button("🗑 " + _("Erase my data"), pack(ACCOUNT, "erase")),),
                (Button("◀ " + _("Menu"), pack(MENU, "menu")),),
            ),
        )
    )


async def on_button(turn: Turn, action: str) -> None:
    """Erase, after a confirmation that names what goes and what stays."""
    if action == "erase":
        turn.out.add(
            Reply(
                t(
                    _(
                        "Erase your name, your answers and your roles now? Your results stay "
                        "only as anonymous numbers in past totals. This cannot be undone."
                    )
                ),
                (
                    (Button(_("Yes, erase everything"), pack(ACCOUNT, "erase-yes")),),
                    (Button(_("No, keep my data"), pack(MENU, "menu")),),
                ),
                edit=turn.tapped,
            )
        )
        return
    if action == "erase-yes":
        await privacy.erase_person(turn.session, turn.person, turn.now)
        turn.conversation = Conversation()
        turn.out.add(
            Reply(
                t(_("Done: your data is erased. If you write again, you start as a new person.")),
                edit=turn.tapped,
            )
        )
        return
    turn.out.notice = t(_("This button is no longer valid."))
