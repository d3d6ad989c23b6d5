"""The one entry point for everything a person sends: one unit of work per inbound message.

It opens the session, marks the update done (or skips it, applied already), finds the person,
sets their language, routes the message to its flow, stores where the person now stands and
the reply they must see, and commits once: only then does the runner send the reply (see the
walk of one tap in ``bot/runtime/runner.py``). A locked database is retried; if it stays
locked the person is told to try again and the update stays pending, so nothing is lost.
Must not import any platform library.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot.chat import (
    account,
    answering,
    broadcasts,
    clans,
    communities,
    households,
    linking,
    menus,
    officer,
    organisations,
    reminders,
    reports,
    review,
    self_check,
)
from bot.chat.callbacks import (
    ACCOUNT,
    ANSWER,
    BULLETIN,
    CLAN,
    COMMUNITY,
    CONSENT,
    GROUP,
    HOME,
    HOUSEHOLD,
    LANGUAGE,
    MENU,
    OFFICER,
    ORGANISATION,
    REMINDERS,
    REVIEW,
    CallbackError,
    unpack,
)
from bot.chat.messages import Inbound, Outbound, Reply, encode
from bot.chat.turn import Turn
from bot.i18n import LOCALES, _, set_locale
from bot.rich import Text, t
from bot.services.context import Services
from bot.services.people import (
    RETURNED,
    TYPED_KEYS,
    Conversation,
    claim_and_enter,
    conversation_of,
    enter,
    is_transient,
    mark_blocked,
    save_conversation,
)
from bot.storage import inbox
from bot.storage.db import DatabaseUnavailable, conflicted, dropped

log = logging.getLogger(__name__)
ATTEMPTS = 4
Action = Callable[[Turn], Awaitable[None]]
LAST_TAP = "_tap"  # in the stored conversation: the tap whose answer replaced its message


class Busy(RuntimeError):
    """The database stayed locked; the update was not applied and stays pending. ``text`` says
    so to the person."""

    def __init__(self, text: Text) -> None:
        super().__init__(text.plain())
        self.text = text


async def handle(services: Services, inbound: Inbound) -> Outbound:
    """Apply one inbound message exactly once and return what to show."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await _unit_of_work(services, inbound, attempt)
        except (DBAPIError, DatabaseUnavailable) as error:
            if not _passing(error, inbound):
                raise
            log.warning(
                "update %s attempt %d: %s", inbound.update_id, attempt, type(error).__name__
            )
            await asyncio.sleep(0.05 * attempt)
    set_locale(inbound.actor.language)
    if inbound.update_id is not None:
        # Stored in the inbox: the runner applies it once the database frees up; a resent
        # answer would be applied twice.
        raise Busy(
            t(
                _(
                    "The system is busy. Your message is kept and will be applied in a moment; "
                    "no need to send it again."
                )
            )
        )
    raise Busy(t(_("The system is busy. Please send that again in a minute.")))


def _passing(error: Exception, inbound: Inbound) -> bool:
    """Lock timeouts (SQLite) and races between workers (PostgreSQL: a unique key, a deadlock)
    resolve on retry. So does a connection the server dropped (PostgreSQL), but it may have
    dropped during the COMMIT, after the effect was stored: retried only when the inbox row
    tells (see `_unit_of_work`)."""
    passing = OperationalError | IntegrityError | DatabaseUnavailable
    return (
        isinstance(error, passing)
        or conflicted(error)
        or (dropped(error) and inbound.update_id is not None)
    )


async def _unit_of_work(services: Services, inbound: Inbound, attempt: int = 1) -> Outbound:
    async with services.sessions() as session:
        update_id = inbound.update_id
        now = services.clock()
        if update_id is None:
            person, stored = await enter(session, inbound.actor, now)
        else:
            # Marked done first, committed with the effect (a rollback undoes both).
            entered = await claim_and_enter(session, inbound.actor, update_id, now)
            if entered is None:  # a redelivery: its effect is already in place
                if attempt > 1:  # done by another worker, or by the try whose COMMIT dropped
                    log.warning("update %s was applied meanwhile; no reply here", update_id)
                return Outbound(redelivered=True)
            person, stored = entered
        set_locale(person.locale)
        conversation = conversation_of(stored)
        inbound = _typed_choice(inbound, conversation, is_transient(person))
        turn = Turn(session, services, person, inbound, now, conversation, Outbound())
        tap = _tap_of(inbound)
        if tap is None or conversation.data.get(LAST_TAP) != tap:
            await route(turn)
            _remember_tap(turn, tap)
        if session.info.pop(RETURNED, False):  # back after a while: what waited for them goes
            turn.out.wake_reminders = True
        # else: a second tap of a button whose first tap replaced its message; nothing to do.
        if not is_transient(turn.person):  # nothing is stored about a person before consent
            if inbound.keyed:
                _remember_keys(turn)
            # turn.person, not person: linking a messenger carries on as the linked person.
            await save_conversation(session, turn.person.id, turn.conversation, now, stored)
        if update_id is not None and (turn.out.replies or turn.out.notice is not None):
            # Committed with the effect: a crash before the reply is sent cannot lose it.
            await inbox.keep_reply(session, inbound.actor.channel, update_id, encode(turn.out))
        await session.commit()
        return turn.out


def _typed_choice(inbound: Inbound, conversation: Conversation, stranger: bool) -> Inbound:
    """On a channel without buttons, a typed key of the last reply's choices is that choice.
    Someone not stored (before consent) was last shown the consent question."""
    keys = conversation.data.get(TYPED_KEYS)
    if stranger and keys is None:
        reply = menus.consent_reply()
        keys = dict(zip(reply.keys(), (b.data for b in reply.choices()), strict=True))
    if not inbound.keyed or inbound.text is None or not isinstance(keys, dict):
        return inbound
    data = keys.get(inbound.text.strip().lower())
    return replace(inbound, text=None, choice=data) if isinstance(data, str) else inbound


def _remember_keys(turn: Turn) -> None:
    """Keep what can be typed next, committed with the effect (so a restart maps it the same)."""
    shown = next((r for r in reversed(turn.out.replies) if r.buttons), None)
    if shown is not None:
        turn.conversation.data[TYPED_KEYS] = dict(
            zip(shown.keys(), (b.data for b in shown.choices()), strict=True)
        )
    elif turn.out.replies:
        turn.conversation.data.pop(TYPED_KEYS, None)


def _tap_of(inbound: Inbound) -> str | None:
    """A tapped button and the message it is on, or None for anything else."""
    if inbound.choice is None or inbound.message_id is None:
        return None
    return f"{inbound.message_id}:{inbound.choice}"


def _remember_tap(turn: Turn, tap: str | None) -> None:
    """Remember a tap that replaced its own message: a repeat of it is a double tap (the button
    is gone from the screen), applied at most once. Anything else forgets it."""
    turn.conversation.data.pop(LAST_TAP, None)
    if tap is not None and turn.out.replies and turn.out.replies[0].edit:
        turn.conversation.data[LAST_TAP] = tap


async def route(turn: Turn) -> None:
    """Send the message to the flow it belongs to."""
    inbound = turn.inbound
    if inbound.membership:
        # Unblocking needs nothing more: entering the chat cleared the mark.
        if inbound.membership == "blocked" and not is_transient(turn.person):
            await mark_blocked(turn.session, inbound.actor, turn.now)
        return
    if inbound.command is not None:
        await _command(turn, inbound.command)
    elif inbound.choice is not None:
        await _choice(turn, inbound.choice)
    elif inbound.text is not None:
        await _text(turn, inbound.text)
    elif inbound.media:
        await _media(turn)


async def _start(turn: Turn) -> None:
    """/start, or a deep link ``/start CODE`` that joins a role after consent."""
    argument = turn.inbound.argument
    then = "village" if argument.startswith("v-") else "join"
    if not argument:
        await menus.on_start(turn)
    elif await _consented(turn, menus.then_of(then, argument)):
        await COMMANDS[then](turn)


COMMANDS: dict[str, Action] = {
    "start": _start,
    "join": account.on_join,
    "mydata": account.on_mydata,
    "village": account.on_village,
    "link": linking.on_link,
    "report": reports.on_report,
    "review": review.show_pending,
    "menu": lambda turn: _menu(turn),
    "help": lambda turn: _add(turn, menus.help_reply(turn)),
    "cancel": menus.on_cancel,
    "language": lambda turn: _add_plain(turn, menus.language_reply()),
    "selfcheck": self_check.start_self_check,
    "form": self_check.start_form,
    "results": self_check.show_history,
    "households": households.show_households,
    "add": households.start_adding,
    "summary": households.show_summary,
    "reminders": reminders.show,
}
# Usable before consent: seeing (and erasing) what is stored needs no consent either.
# /link too: the person it joins to has agreed already, on the other messenger.
OPEN_COMMANDS = {"start", "help", "language", "cancel", "mydata", "link"}


async def _command(turn: Turn, name: str) -> None:
    action = COMMANDS.get(name)
    in_assessment = turn.conversation.flow == answering.FLOW
    if action is None and in_assessment and await answering.again(turn, "unknown_command"):
        return  # one line, and the question kept on screen
    if action is None:
        turn.out.add(
            Reply(
                t(_("I do not know the command /{name}. Here is what I can do:"), name=name[:32])
            )
        )
        await _add(turn, menus.help_reply(turn))
        return
    if name not in OPEN_COMMANDS and not await _consented(turn):
        return
    await action(turn)


async def _choice(turn: Turn, data: str) -> None:
    try:
        callback = unpack(data)
    except CallbackError:
        turn.out.notice = t(_("This button is no longer valid."))
        return
    if callback.prefix == CONSENT:
        await _on_consent(turn, *callback.fields)
    elif callback.prefix == LANGUAGE:
        await menus.on_language(turn, callback.fields[0])
    elif callback.prefix == MENU and callback.fields[0] in ("lang", "help"):
        await COMMANDS["language" if callback.fields[0] == "lang" else "help"](turn)
    elif callback.prefix == ACCOUNT:
        await account.on_button(turn, callback.fields[0])
    elif not await _consented(turn):
        return
    elif callback.prefix == ANSWER:
        await answering.on_button(turn, callback)
    elif callback.prefix == HOUSEHOLD:
        await households.on_button(turn, callback)
    elif callback.prefix == OFFICER:
        await officer.on_button(turn, callback)
    elif callback.prefix == REVIEW:
        await review.on_review_button(turn, callback)
    elif callback.prefix == REMINDERS:
        await reminders.on_button(turn, callback)
    elif callback.prefix == BULLETIN:
        await broadcasts.on_button(turn, callback)
    elif callback.prefix == HOME:
        await account.on_home_button(turn, callback)
    elif callback.prefix == GROUP:
        await self_check.on_group_button(turn, callback)
    elif callback.prefix == COMMUNITY:
        await communities.on_button(turn, callback)
    elif callback.prefix == ORGANISATION:
        await organisations.on_button(turn, callback)
    elif callback.prefix == CLAN:
        await clans.on_button(turn, callback)
    else:
        await _menu_button(turn, callback.fields[0])


MENU_ACTIONS: dict[str, Action] = {
    "self": self_check.start_self_check,
    "history": self_check.show_history,
    "group": self_check.ask_group,
    "mine": lambda turn: _add_plain(turn, menus.own_reply()),
    "village": households.show_summary,
    "review": review.show_pending,
    "report": reports.on_report,
    "households": households.show_households,
    "reminders": reminders.show,
}


async def _menu_button(turn: Turn, action: str) -> None:
    if action == "pause":
        turn.conversation.flow = ""
        turn.out.add(
            Reply(
                t(_("Paused. Every answer is saved; continue any time from the menu.")), edit=True
            )
        )
        await _menu(turn)
        return
    await MENU_ACTIONS.get(action, _menu)(turn)


async def _text(turn: Turn, text: str) -> None:
    if not await _consented(turn):
        return
    flow = turn.conversation.flow
    if flow == answering.FLOW:
        await answering.on_text(turn, text)
    elif flow == households.ADD_FLOW:
        await households.on_add_text(turn, text)
    elif flow == officer.FLOW:
        await officer.on_text(turn, text)
    elif flow == review.FLOW:
        await review.on_review_text(turn, text)
    elif flow in (broadcasts.FLOW, broadcasts.CAMPAIGN_FLOW):
        await broadcasts.on_text(turn, text)
    elif flow == account.HOME_FLOW:
        await account.on_home_text(turn, text)
    elif flow == organisations.FLOW:
        await organisations.on_text(turn, text)
    elif flow == clans.FLOW:
        await clans.on_text(turn, text)
    else:
        turn.out.add(Reply(t(_("Please choose from the menu."))))
        await _menu(turn)


async def _media(turn: Turn) -> None:
    """A photo, sticker, voice message…: say what is expected, where the person is."""
    if not await _consented(turn):
        return
    if turn.conversation.flow == answering.FLOW and await answering.again(turn, "not_text"):
        return
    turn.out.add(
        Reply(t(_("I can read only typed text and taps, not photos, stickers or voice messages.")))
    )
    if not turn.conversation.flow:
        await _menu(turn)


async def _consented(turn: Turn, then: str | None = None) -> bool:
    """Nothing but the greeting works before consent: ask for it, the consent button carrying
    what the person asked for (``then``, "join.CODE"; by default the command they sent)."""
    if turn.person.consent_at is not None:
        return True
    inbound = turn.inbound
    if then is None and inbound.command is not None:
        then = menus.then_of(inbound.command, inbound.argument)
    turn.out.add(menus.consent_reply(then or ""))
    return False


async def _on_consent(turn: Turn, answer: str, lang: str = "", then: str = "") -> None:
    """Record the answer in the language the notice was read in; after a yes, carry on with
    what the person asked for first (the button's ``then``, or, from an older release's
    screen, the stored conversation's)."""
    if lang in LOCALES and turn.person.consent_at is None:
        turn.person.locale = lang
        set_locale(lang)
    command, _dot, argument = then.partition(".")
    if not command:
        command = str(turn.conversation.data.get("then", ""))
        argument = str(turn.conversation.data.get("argument", ""))
    if answer != "yes" or command not in COMMANDS or command in OPEN_COMMANDS:
        await menus.on_consent(turn, answer)
        return
    await menus.on_consent(turn, answer, show_menu=False)
    turn.conversation = Conversation()
    turn.inbound = replace(turn.inbound, command=command, argument=argument, choice=None)
    await COMMANDS[command](turn)


async def _menu(turn: Turn) -> None:
    turn.conversation.flow = ""
    turn.out.add(await menus.menu_reply(turn))


async def _add(turn: Turn, reply: Awaitable[Reply]) -> None:
    turn.out.add(await reply)


async def _add_plain(turn: Turn, reply: Reply) -> None:
    turn.out.add(reply)
