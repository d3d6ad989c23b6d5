"""The person's own account: joining a role with a code, seeing their data, erasing it.

Must not import any platform library.
"""

from __future__ import annotations

from sqlalchemy import select, update

from bot.chat.callbacks import ACCOUNT, HOME, MENU, Callback, pack
from bot.chat.menus import menu_reply
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_date, format_number
from bot.rich import bold, lines, t
from bot.services import audit, invites, privacy
from bot.services.people import Conversation, is_transient
from bot.services.words import role_name, words_of
from bot.storage.models import Assessment, Clan, Invite, Organisation, Unit
from conversations.text import fold, vietnamese_key

COMMUNE, VILLAGE = 2, 3  # unit levels of communes and villages (villages: and deeper)


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
    used = await turn.session.scalar(select(Invite).where(Invite.code == invites.normalise(code)))
    headed: Organisation | Clan | None = None  # the head of a learning unit or a clan
    if used is not None and used.organisation_id is not None:
        headed = await turn.session.get(Organisation, used.organisation_id)
    elif used is not None and used.clan_id is not None:
        headed = await turn.session.get(Clan, used.clan_id)
    if isinstance(headed, Clan):  # the head of a clan: its assessment is in the menu
        said = t(_("Welcome! You are now the head of the clan {clan} in hoctap."),
                 clan=headed.name)  # fmt: skip
    elif headed is not None:  # the head of a learning unit: its assessment is in the menu
        said = t(_("Welcome! You are now the head of {unit} in hoctap."), unit=headed.name)
    else:
        said = t(_("Welcome! You are now registered for {unit}."), unit=unit.name)
    turn.out.add(Reply(said))
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
    await _chosen_home(turn, village)


async def on_mydata(turn: Turn) -> None:
    """Everything stored about the person, and the way to erase it."""
    if is_transient(turn.person):
        turn.out.add(Reply(t(_("hoctap stores nothing about you: you have not agreed yet."))))
        return
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


# ----------------------------------------------------------------------------- home village

HOME_FLOW = "home"
PAGE = 8  # communes or villages listed at once


async def set_home(turn: Turn, village: Unit) -> None:
    """Record where the person lives; this year's self-checks not yet counted anywhere count
    there from now on."""
    turn.person.home_unit_id = village.id
    await turn.session.execute(
        update(Assessment)
        .where(
            Assessment.person_id == turn.person.id,
            Assessment.subject == "person",
            Assessment.unit_id.is_(None),
            Assessment.year == turn.services.year(),
        )
        .values(unit_id=village.id)
    )
    await audit.record(
        turn.session, turn.person.id, "person.home_set", "person", turn.person.id, turn.now,
        village.id,
    )  # fmt: skip


def home_button() -> Button:
    """The one tap that starts saying where one lives."""
    return Button("📍 " + _("Choose my village"), pack(HOME, "ask", "0"))


def no_village_reply() -> Reply:
    """For a citizen who has not said where they live: their check counts nowhere yet."""
    return Reply(
        "📍 "
        + t(
            _(
                "This self-check counts in no village until you say which one you live in; "
                "only then can it be confirmed."
            )
        ),
        ((home_button(),),),
    )


async def on_home_button(turn: Turn, callback: Callback) -> None:
    """``v:ask|c|s:<id>``: start, pick a commune (id "<commune>-<page>"), pick a village."""
    action, ident = callback.fields
    if action == "ask":
        turn.conversation = Conversation(HOME_FLOW)
        turn.out.add(
            Reply(
                t(
                    _(
                        "Type your village's code (your branch leader has it) or the name of "
                        "your commune:"
                    )
                ),
                expects_text=True,
            )
        )
        return
    unit_id, _sep, page = ident.partition("-")
    unit = await turn.session.get(Unit, int(unit_id)) if unit_id.isdigit() else None
    if unit is None or not unit.active:
        turn.out.notice = t(_("This button is no longer valid."))
    elif action == "c" and unit.level == COMMUNE:
        await _villages_of(turn, unit, int(page) if page.isdigit() else 0)
    elif action == "s" and unit.level >= VILLAGE:
        await _chosen_home(turn, unit)
    else:
        turn.out.notice = t(_("This button is no longer valid."))


async def on_home_text(turn: Turn, text: str) -> None:
    """A typed village code, or the name of a commune to pick the village in."""
    typed = " ".join(text.split())
    village = await turn.session.scalar(
        select(Unit).where(Unit.code == typed, Unit.active.is_(True), Unit.level >= VILLAGE)
    )
    if village is not None:
        await _chosen_home(turn, village)
        return
    found = await _communes_named(turn, typed)
    if len(found) == 1:
        await _villages_of(turn, found[0], 0)
        return
    if not found:
        turn.out.add(
            Reply(
                t(
                    _("I found no village code or commune called {name}. Try again:"),
                    name=typed[:64],
                ),
                expects_text=True,
            )
        )
        return
    buttons = tuple(
        (Button(f"{commune.name} ({province})", pack(HOME, "c", f"{commune.id}-0")),)
        for commune, province in await _with_provinces(turn, found[:PAGE])
    )
    turn.out.add(Reply(t(_("Which commune?")), buttons))


async def _communes_named(turn: Turn, typed: str) -> list[Unit]:
    """Communes whose name holds the typed words, with or without diacritics."""
    wanted = fold(typed)
    if len(wanted) < 2:
        return []
    communes = await turn.session.scalars(
        select(Unit).where(Unit.level == COMMUNE, Unit.active.is_(True))
    )
    return sorted(
        (c for c in communes if wanted in fold(c.name)), key=lambda c: vietnamese_key(c.name)
    )


async def _with_provinces(turn: Turn, communes: list[Unit]) -> list[tuple[Unit, str]]:
    ids = {c.parent_id for c in communes if c.parent_id}
    names = dict(
        (await turn.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids)))).all()
    )
    return [(c, names.get(c.parent_id or 0, "")) for c in communes]


async def _villages_of(turn: Turn, commune: Unit, page: int) -> None:
    villages = sorted(
        await turn.session.scalars(
            select(Unit).where(Unit.parent_id == commune.id, Unit.active.is_(True))
        ),
        key=lambda v: vietnamese_key(v.name),
    )
    if not villages:
        turn.out.add(
            Reply(
                t(
                    _("{commune} has no villages in hoctap yet. Ask your branch leader."),
                    commune=commune.name,
                )
            )
        )
        return
    shown = villages[page * PAGE : (page + 1) * PAGE]
    rows: list[tuple[Button, ...]] = [
        (Button(village.name, pack(HOME, "s", village.id)),) for village in shown
    ]
    pager = []
    if page > 0:
        pager.append(Button("◀", pack(HOME, "c", f"{commune.id}-{page - 1}")))
    if (page + 1) * PAGE < len(villages):
        pager.append(Button("▶", pack(HOME, "c", f"{commune.id}-{page + 1}")))
    if pager:
        rows.append(tuple(pager))
    said = words_of(commune).placeholders()
    question = t(_("Which {village_word} of {commune} do you live in?"), commune=commune.name,
                 **said)  # fmt: skip
    turn.out.add(Reply(question, tuple(rows), edit=turn.tapped))


async def _chosen_home(turn: Turn, village: Unit) -> None:
    await set_home(turn, village)
    turn.conversation = Conversation()
    turn.out.add(
        Reply(
            t(
                _("Noted: you live in {village}. Your self-checks count there."),
                village=village.name,
            ),
            edit=turn.tapped,
        )
    )
    turn.out.add(await menu_reply(turn))
