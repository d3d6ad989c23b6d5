"""Clans (Dòng họ học tập) in chat: a commune officer lists and adds the commune's clans and
invites each one's head; a branch leader says which clan a household belongs to, from its card;
the head (or the officer) assesses the clan, walked like any assessment
(``bot/chat/answering.py``).

Buttons are ``q:<action>:<id>``. Must not import any platform library.
"""

from __future__ import annotations

from bot.chat import answering, households
from bot.chat.callbacks import CLAN, HOUSEHOLD, MENU, Callback, pack
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _, format_datetime, format_number
from bot.rich import bold, code, lines, t
from bot.services import clans
from bot.services.people import Conversation, villages_led
from bot.storage.models import Clan, Household, Person, Unit

FLOW = "clan"  # typing a new clan's name
PAGE = 8  # clans offered at once to a branch leader


async def on_button(turn: Turn, callback: Callback) -> None:
    """Route ``q:<action>:<id>``; every action checks the person's right to it."""
    action, ident = callback.fields
    handler = {
        "go": _assess,
        "list": _list,
        "card": _card,
        "invite": _invite,
        "add": _ask_name,
        "pick": _pick,
        "set": _set,
    }.get(action)
    if handler is None:
        turn.out.notice = t(_("This button is no longer valid."))
        return
    try:
        await handler(turn, ident)
    except (clans.ClanError, ValueError) as error:
        text = error.text if isinstance(error, clans.ClanError) else None
        turn.out.notice = text or t(_("This button is no longer valid."))
        turn.out.alert = True


async def _assess(turn: Turn, ident: str) -> None:
    clan = await clans.get(turn.session, int(ident))
    if not await clans.may_assess(turn.session, turn.person.id, clan):
        turn.out.notice = t(_("Only this clan's head or its commune officer can."))
        return
    assessment = await clans.open_assessment(
        turn.session, turn.services.forms, clan, turn.services.year(), turn.person.id, turn.now
    )
    await answering.begin(turn, assessment)


async def _commune(turn: Turn, ident: str) -> Unit:
    commune = await turn.session.get(Unit, int(ident))
    if commune is None:
        raise ValueError(ident)
    return await clans.commune_of(turn.session, turn.person.id, commune)


async def _list(turn: Turn, ident: str) -> None:
    commune = await _commune(turn, ident)
    found = await clans.of_commune(turn.session, commune)
    text = lines(
        "👪 " + bold(t(_("Clans of {commune}"), commune=commune.name)),
        t(_("Clans: {count}"), count=format_number(len(found))),
    )
    rows = [(Button(clan.name, pack(CLAN, "card", clan.id)),) for clan in found]
    rows.append((Button("➕ " + _("Add a clan"), pack(CLAN, "add", commune.id)),))
    rows.append((Button("◀ " + _("Menu"), pack(MENU, "menu")),))
    turn.out.add(Reply(text, tuple(rows), edit=turn.tapped))


async def _card(turn: Turn, ident: str) -> None:
    clan = await clans.get(turn.session, int(ident))
    commune = await _commune(turn, str(clan.commune_id))
    head = await turn.session.get(Person, clan.head_id) if clan.head_id else None
    where = await clans.members(turn.session, clan)
    spread = ", ".join(f"{name} ({format_number(count)})" for name, count in where.items())
    text = lines(
        "👪 " + bold(t("{name}", name=clan.name)),
        t(
            _("Households: {count} ({villages})"),
            count=format_number(sum(where.values())),
            villages=spread or "—",
        ),
        t(_("Head: {name}"), name=head.display_name if head else _("not invited yet")),
        t(_("The branch leaders add the clan's households from each household's card.")),
    )
    rows = (
        (Button("📝 " + _("Assess the clan"), pack(CLAN, "go", clan.id)),),
        (Button("✉️ " + _("Invite its head"), pack(CLAN, "invite", clan.id)),),
        (Button("◀ " + _("Clans"), pack(CLAN, "list", commune.id)),),
    )
    turn.out.add(Reply(text, rows, edit=turn.tapped))


async def _invite(turn: Turn, ident: str) -> None:
    clan = await clans.get(turn.session, int(ident))
    invite = await clans.invite_head(turn.session, turn.person.id, clan.id, turn.now)
    turn.out.add(
        Reply(
            lines(
                t(_("Invite for the head of {clan}:"), clan=clan.name),
                code(f"/join {invite.code}"),
                t(
                    _("Valid until {date}; it works once."),
                    date=format_datetime(invite.expires_at),
                ),
                turn.services.invite_link(invite.code),
            )
        )
    )


async def _ask_name(turn: Turn, ident: str) -> None:
    commune = await _commune(turn, ident)
    turn.conversation = Conversation(FLOW, {"commune": commune.id})
    turn.out.add(Reply(t(_("Type the clan's name, for example Họ Nguyễn Văn:")),
                       expects_text=True))  # fmt: skip


async def on_text(turn: Turn, text: str) -> None:
    """The new clan's name."""
    commune_id = int(turn.conversation.data.get("commune", 0))
    try:
        clan = await clans.add(turn.session, turn.person.id, commune_id, text, turn.now)
    except clans.ClanError as error:
        turn.out.add(Reply(error.text, expects_text=True))
        return
    turn.conversation = Conversation()
    turn.out.add(Reply("✅ " + t(_("Added {clan}."), clan=clan.name)))
    await _card(turn, str(clan.id))


async def _led_household(turn: Turn, ident: str) -> Household:
    household = await turn.session.get(Household, int(ident))
    led = {v.id for v in await villages_led(turn.session, turn.person.id)}
    if household is None or household.removed_at is not None or household.village_id not in led:
        raise ValueError(ident)
    return household


async def _pick(turn: Turn, ident: str) -> None:
    """A household's clan, to choose from the commune's clans."""
    household_part, _sep, page_part = ident.partition("-")
    household = await _led_household(turn, household_part)
    village = await turn.session.get(Unit, household.village_id)
    assert village is not None and village.parent_id is not None
    commune = await turn.session.get(Unit, village.parent_id)
    assert commune is not None
    found = await clans.of_commune(turn.session, commune)
    page = max(0, min(int(page_part or 0), max(0, (len(found) - 1) // PAGE)))
    current = await clans.clan_of(turn.session, household)
    rows: list[tuple[Button, ...]] = [
        (Button(("✓ " if current and current.id == c.id else "") + c.name,
                pack(CLAN, "set", f"{household.id}-{c.id}")),)
        for c in found[page * PAGE : (page + 1) * PAGE]
    ]  # fmt: skip
    more = []
    if page > 0:
        more.append(Button("◀", pack(CLAN, "pick", f"{household.id}-{page - 1}")))
    if (page + 1) * PAGE < len(found):
        more.append(Button("▶", pack(CLAN, "pick", f"{household.id}-{page + 1}")))
    if more:
        rows.append(tuple(more))
    rows.append((Button(_("In no clan"), pack(CLAN, "set", f"{household.id}-0")),))
    rows.append((Button("◀ " + _("Back"), pack(HOUSEHOLD, "open", household.id)),))
    text = t(_("Which clan does household {code} · {name} belong to?"), code=household.code,
             name=household.head_name)  # fmt: skip
    if not found:
        text = t(_("{commune} has no clans in hoctap yet: its officer adds them."),
                 commune=commune.name)  # fmt: skip
    turn.out.add(Reply(text, tuple(rows), edit=turn.tapped))


async def _set(turn: Turn, ident: str) -> None:
    household_part, _sep, clan_part = ident.partition("-")
    household = await _led_household(turn, household_part)
    clan: Clan | None = await clans.get(turn.session, int(clan_part)) if int(clan_part) else None
    await clans.set_clan(turn.session, turn.person.id, household, clan, turn.now)
    turn.out.notice = (
        t(_("Household {code}: {clan}"), code=household.code, clan=clan.name)
        if clan
        else t(_("Household {code}: in no clan"), code=household.code)
    )
    turn.out.add(await households.card(turn, household))
