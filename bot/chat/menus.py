"""Greeting, consent, language, help and the main menu, by role.

Consent is explicit and recorded with its purpose (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): two
buttons, neither pre-selected; nothing else works until the person agrees.
Must not import any platform library.
"""

from __future__ import annotations

import re

from bot.chat import officer, review
from bot.chat.callbacks import CLAN, CONSENT, LANGUAGE, MENU, ORGANISATION, pack
from bot.chat.messages import Button, Reply
from bot.chat.review_callbacks import CITIZENS
from bot.chat.review_callbacks import pack as review_pack
from bot.chat.turn import Turn
from bot.i18n import _, current_locale, format_date, format_number, set_locale
from bot.rich import Text, bold, lines, t
from bot.services import clans, organisations, words
from bot.services.people import Conversation, consent, villages_led


def privacy_notice() -> Text:
    """What the bot does, what it keeps and why."""
    return lines(
        t(
            _(
                "Hello! hoctap helps with the learning-society titles: citizens check themselves "
                'against the "Learning citizen" criteria, village leaders assess households for '
                'the "Learning family" title, and communes count the results.'
            )
        ),
        t(
            _(
                "It is an automated system: a computer program answers you, not a person. Its "
                "results are estimates; the titles are decided by the people of the commune "
                "who review them."
            )
        ),
        "",
        bold(t(_("Your data"))),
        t(
            _(
                "We keep your name as shown in this chat, your answers and results, and, for "
                "village leaders, the households they assess, only to work out results and the "
                "village and commune totals. We never ask for ID-card numbers. You can see and "
                "erase your data at any time."
            )
        ),
    )


THEN = re.compile(r"[A-Za-z0-9_.-]{1,40}")


def consent_reply(then: str = "") -> Reply:
    """The privacy notice and the question of consent. Nothing is stored before the answer,
    so the buttons carry what they need: the language chosen, and what the person asked for
    first (``then``, "join.ABCD2345"), to carry on with after a yes."""
    text = lines(privacy_notice(), "", t(_("Do you agree?")))
    lang, then = current_locale(), then if THEN.fullmatch(then) else ""
    # Both answers look alike: no tick or colour suggests one is already chosen.
    buttons = (
        (Button(_("I agree"), pack(CONSENT, "yes", lang, then)),),
        (Button(_("I do not agree"), pack(CONSENT, "no", lang, "")),),
        (Button("🌐 Tiếng Việt / English", pack(MENU, "lang")),),
    )
    return Reply(text, buttons)


def then_of(command: str, argument: str) -> str:
    """What a person asked for before consenting, as a consent button carries it."""
    return f"{command}.{argument}" if argument else command


def language_reply() -> Reply:
    """The language choice; each language is named in itself."""
    return Reply(
        t(_("Choose your language:")),
        (
            (
                Button("🇻🇳 Tiếng Việt", pack(LANGUAGE, "vi")),
                Button("🇬🇧 English", pack(LANGUAGE, "en")),
            ),
        ),
    )


async def menu_reply(turn: Turn) -> Reply:
    """The main menu: what this person can do, one big button each. The messenger's own
    command menu follows it (``Outbound.commands``): the menu is shown after consent, a new
    role and a change of language, when what the "/" list holds changes."""
    rows: list[tuple[Button, ...]] = []
    villages = await villages_led(turn.session, turn.person.id)
    for village in villages:
        rows.append(
            (
                Button(
                    "🏠 " + _("Households of {village}").format(village=village.name),
                    pack("h", "list", f"{village.id}-0"),
                ),
            )
        )
    if villages:
        said = (await words.words_for(turn.session, villages[0])).placeholders()
        rows.append(
            (
                Button("📈 " + _("{Village_word} summary").format(**said), pack(MENU, "village")),
                Button("📊 " + _("Report"), pack(MENU, "report")),
            )
        )
    for unit in await organisations.headed_by(turn.session, turn.person.id):  # a unit's head
        rows.append((Button("🏫 " + unit.name, pack(ORGANISATION, "go", unit.id)),))
    for clan in await clans.headed_by(turn.session, turn.person.id):  # a clan's head
        rows.append((Button("👪 " + clan.name, pack(CLAN, "go", clan.id)),))
    communes = await officer.communes_of(turn)
    turn.out.commands = command_pairs(_command_lines(bool(villages), bool(communes)))
    for commune in communes:
        rows.extend(officer.menu_rows(commune))
    for area in [*villages, *communes]:
        waiting = await review.citizens_waiting(turn, area)
        if waiting:
            label = _("{unit}: {count} waiting for confirmation").format(
                unit=area.name, count=format_number(waiting)
            )
            rows.append((Button("👤 " + label, review_pack(CITIZENS, f"{area.id}-0")),))
    if communes:  # commune work above; the officer's own citizen items behind one entry
        rows.append((Button("👤 " + _("My own self-check and results"), pack(MENU, "mine")),))
    else:
        rows.extend(own_rows())
    rows.append(
        (
            Button("🔔 " + _("Reminders"), pack(MENU, "reminders")),
            Button("🌐 " + _("Language"), pack(MENU, "lang")),
            Button("❓ " + _("Help"), pack(MENU, "help")),
        )
    )
    return Reply(t(_("What would you like to do?")), tuple(rows))


def own_rows() -> list[tuple[Button, ...]]:
    """A person's own items as a citizen: the self-check and its results."""
    return [
        (Button("📝 " + _("Self-check: Learning citizen"), pack(MENU, "self")),),
        (Button("📊 " + _("My results"), pack(MENU, "history")),),
    ]


def own_reply() -> Reply:
    """An officer's own citizen items, apart from the commune's work."""
    back = (Button("◀ " + _("Menu"), pack(MENU, "menu")),)
    text = t(_("Your own self-check as a citizen, and your results:"))
    return Reply(text, (*own_rows(), back), edit=True)


async def help_reply(turn: Turn) -> Reply:
    """The commands this person can use, and nothing they cannot."""
    leads = bool(await villages_led(turn.session, turn.person.id))
    parts = _command_lines(leads, bool(await officer.communes_of(turn)))
    parts.append(_("You can stop at any question and come back later: every answer is saved."))
    return Reply(lines(bold(t(_("How to use hoctap"))), *(t(part) for part in parts)))


def everyone_commands() -> tuple[tuple[str, str], ...]:
    """The commands anybody can use (a citizen's), in the current language."""
    return command_pairs(_command_lines(leads=False, serves=False))


def command_pairs(parts: list[str]) -> tuple[tuple[str, str], ...]:
    """Help lines as a messenger's command menu takes them: "/village CODE: say which…" ->
    ("village", "say which…"), each command once."""
    pairs: dict[str, str] = {}
    for part in parts:
        usage, _sep, what = part.partition(": ")
        pairs.setdefault(usage.split()[0].removeprefix("/"), what)
    return tuple(pairs.items())


def _command_lines(leads: bool, serves: bool) -> list[str]:
    """The help's lines: everyone's commands, then a leader's (``leads`` a village), then a
    commune officer's (``serves`` a commune). The same list makes the "/" menu."""
    parts = _everyone_lines()
    if leads:
        parts += [
            _("/households: the households of your village and this year's status"),
            _("/add: add a household"),
            _("/summary: this year's summary of your village"),
            _("/report: the year's report as a spreadsheet and a chart"),
        ]
    if serves:
        parts += [
            _("/review: households waiting for the commune's review"),
            _("/report: the year's report as a spreadsheet and a chart"),
        ]
    return parts


def _everyone_lines() -> list[str]:
    return [
        _("/start: the main menu"),
        _("/selfcheck: check yourself against the Learning citizen criteria"),
        _("/results: your results"),
        _("/cancel: stop what you are doing (your answers are kept)"),
        _("/language: change the language"),
        _("/village CODE: say which village you live in (your leader has the code)"),
        _("/reminders: your next reminders; turn each kind on or off"),
        _("/mydata: see or erase what is stored about you"),
        _("/link: use hoctap on both Telegram and Zalo as one person"),
        _("/join CODE: take up a role with the code you were given"),
    ]


async def on_start(turn: Turn) -> None:
    """Greet; ask consent the first time, otherwise show the menu."""
    turn.conversation = Conversation()
    if turn.person.consent_at is None:
        turn.out.add(consent_reply())
        return
    name = turn.person.display_name
    if name in ("", turn.inbound.actor.external_id):  # a messenger that gives no name (Zalo OA)
        turn.out.add(Reply(t(_("Welcome back!"))))
    else:
        turn.out.add(Reply(t(_("Welcome back, {name}!"), name=name)))
    turn.out.add(await menu_reply(turn))


async def on_consent(turn: Turn, answer: str, show_menu: bool = True) -> None:
    """Record consent with its purpose (storing the person now), or explain what refusing
    means. A late "no" from someone who agreed takes nothing back by itself: erasing does."""
    agreed = turn.person.consent_at
    if answer == "yes":
        if agreed is None:
            await consent(turn.session, turn.person, turn.inbound.actor, turn.now)
        # The notice stays on screen above the thanks: people can re-read what they agreed to.
        thanks = "✅ " + t(_("Thank you. Your consent is recorded."))
        text = lines(privacy_notice(), "", thanks) if turn.tapped else thanks
        turn.out.add(Reply(text, edit=turn.tapped))
        if show_menu and agreed is None:  # not a double tap, nor an older notice
            turn.out.add(await menu_reply(turn))
        return
    if agreed is not None:
        turn.out.add(
            Reply(
                t(
                    _(
                        "You agreed on {date}, so your answers are kept. To withdraw, send "
                        "/mydata and erase your data."
                    ),
                    date=format_date(agreed),
                ),
                edit=turn.tapped,
            )
        )
        return
    turn.out.add(
        Reply(
            t(_("Understood: nothing about you is stored. You can agree later with /start.")),
            edit=turn.tapped,
        )
    )


async def on_language(turn: Turn, lang: str) -> None:
    """Switch the person's language from now on."""
    if lang in ("vi", "en"):
        turn.person.locale = lang
        set_locale(lang)
    turn.out.add(
        Reply(
            t(_("Language: English") if lang == "en" else _("Language: Vietnamese")),
            edit=turn.tapped,
        )
    )
    turn.out.add(consent_reply() if turn.person.consent_at is None else await menu_reply(turn))


async def on_cancel(turn: Turn) -> None:
    """Leave the current flow; the answers given so far stay saved."""
    was_busy = bool(turn.conversation.flow)
    turn.conversation = Conversation()
    turn.out.add(
        Reply(
            t(
                _("Stopped. Your answers are saved; pick up again from the menu.")
                if was_busy
                else _("Nothing to stop.")
            )
        )
    )
    turn.out.add(await menu_reply(turn))
