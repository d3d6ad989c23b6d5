"""Linking a person's identities on two messengers, so a leader can start an assessment on
Telegram and finish it on Zalo (or the other way round).

``/link`` on the first messenger gives a one-time code valid for 15 minutes; ``/link CODE`` on the
second moves that messenger's identity to the same person. An identity that already has answers
or roles of its own is not merged silently: the person is told to link from it instead.
Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update

from bot.chat.menus import menu_reply
from bot.chat.messages import Reply
from bot.chat.turn import Turn
from bot.i18n import _, set_locale
from bot.rich import t
from bot.services import audit, invites
from bot.services.people import Conversation, is_transient
from bot.storage.models import Assessment, Identity, LinkCode, Person, RoleAssignment

VALID_FOR = dt.timedelta(minutes=15)


async def on_link(turn: Turn) -> None:
    """``/link``: make a code here; ``/link CODE``: join this messenger to that code's person."""
    typed = invites.normalise(turn.inbound.argument)
    if typed:
        await _use_code(turn, typed)
    elif is_transient(turn.person):  # nothing of theirs here to link from
        turn.out.add(
            Reply(
                t(
                    _(
                        "Send /link on the messenger where you already use hoctap, then send "
                        "/link CODE here with the code it gives you."
                    )
                )
            )
        )
    else:
        await _make_code(turn)


async def _make_code(turn: Turn) -> None:
    code = invites.new_code()
    turn.session.add(
        LinkCode(
            code=code,
            person_id=turn.person.id,
            created_at=turn.now,
            expires_at=turn.now + VALID_FOR,
        )
    )
    turn.out.add(
        Reply(
            t(
                _(
                    "On your other messenger, send this to the hoctap bot within 15 "
                    "minutes:\n<code>/link {code}</code>\nBoth will then show the same "
                    "answers and roles."
                ),
                code=code,
            )
        )
    )


async def _use_code(turn: Turn, typed: str) -> None:
    link = await turn.session.scalar(
        select(LinkCode).where(LinkCode.code == typed).with_for_update()
    )
    if link is None or link.used_at is not None or link.expires_at <= turn.now:
        turn.out.add(
            Reply(
                t(
                    _(
                        "That link code is wrong, used or expired. Send /link on your other "
                        "messenger for a new one."
                    )
                )
            )
        )
        return
    if link.person_id == turn.person.id:
        turn.out.add(Reply(t(_("These messengers are already linked."))))
        return
    if await _has_own_data(turn):
        turn.out.add(
            Reply(
                t(
                    _(
                        "This messenger already has answers or roles of its own. Send /link "
                        "here instead, and the code on the other messenger."
                    )
                )
            )
        )
        return
    link.used_at = turn.now
    if is_transient(turn.person):  # first contact: this messenger's identity is stored now
        actor = turn.inbound.actor
        turn.session.add(
            Identity(
                person_id=link.person_id, channel=actor.channel, external_id=actor.external_id,
                chat_id=actor.chat_id, created_at=turn.now, last_seen_at=turn.now,
            )
        )  # fmt: skip
    await turn.session.execute(
        update(Identity)
        .where(Identity.person_id == turn.person.id)
        .values(person_id=link.person_id)
    )
    await audit.record(
        turn.session,
        link.person_id,
        "identity.linked",
        "person",
        link.person_id,
        turn.now,
        detail=turn.inbound.actor.channel,
    )
    await _become(turn, link.person_id)
    turn.out.add(Reply(t(_("Linked. You can carry on here where you left off."))))
    turn.out.add(await menu_reply(turn))


async def _has_own_data(turn: Turn) -> bool:
    """True when the identity being linked has answers or roles that a merge would hide."""
    assessments = await turn.session.scalar(
        select(func.count())
        .select_from(Assessment)
        .where(
            (Assessment.person_id == turn.person.id) | (Assessment.created_by == turn.person.id)
        )
    )
    roles = await turn.session.scalar(
        select(func.count())
        .select_from(RoleAssignment)
        .where(RoleAssignment.person_id == turn.person.id, RoleAssignment.revoked_at.is_(None))
    )
    return bool(assessments or roles)


async def _become(turn: Turn, person_id: int) -> None:
    """Carry on this turn as the linked person; the empty shell left behind is marked erased."""
    shell, person = turn.person, await turn.session.get(Person, person_id)
    assert person is not None
    shell.display_name, shell.erased_at = "", turn.now
    turn.person = person
    turn.conversation = Conversation()
    set_locale(person.locale)
