"""The village leader's households: the list with this year's status, one household's card,
registering for the year, adding a household, starting or resuming its assessment, and the
village's summary. A leader sees and changes only the villages assigned to them.
Must not import any platform library.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import answering, communities, presenting
from bot.chat.callbacks import CLAN, HOUSEHOLD, MENU, Callback, pack
from bot.chat.menus import menu_reply
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_number, format_percent
from bot.rich import lines, t
from bot.services import assessing, audit, clans, privacy, registration, units
from bot.services.context import GDHT
from bot.services.people import Conversation, villages_led
from bot.storage.models import Answer, Assessment, Household, Registration, Unit

PAGE = 8
ADD_FLOW = "add_household"
MAX_MEMBERS = 50


@dataclass(frozen=True)
class Status:
    """One household's standing for a year."""

    household: Household
    registered: bool
    state: str | None
    passed: bool | None
    answered: int


def status_parts(status: Status) -> tuple[str, str]:
    """An icon and a short word: not registered, registered, draft, submitted, recognised."""
    if status.state == "recognised":
        return "🏅", _("recognised")
    if status.state in ("submitted", "not_recognised"):
        return "📨", (_("submitted, passes") if status.passed else _("submitted, below"))
    if status.state in ("draft", "returned"):
        return "📝", _("draft ({count} answers)").format(count=status.answered)
    return ("🔵", _("registered")) if status.registered else ("⚪", _("not registered"))


def status_label(status: Status) -> str:
    """The status as the icon and the word."""
    return " ".join(status_parts(status))


def list_label(status: Status) -> str:
    """One household in the list; the icon leads, so a narrow screen that cuts the label short
    still shows each household's status."""
    icon, word = status_parts(status)
    return f"{icon} {status.household.code} · {status.household.head_name} · {word}"


async def statuses(session: AsyncSession, village_id: int, year: int) -> list[Status]:
    """Every current household of a village with its status for the year, in one query."""
    answered = (
        select(Answer.assessment_id, func.count().label("n"))
        .group_by(Answer.assessment_id)
        .subquery()
    )
    rows = await session.execute(
        select(Household, Registration.year, Assessment.state, Assessment.passed, answered.c.n)
        .outerjoin(
            Registration,
            and_(Registration.household_id == Household.id, Registration.year == year),
        )
        .outerjoin(
            Assessment,
            and_(
                Assessment.household_id == Household.id,
                Assessment.year == year,
                Assessment.form_key == GDHT,
            ),
        )
        .outerjoin(answered, answered.c.assessment_id == Assessment.id)
        .where(Household.village_id == village_id, Household.removed_at.is_(None))
        .order_by(Household.code, Assessment.id)
    )
    found: dict[int, Status] = {}
    for household, reg_year, state, passed, count in rows:
        found[household.id] = Status(household, reg_year is not None, state, passed, count or 0)
    return list(found.values())


async def on_button(turn: Turn, callback: Callback) -> None:
    """Route ``h:<action>:<id>`` after checking the village is this leader's."""
    action, ident = callback.fields
    actions = {
        "list": _list,
        "open": _open,
        "reg": _register,
        "unreg": _unregister,
        "go": _assess,
        "add": _ask_name,
        "sum": _summary,
        "del": _ask_remove,
        "size": _ask_size,
        "nowa": _no_working_age,
        "delok": _remove,
    }
    handler = actions.get(action)
    if handler is None:
        turn.out.notice = t(_("This button is no longer valid."))
        return
    await handler(turn, ident)


async def _my_village(turn: Turn, village_id: int) -> Unit | None:
    for village in await villages_led(turn.session, turn.person.id):
        if village.id == village_id:
            return village
    turn.out.notice = t(_("You are not a leader of that village."))
    turn.out.alert = True
    return None


async def _my_household(turn: Turn, ident: str) -> Household | None:
    household = await turn.session.get(Household, int(ident)) if ident.isdigit() else None
    if household is None or household.removed_at is not None:
        turn.out.notice = t(_("That household is no longer on the list."))
        return None
    if await _my_village(turn, household.village_id) is None:
        return None
    return household


async def _list(turn: Turn, ident: str) -> None:
    village_part, _sep, page_part = ident.partition("-")
    village = await _my_village(turn, int(village_part)) if village_part.isdigit() else None
    if village is None:
        return
    page = int(page_part) if page_part.isdigit() else 0
    year = turn.services.year()
    rows = await statuses(turn.session, village.id, year)
    shown = rows[page * PAGE : (page + 1) * PAGE]
    text = t(
        _("<b>{village}</b>, year {year}: {count} households"),
        village=village.name,
        year=year,
        count=format_number(len(rows)),
    )
    if not rows:
        text = lines(text, t(_("No households yet. Add the first one.")))
    buttons: list[tuple[Button, ...]] = [
        (
            Button(
                list_label(s),
                pack(HOUSEHOLD, "open", s.household.id),
            ),
        )
        for s in shown
    ]
    pager = []
    if page > 0:
        pager.append(Button("◀", pack(HOUSEHOLD, "list", f"{village.id}-{page - 1}")))
    if (page + 1) * PAGE < len(rows):
        pager.append(Button("▶", pack(HOUSEHOLD, "list", f"{village.id}-{page + 1}")))
    if pager:
        buttons.append(tuple(pager))
    buttons.append(
        (
            Button("+ " + _("Add a household"), pack(HOUSEHOLD, "add", village.id)),
            Button("🏠 " + _("Menu"), pack(MENU, "menu")),
        )
    )
    turn.out.add(Reply(text, tuple(buttons), edit=turn.tapped))


async def _open(turn: Turn, ident: str) -> None:
    household = await _my_household(turn, ident)
    if household is None:
        return
    turn.out.add(await card(turn, household))


async def card(turn: Turn, household: Household) -> Reply:
    """One household: who, this year's status, and what the leader can do next."""
    year = turn.services.year()
    status = next(
        s
        for s in await statuses(turn.session, household.village_id, year)
        if s.household.id == household.id
    )
    working_age = (
        t(_("{count} of working age"), count=household.working_age)
        if household.working_age is not None
        else t(_("working age not given yet"))
    )
    text = lines(
        "🏠 " + t(_("Household {code} · {name}"), code=household.code, name=household.head_name),
        t(_("{members} people · {working_age}"), members=household.members,
          working_age=working_age),
        t(_("Year {year}: {status}"), year=year, status=status_label(status)),
        None if status.registered or status.state not in (None, "draft") else t(
            _("Registering is the household's own step: tap Register once it has signed up.")
        ),
    )  # fmt: skip
    register = (
        _("Cancel registration for {year}") if status.registered else _("Register for {year}")
    ).format(year=year)
    go = {
        None: _("Start the assessment"),
        "draft": _("Continue the assessment"),
        "returned": _("Continue the assessment"),
    }.get(status.state, _("See the result"))
    buttons: list[tuple[Button, ...]] = [(Button("▶ " + go, pack(HOUSEHOLD, "go", household.id)),)]
    if status.state in (None, "draft"):
        # Two actions, not one toggle: a double tap must not undo the first tap.
        action = "unreg" if status.registered else "reg"
        buttons.append((Button(register, pack(HOUSEHOLD, action, household.id)),))
    buttons.append(
        (Button("👥 " + _("Change the number of people"), pack(HOUSEHOLD, "size", household.id)),)
    )
    clan = await clans.clan_of(turn.session, household)
    clan_label = _("Clan: {clan}").format(clan=clan.name) if clan else _("Clan: none")
    buttons.append((Button("👪 " + clan_label, pack(CLAN, "pick", household.id)),))
    buttons.append(
        (Button("🗑 " + _("Remove from the list"), pack(HOUSEHOLD, "del", household.id)),)
    )
    buttons.append(
        (Button("◀ " + _("Households"), pack(HOUSEHOLD, "list", f"{household.village_id}-0")),)
    )
    return Reply(text, tuple(buttons), edit=turn.tapped)


async def _ask_remove(turn: Turn, ident: str) -> None:
    household = await _my_household(turn, ident)
    if household is None:
        return
    turn.out.add(
        Reply(
            t(
                _(
                    "Remove household {code} · {name}? Its name and answers are erased; its "
                    "past results stay only as numbers in the totals."
                ),
                code=household.code,
                name=household.head_name,
            ),
            (
                (Button(_("Yes, remove it"), pack(HOUSEHOLD, "delok", household.id)),),
                (Button(_("No, keep it"), pack(HOUSEHOLD, "open", household.id)),),
            ),
            edit=turn.tapped,
        )
    )


async def _remove(turn: Turn, ident: str) -> None:
    household = await _my_household(turn, ident)
    if household is None:
        return
    await privacy.remove_household(turn.session, turn.person.id, household, turn.now)
    turn.out.notice = t(_("Household removed."))
    await _list(turn, f"{household.village_id}-0")


async def _register(turn: Turn, ident: str) -> None:
    await _set_registration(turn, ident, registered=True)


async def _unregister(turn: Turn, ident: str) -> None:
    await _set_registration(turn, ident, registered=False)


async def _set_registration(turn: Turn, ident: str, registered: bool) -> None:
    household = await _my_household(turn, ident)
    if household is None:
        return
    year = turn.services.year()
    try:
        if registered:
            await registration.register(turn.session, turn.person.id, household, year, turn.now)
        else:
            await registration.unregister(turn.session, turn.person.id, household, year, turn.now)
    except registration.RegistrationError as error:
        turn.out.notice, turn.out.alert = error.text, True
    else:
        turn.out.notice = t(
            _("Registered for {year}.") if registered else _("Registration for {year} cancelled."),
            year=year,
        )
    turn.out.add(await card(turn, household))


async def _assess(turn: Turn, ident: str) -> None:
    household = await _my_household(turn, ident)
    if household is None:
        return
    year = turn.services.year()
    # Never registers: registering is the household's own step (see bot/services/registration).
    form = turn.services.forms.get(GDHT)
    assessment = await assessing.open_household_assessment(
        turn.session, form, household, year, turn.person.id, turn.now
    )
    await answering.begin(turn, assessment)


async def start_adding(turn: Turn) -> None:
    """The /add command: add a household to the leader's (first) village."""
    villages = await villages_led(turn.session, turn.person.id)
    if not villages:
        turn.out.add(Reply(t(_("Only village leaders can add households."))))
        return
    await _ask_name(turn, str(villages[0].id))


async def _ask_name(turn: Turn, ident: str) -> None:
    village = await _my_village(turn, int(ident)) if ident.isdigit() else None
    if village is None:
        return
    turn.conversation = Conversation(ADD_FLOW, {"village": village.id, "step": "name"})
    turn.out.add(
        Reply(
            t(
                _("New household in {village}. Type the name of the head of the household:"),
                village=village.name,
            )
        )
    )


async def on_add_text(turn: Turn, text: str) -> None:
    """The typed name, then the number of people, then how many are of working age; then the
    household exists. A household's size is changed the same way (``size`` in the data)."""
    data = turn.conversation.data
    village = await _my_village(turn, int(data.get("village", 0)))
    if village is None:
        turn.conversation = Conversation()
        return
    text = " ".join(text.split())
    step = data.get("step")
    if step == "name":
        if not 2 <= len(text) <= 100:
            turn.out.add(
                Reply(t(_("Please type the head of the household's name (2 to 100 letters).")))
            )
            return
        _ask_members(turn, {**data, "name": text})
    elif step == "members":
        if not text.isdigit() or not 1 <= int(text) <= MAX_MEMBERS:
            turn.out.add(
                Reply(t(_("Please type a number from 1 to {maximum}."), maximum=MAX_MEMBERS))
            )
            return
        _ask_working_age(turn, {**data, "members": int(text)})
    else:
        members = int(data.get("members", 1))
        if not text.isdigit() or int(text) > members:
            turn.out.add(_working_age_question(members, again=True))
            return
        await _sized(turn, village, data, int(text))


def _ask_members(turn: Turn, data: dict[str, object]) -> None:
    turn.conversation = Conversation(ADD_FLOW, {**data, "step": "members"})
    turn.out.add(
        Reply(
            t(
                _("How many people live in the household? Type a number from 1 to {maximum}."),
                maximum=MAX_MEMBERS,
            ),
            expects_text=True,
        )
    )


def _ask_working_age(turn: Turn, data: dict[str, object]) -> None:
    turn.conversation = Conversation(ADD_FLOW, {**data, "step": "working_age"})
    turn.out.add(_working_age_question(int(str(data["members"]))))


def _working_age_question(members: int, again: bool = False) -> Reply:
    """How many are of working age: the base the Công dân học tập share is counted on."""
    question = t(
        _(
            "Of the {members} people, how many are of working age (about 15 to 60)? Type a "
            "number from 0 to {members}."
        ),
        members=members,
    )
    if again:
        question = "⚠️ " + question
    skip = Button(_("Not known yet"), pack(HOUSEHOLD, "nowa", "0"))
    return Reply(question, ((skip,),), expects_text=True)


async def _no_working_age(turn: Turn, _ident: str) -> None:
    """The leader does not know the figure yet: the household is kept without it."""
    data = turn.conversation.data
    if turn.conversation.flow != ADD_FLOW or data.get("step") != "working_age":
        turn.out.notice = t(_("This button is no longer valid."))
        return
    village = await _my_village(turn, int(data.get("village", 0)))
    if village is not None:
        await _sized(turn, village, data, None)


async def _sized(
    turn: Turn, village: Unit, data: dict[str, object], working_age: int | None
) -> None:
    """Create the new household, or store the changed size of an existing one."""
    members = int(str(data["members"]))
    turn.conversation = Conversation()
    if "household" in data:
        household = await _my_household(turn, str(data["household"]))
        if household is None:
            return
        if units.update_household(household, members, working_age):
            await audit.record(
                turn.session, turn.person.id, "household.size_changed", "household",
                household.id, turn.now, household.village_id,
            )  # fmt: skip
        turn.out.notice = t(_("Saved."))
        turn.out.add(await card(turn, household))
        return
    household = await _create(turn.session, village, str(data["name"]), members, turn)
    household.working_age = working_age
    turn.out.add(
        Reply(
            t(_("Added household {code} · {name}."), code=household.code, name=household.head_name)
        )
    )
    turn.out.add(await card(turn, household))


async def _ask_size(turn: Turn, ident: str) -> None:
    """Change an existing household's number of people and of working-age members."""
    household = await _my_household(turn, ident)
    if household is not None:
        _ask_members(turn, {"village": household.village_id, "household": household.id})


async def _create(
    session: AsyncSession, village: Unit, name: str, members: int, turn: Turn
) -> Household:
    codes = set(
        await session.scalars(select(Household.code).where(Household.village_id == village.id))
    )
    number = len(codes) + 1
    while f"H{number:03d}" in codes:
        number += 1
    household = Household(
        village_id=village.id,
        code=f"H{number:03d}",
        head_name=name,
        members=members,
        created_at=turn.now,
    )
    session.add(household)
    await session.flush()
    await audit.record(
        session,
        turn.person.id,
        "household.created",
        "household",
        household.id,
        turn.now,
        village.id,
    )
    return household


async def show_households(turn: Turn) -> None:
    """The /households command: the list of the leader's first village."""
    villages = await villages_led(turn.session, turn.person.id)
    if not villages:
        turn.out.add(Reply(t(_("Only village leaders have a list of households."))))
        return
    await _list(turn, f"{villages[0].id}-0")


async def _summary(turn: Turn, ident: str) -> None:
    village = await _my_village(turn, int(ident)) if ident.isdigit() else None
    if village is not None:
        turn.out.add(await summary_reply(turn, village))


async def show_summary(turn: Turn) -> None:
    """The village summary of every village this person leads."""
    villages = await villages_led(turn.session, turn.person.id)
    if not villages:
        turn.out.add(Reply(t(_("Only village leaders have a village summary."))))
        return
    for village in villages:
        turn.out.add(await summary_reply(turn, village))
    turn.out.add(await menu_reply(turn))


async def summary_reply(turn: Turn, village: Unit) -> Reply:
    """This year's counts for one village: households, registered, assessed, passing."""
    year = turn.services.year()
    rows = await statuses(turn.session, village.id, year)
    total = len(rows)
    registered = sum(1 for s in rows if s.registered)
    drafts = sum(1 for s in rows if s.state in ("draft", "returned"))
    submitted = [s for s in rows if s.state in ("submitted", "recognised", "not_recognised")]
    passing = sum(1 for s in submitted if s.passed)
    share = format_percent(passing / total) if total else "—"
    text = lines(
        "📈 " + t(_("<b>{village}</b>, year {year}"), village=village.name, year=year),
        t(_("Households: {count}"), count=format_number(total)),
        t(_("Registered: {count}"), count=format_number(registered)),
        t(_("Drafts: {count}"), count=format_number(drafts)),
        t(_("Assessed: {count}"), count=format_number(len(submitted))),
        t(
            _("Meeting the criteria: {count} ({share} of households)"),
            count=format_number(passing),
            share=share,
        ),
        await communities.status_line(turn, village),
        "",
        t(
            _("Residents check themselves by sending /village {code} to the bot."),
            code=village.code,
        ),
    )
    return Reply(text, ((presenting.community_button(village.id),),))
