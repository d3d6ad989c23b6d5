"""The commune officer in chat: the commune's villages (add, rename, merge, household counts), its
village leaders (invite, list, remove), the year's targets and the commune's audit log.

Every action checks that the unit lies in the officer's commune. Must not import any platform
library.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.chat import activity, broadcasts, presenting
from bot.chat.callbacks import CLAN, MENU, OFFICER, ORGANISATION, Callback, pack
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_datetime, format_number, format_percent
from bot.reports import text as report_text
from bot.rich import Text, bold, code, lines, t
from bot.services import audit, invites, review, scope, targets, units, words
from bot.services.people import Conversation
from bot.storage.models import Household, Person, RoleAssignment, Unit
from bot.storage.queries import TITLE_CITIZEN, TITLE_FAMILY
from conversations.text import vietnamese_key

FLOW = "officer"
OFFICER_ROLES = ("officer",)
# Every title a commune reports, families first (targets.NATIONAL holds them all).
TARGET_TITLES = (TITLE_FAMILY, "dhht", "cong_dong", "dvht", TITLE_CITIZEN, "cdht_staff",
                 "digital", "digital_proficient")  # fmt: skip


async def communes_of(turn: Turn) -> list[Unit]:
    """The communes this person is an officer of."""
    return [
        u
        for u in await scope.units_of(turn.session, turn.person.id, OFFICER_ROLES)
        if u.level == 2
    ]


def menu_rows(commune: Unit) -> list[tuple[Button, ...]]:
    """The officer's entries in the main menu, in the commune's own words."""
    said = words.words_of(commune).placeholders()
    return [
        (
            Button(
                "🏘 " + _("{Villages_word} of {commune}").format(commune=commune.name, **said),
                pack(OFFICER, "villages", commune.id),
            ),
        ),
        (
            Button("🏫 " + _("Learning units"), pack(ORGANISATION, "list", commune.id)),
            Button("👪 " + _("Clans"), pack(CLAN, "list", commune.id)),
        ),
        (
            Button("📨 " + _("Review submissions"), pack(MENU, "review")),
            Button("📊 " + _("Report"), pack(MENU, "report")),
        ),
        (
            Button("👥 " + _("Branch leaders"), pack(OFFICER, "leaders", commune.id)),
            Button("📋 " + _("Activity log"), pack(OFFICER, "log", commune.id)),
        ),
        (
            Button("🎯 " + _("Targets"), pack(OFFICER, "targets", commune.id)),
            broadcasts.menu_button(commune),
        ),
    ]


async def _unit_in_scope(turn: Turn, ident: str) -> Unit | None:
    unit = await turn.session.get(Unit, int(ident)) if ident.isdigit() else None
    if (
        unit is None
        or not unit.active
        or not await scope.may(turn.session, turn.person.id, unit, OFFICER_ROLES)
    ):
        turn.out.notice = t(_("That is outside your commune."))
        turn.out.alert = True
        return None
    return unit


async def on_button(turn: Turn, callback: Callback) -> None:
    """Route ``o:<action>:<id>``; every target unit is checked against the officer's scope."""
    action, ident = callback.fields
    if action == "settarget":
        await _ask_target(turn, ident)
        return
    if action == "famb":
        await _family_base(turn, ident)
        return
    if action in ("mergeto", "mergeok"):
        await _merge_step(turn, action, ident)
        return
    if action == "word":
        await _set_word(turn, ident)
        return
    actions = {
        "words": _ask_word,
        "villages": _villages,
        "village": _village,
        "rename": _ask_rename,
        "add": _ask_add,
        "merge": _merge_targets,
        "invite": _invite,
        "leaders": _leaders,
        "log": _log,
        "targets": _targets,
    }
    if action == "unassign":
        await _unassign(turn, ident)
        return
    unit = await _unit_in_scope(turn, ident)
    if unit is not None and action in actions:
        await actions[action](turn, unit)


async def _villages(turn: Turn, commune: Unit) -> None:
    counted = await turn.session.execute(
        select(Unit, func.count(Household.id))
        .outerjoin(Household, (Household.village_id == Unit.id) & Household.removed_at.is_(None))
        .where(Unit.parent_id == commune.id, Unit.active.is_(True))
        .group_by(Unit.id)
    )
    rows = sorted(counted.all(), key=lambda row: vietnamese_key(row[0].name))  # Hạ, Hòa
    buttons: list[tuple[Button, ...]] = [
        (
            Button(
                _("{village} · {count} households").format(village=v.name, count=format_number(n)),
                pack(OFFICER, "village", v.id),
            ),
        )
        for v, n in rows
    ]
    said = words.words_of(commune).placeholders()
    buttons.append(
        (
            Button(
                "+ " + _("Add a {village_word}").format(**said), pack(OFFICER, "add", commune.id)
            ),
            Button("◀ " + _("Menu"), pack(MENU, "menu")),
        )
    )
    buttons.append(
        (
            Button(
                "🔤 " + _("Call them: {village_word}").format(**said),
                pack(OFFICER, "words", commune.id),
            ),
        )
    )
    turn.out.add(
        Reply(
            t(_("<b>{commune}</b>: {villages_word}"), commune=commune.name, **said),
            tuple(buttons),
            edit=turn.tapped,
        )
    )


async def _village(turn: Turn, village: Unit) -> None:
    households = (
        await turn.session.scalar(
            select(func.count(Household.id)).where(
                Household.village_id == village.id, Household.removed_at.is_(None)
            )
        )
        or 0
    )
    leaders = await _leader_rows(turn, village)
    text = lines(
        t("🏘 <b>{name}</b> ({code})", name=village.name, code=village.code),
        t(_("Households: {count}"), count=format_number(households)),
        t(_("Leaders: {names}"), names=", ".join(p.display_name for _r, p, _v in leaders) or "—"),
    )
    turn.out.add(
        Reply(
            text,
            (
                (
                    Button(_("Rename"), pack(OFFICER, "rename", village.id)),
                    Button(_("Merge into another"), pack(OFFICER, "merge", village.id)),
                ),
                (Button(_("Invite a branch leader"), pack(OFFICER, "invite", village.id)),),
                (presenting.community_button(village.id),),
                (Button("◀ " + _("Back"), pack(OFFICER, "villages", village.parent_id)),),
            ),
            edit=turn.tapped,
        )
    )


async def _ask_rename(turn: Turn, village: Unit) -> None:
    turn.conversation = Conversation(FLOW, {"action": "rename", "id": village.id})
    turn.out.add(Reply(t(_("Type the new name of {village}:"), village=village.name)))


async def _ask_add(turn: Turn, commune: Unit) -> None:
    turn.conversation = Conversation(FLOW, {"action": "add", "id": commune.id})
    said = words.words_of(commune).placeholders()
    turn.out.add(Reply(t(_("Type the name of the new {village_word}:"), **said)))


async def on_text(turn: Turn, text: str) -> None:
    """The typed name for a rename or a new village."""
    data = turn.conversation.data
    turn.conversation = Conversation()
    unit = await _unit_in_scope(turn, str(data.get("id", "")))
    if unit is None:
        return
    if data.get("action") == "target":
        await _set_target(turn, unit, str(data.get("title", "")), text)
        return
    try:
        if data.get("action") == "rename":
            await units.rename_unit(turn.session, unit.code, text)
            await audit.record(
                turn.session, turn.person.id, "village.renamed", "unit", unit.id, turn.now, unit.id
            )
            turn.out.add(Reply(t(_("Renamed to {name}."), name=unit.name)))
            await _village(turn, unit)
        else:
            village = await units.add_village(turn.session, unit.code, text)
            await audit.record(
                turn.session,
                turn.person.id,
                "village.added",
                "unit",
                village.id,
                turn.now,
                village.id,
            )
            turn.out.add(
                Reply(
                    t(
                        _("Village added: {name} (code {code})."),
                        name=village.name,
                        code=village.code,
                    )
                )
            )
            await _villages(turn, unit)
    except units.UnitError as error:
        turn.conversation = Conversation(FLOW, data)  # ask again; nothing was changed
        turn.out.add(Reply(error.text))


async def _merge_targets(turn: Turn, village: Unit) -> None:
    siblings = await turn.session.scalars(
        select(Unit).where(
            Unit.parent_id == village.parent_id, Unit.active.is_(True), Unit.id != village.id
        )
    )
    others = sorted(siblings, key=lambda unit: vietnamese_key(unit.name))
    buttons = [(Button(o.name, pack(OFFICER, "mergeto", f"{village.id}-{o.id}")),) for o in others]
    buttons.append((Button("◀ " + _("Back"), pack(OFFICER, "village", village.id)),))
    turn.out.add(
        Reply(
            t(
                _(
                    "Merge {village} into which village? Its households and assessments move "
                    "there."
                ),
                village=village.name,
            ),
            tuple(buttons),
            edit=turn.tapped,
        )
    )


async def _merge_step(turn: Turn, action: str, ident: str) -> None:
    source_id, _sep, target_id = ident.partition("-")
    source = await _unit_in_scope(turn, source_id)
    target = await _unit_in_scope(turn, target_id) if source else None
    if source is None or target is None:
        return
    if action == "mergeto":
        turn.out.add(
            Reply(
                t(
                    _("Merge {source} into {target}? This cannot be undone."),
                    source=source.name,
                    target=target.name,
                ),
                (
                    (Button(_("Yes, merge"), pack(OFFICER, "mergeok", ident)),),
                    (Button(_("No"), pack(OFFICER, "village", source.id)),),
                ),
                edit=turn.tapped,
            )
        )
        return
    try:
        await units.merge_villages(turn.session, source.code, target.code)
    except units.UnitError as error:
        turn.out.add(Reply(error.text))
        return
    await audit.record(
        turn.session,
        turn.person.id,
        "village.merged",
        "unit",
        source.id,
        turn.now,
        target.id,
        detail=f"into {target.id}",
    )
    turn.out.add(
        Reply(
            t(_("{source} is merged into {target}."), source=source.name, target=target.name),
            edit=turn.tapped,
        )
    )


async def _invite(turn: Turn, village: Unit) -> None:
    try:
        invite = await invites.create(
            turn.session, turn.person.id, "leader", village.code, turn.now
        )
    except invites.InviteError as error:
        turn.out.add(Reply(error.text))
        return
    link = turn.services.invite_link(invite.code)
    turn.out.add(
        Reply(
            lines(
                t(_("Invite for the branch leader of {village}:"), village=village.name),
                code(f"/join {invite.code}"),
                t(
                    _("Valid until {date}; it works once."),
                    date=format_datetime(invite.expires_at),
                ),
                link,
            )
        )
    )


async def _leader_rows(turn: Turn, area: Unit) -> list[tuple[RoleAssignment, Person, Unit]]:
    rows = await turn.session.execute(
        select(RoleAssignment, Person, Unit)
        .join(Person, Person.id == RoleAssignment.person_id)
        .join(Unit, Unit.id == RoleAssignment.unit_id)
        .where(
            RoleAssignment.role == "leader",
            RoleAssignment.revoked_at.is_(None),
            (Unit.id == area.id) | Unit.path.startswith(area.path),
        )
    )
    found = [(r, p, u) for r, p, u in rows]
    return sorted(
        found, key=lambda row: (vietnamese_key(row[2].name), vietnamese_key(row[1].display_name))
    )


async def _leaders(turn: Turn, commune: Unit) -> None:
    rows = await _leader_rows(turn, commune)
    parts = [bold(t(_("Branch leaders of {commune}"), commune=commune.name))]
    parts += [t("• {name} — {village}", name=p.display_name, village=u.name) for _r, p, u in rows]
    if not rows:
        said = words.words_of(commune).placeholders()
        parts.append(t(_("No branch leaders yet: open a {village_word} and invite one."), **said))
    buttons = [
        (
            Button(
                _("Remove {name} ({village})").format(name=p.display_name, village=u.name),
                pack(OFFICER, "unassign", r.id),
            ),
        )
        for r, p, u in rows
    ]
    buttons.append((Button("◀ " + _("Menu"), pack(MENU, "menu")),))
    turn.out.add(Reply(lines(*parts), tuple(buttons), edit=turn.tapped))


async def _unassign(turn: Turn, ident: str) -> None:
    role = await turn.session.get(RoleAssignment, int(ident)) if ident.isdigit() else None
    unit = await _unit_in_scope(turn, str(role.unit_id)) if role and role.unit_id else None
    if role is None or unit is None or role.role != "leader" or role.revoked_at is not None:
        turn.out.notice = turn.out.notice or t(_("This button is no longer valid."))
        return
    role.revoked_at = turn.now
    await audit.record(
        turn.session,
        turn.person.id,
        "role.removed",
        "role",
        role.id,
        turn.now,
        unit.id,
        detail="leader",
    )
    turn.out.notice = t(_("Removed. Their drafts stay saved for the next leader."))
    commune = await turn.session.get(Unit, unit.parent_id) if unit.parent_id else None
    if commune is not None:
        await _leaders(turn, commune)


async def _log(turn: Turn, commune: Unit) -> None:
    entries = await audit.entries_under(turn.session, commune)
    parts: list[Text | str] = [bold(t(_("Activity log of {commune}"), commune=commune.name))]
    parts += await activity.entry_lines(turn.session, entries, commune)
    if not entries:
        parts.append(t(_("Nothing recorded yet.")))
    turn.out.add(Reply(lines(*parts), ((Button("◀ " + _("Menu"), pack(MENU, "menu")),),)))


def _title_name(title: str) -> str:
    names = {
        TITLE_FAMILY: _("Learning families"),
        "dhht": _("Learning clans"),
        "cong_dong": _("Learning communities"),
        "dvht": _("Learning units"),
        TITLE_CITIZEN: _("Learning citizens (of working-age people)"),
        "cdht_staff": _("Learning citizens (of the units' staff)"),
        "digital": _("Title holders with digital skills"),
        "digital_proficient": _("Title holders proficient in digital skills"),
    }
    return names.get(title, title)


async def _targets(turn: Turn, commune: Unit) -> None:
    """This year's targets of the commune, each with where it came from: its own, the nearest
    unit above with one, or the national default."""
    year = turn.services.year()
    found = await targets.goals(turn.session, [commune.path], TARGET_TITLES, year)
    parts = ["🎯 " + bold(t(_("Targets of {commune}, {year}"), commune=commune.name, year=year))]
    for title in TARGET_TITLES:
        goal = found.get((commune.path, title))
        parts.append(
            t(
                _("{title}: {percent} ({origin})"),
                title=_title_name(title),
                percent=format_percent(goal.share, 0) if goal else "—",
                origin=report_text.origin(goal) if goal else "—",
            )
        )
        if title == TITLE_FAMILY and goal is not None:
            parts.append(
                t(_("   of the households registered for the year"))
                if goal.base == "registered"
                else t(_("   of every household in scope"))
            )
    parts.append(
        t(
            _(
                "Without a target of its own, the commune follows the province's or the "
                "national default (QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg), which moves from the 2025 "
                "figure to the 2030 one."
            )
        )
    )
    buttons = [
        (
            Button(
                _("Set: {title}").format(title=_title_name(title)),
                pack(OFFICER, "settarget", f"{commune.id}-{title}"),
            ),
        )
        for title in TARGET_TITLES
    ]
    family = found.get((commune.path, TITLE_FAMILY))
    if family is not None:  # local plans count families both ways
        other = "all" if family.base == "registered" else "registered"
        label = (
            _("Count families of every household")
            if other == "all"
            else _("Count families of the households registered")
        )
        buttons.insert(1, (Button("🔁 " + label, pack(OFFICER, "famb", f"{commune.id}-{other}")),))
    buttons.append((Button("◀ " + _("Menu"), pack(MENU, "menu")),))
    turn.out.add(Reply(lines(*parts), tuple(buttons), edit=turn.tapped))


async def _family_base(turn: Turn, ident: str) -> None:
    """Count the commune's family target on all households or on those registered, keeping
    its percentage (the commune's own target from then on)."""
    commune_id, _sep, base = ident.partition("-")
    commune = await _unit_in_scope(turn, commune_id)
    if commune is None:
        return
    year = turn.services.year()
    goal = (await targets.goals(turn.session, [commune.path], (TITLE_FAMILY,), year)).get(
        (commune.path, TITLE_FAMILY)
    )
    if goal is None:
        return
    try:
        await targets.set_target(turn.session, turn.person.id, commune.code, TITLE_FAMILY, year,
                                 goal.percent, turn.now, base=base)  # fmt: skip
    except review.ReviewError as error:
        turn.out.notice = error.text
        return
    await _targets(turn, commune)


async def _ask_target(turn: Turn, ident: str) -> None:
    commune_id, _sep, title = ident.partition("-")
    commune = await _unit_in_scope(turn, commune_id)
    if commune is None or title not in TARGET_TITLES:
        return
    turn.conversation = Conversation(FLOW, {"action": "target", "id": commune.id, "title": title})
    turn.out.add(
        Reply(
            t(
                _("Type the target for {title} in {year}, as a percentage (for example 85):"),
                title=_title_name(title),
                year=turn.services.year(),
            )
        )
    )


async def _set_target(turn: Turn, commune: Unit, title: str, text: str) -> None:
    typed = text.strip().rstrip("%").strip().replace(",", ".")
    year = turn.services.year()
    current = (await targets.goals(turn.session, [commune.path], (title,), year)).get(
        (commune.path, title)
    )
    try:
        percent = float(typed)
        await targets.set_target(
            turn.session,
            turn.person.id,
            commune.code,
            title,
            year,
            percent,
            turn.now,
            base=current.base if current is not None else "all",  # a new figure, same base
        )
    except (ValueError, review.ReviewError) as error:
        turn.conversation = Conversation(
            FLOW, {"action": "target", "id": commune.id, "title": title}
        )
        message = (
            error.text
            if isinstance(error, review.ReviewError)
            else t(_("A target is a percentage above 0 and at most 100."))
        )
        turn.out.add(Reply(message))
        return
    await _targets(turn, commune)


async def _ask_word(turn: Turn, commune: Unit) -> None:
    """The commune's word for its villages: thôn, ấp, bản, làng, khu, khu phố, tổ dân phố."""
    current = words.village_word_of(commune)
    buttons = tuple(
        (
            Button(
                ("✅ " if word == current else "") + word,
                pack(OFFICER, "word", f"{commune.id}-{index}"),
            ),
        )
        for index, word in enumerate(words.VILLAGE_WORDS)
    )
    turn.out.add(
        Reply(
            t(_("What does {commune} call its villages? Every text will use that word."),
              commune=commune.name),
            (*buttons, (Button("◀ " + _("Back"), pack(OFFICER, "villages", commune.id)),)),
            edit=turn.tapped,
        )
    )  # fmt: skip


async def _set_word(turn: Turn, ident: str) -> None:
    commune_id, _sep, index = ident.partition("-")
    commune = await _unit_in_scope(turn, commune_id)
    choices = list(words.VILLAGE_WORDS)
    if commune is None or not index.isdigit() or int(index) >= len(choices):
        turn.out.notice = turn.out.notice or t(_("This button is no longer valid."))
        return
    commune.village_word = choices[int(index)]
    await audit.record(
        turn.session, turn.person.id, "commune.word_set", "unit", commune.id, turn.now,
        commune.id, detail=commune.village_word,
    )  # fmt: skip
    turn.out.notice = t(_("Saved."))
    await _villages(turn, commune)
