"""People, their channel identities, their roles and where each stands in a conversation.

The conversation state (``ChatState``) is a stored row, never memory, so a restart or a second
worker continues where the person stopped.

Nothing is stored about someone before they consent (Law 91/2025/QH15: consent explicit and
first): a message from an identity the bot does not know comes with a *transient* person, not
added to the session, who can read the greeting, the privacy notice and the help. ``consent``
stores them, with their name and identity, when they agree. Must not import any platform
library.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import CursorResult, and_, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from bot.i18n import normalise_locale
from bot.storage import inbox
from bot.storage.db import on_postgresql
from bot.storage.models import ChatState, Identity, Person, RoleAssignment, Unit, update_of
from conversations.text import vietnamese_key

LEADER, OFFICER, PROVINCE, ADMIN = "leader", "officer", "province", "admin"

# Built once: these run for every message, and building a statement costs about as much as
# running it.
_ENTER = (
    select(Person, ChatState, Identity.blocked_at, Identity.last_seen_at)
    .join(Identity, Identity.person_id == Person.id)
    .outerjoin(ChatState, ChatState.person_id == Person.id)
    .where(
        Identity.channel == bindparam("actor_channel"),
        Identity.external_id == bindparam("actor_id"),
    )
)
# PostgreSQL: the claim of the update (see ``inbox.CLAIMED``), then `_ENTER`, in one query that
# returns one row even for a person not yet known.
_claims = select(func.count().label("claimed")).select_from(inbox.CLAIMED).subquery("claims")
_CLAIM_AND_ENTER = (
    select(
        _claims.c.claimed,
        inbox.WAS_DONE,
        Person,
        ChatState,
        Identity.blocked_at,
        Identity.last_seen_at,
    )
    .select_from(_claims)
    .outerjoin(
        Identity,
        and_(
            Identity.channel == bindparam("actor_channel"),
            Identity.external_id == bindparam("actor_id"),
        ),
    )
    .outerjoin(Person, Person.id == Identity.person_id)
    .outerjoin(ChatState, ChatState.person_id == Person.id)
)
_MOVE = update_of(
    ChatState, "person_id", "person", flow="new_flow", data="new_data", updated_at="moved_at"
)
CONSENT_PURPOSE = "hoctap-assessments"
TYPED_KEYS = "_keys"  # in the stored conversation: typed key -> choice of the last reply
# How finely ``Identity.last_seen_at`` follows a person's messages: written at most this often,
# not at every message (a write per message would cost every answer a statement).
SEEN_EVERY = dt.timedelta(hours=1)
RETURNED = "hoctap.returned"  # a session.info key: see _entered


@dataclass(frozen=True)
class Actor:
    """The person behind an update, as the channel knows them."""

    channel: str  # "telegram" | "zalo" | "terminal"
    external_id: str
    chat_id: str
    name: str = ""
    language: str | None = None


@dataclass
class Conversation:
    """Which flow a person is in (``""`` for the menu) and the little it needs to remember."""

    flow: str = ""
    data: dict[str, Any] = field(default_factory=dict)


async def ensure_person(session: AsyncSession, actor: Actor, now: dt.datetime) -> Person:
    """The person behind a channel identity, stored on first contact (the command line's
    administrator and demo people, who are set up rather than met)."""
    person, _state = await enter(session, actor, now)
    if is_transient(person):
        person.display_name = actor.name[:200] or actor.external_id
        await _store(session, person, actor, now)
    return person


def is_transient(person: Person) -> bool:
    """True for someone the bot met but stores nothing about (they have not consented)."""
    return person.id is None


async def consent(session: AsyncSession, person: Person, actor: Actor, now: dt.datetime) -> None:
    """Record a person's consent; someone not stored yet is stored now, name and identity."""
    if is_transient(person):
        person.display_name = actor.name[:200] or actor.external_id
        await _store(session, person, actor, now)
    person.consent_at, person.consent_purpose = now, CONSENT_PURPOSE


async def enter(
    session: AsyncSession, actor: Actor, now: dt.datetime
) -> tuple[Person, ChatState | None]:
    """The person behind a channel identity (created on first contact) and their stored
    conversation row, in one query: this runs for every message. A person who writes again
    after blocking the bot has unblocked it: reminders reach them again."""
    found = (await session.execute(_ENTER, _identity(actor))).first()
    if found is None:
        return _stranger(actor, now), None
    person, state, blocked_at, seen_at = found
    return await _entered(session, actor, person, state, blocked_at, seen_at, now)


async def claim_and_enter(
    session: AsyncSession, actor: Actor, update_id: int, now: dt.datetime
) -> tuple[Person, ChatState | None] | None:
    """Claim the actor's stored update (see ``inbox.claim``), then `enter`; None when the update
    was done already (apply nothing). On PostgreSQL both are one query, each query being a
    round trip to the server, unless another transaction holds the update (a second worker on
    it): then the claim waits for that one, and the person is read after."""
    if not on_postgresql(session):
        return await _claim_then_enter(session, actor, update_id, now)
    claim = {"of_channel": actor.channel, "of_update": update_id, "now": now}
    claimed, was_done, person, state, blocked_at, seen_at = (
        await session.execute(_CLAIM_AND_ENTER, {**claim, **_identity(actor)})
    ).one()
    if not claimed:
        if was_done is not False:
            return None  # done already (or no such row, which counts as done)
        # Held by another transaction. What the query loaded is older than the wait ahead:
        # forget it, so that the person is read anew (the identity map would keep it).
        for loaded in (person, state):
            if loaded is not None:
                session.expunge(loaded)
        return await _claim_then_enter(session, actor, update_id, now)
    if person is None:
        return _stranger(actor, now), None
    return await _entered(session, actor, person, state, blocked_at, seen_at, now)


async def _claim_then_enter(
    session: AsyncSession, actor: Actor, update_id: int, now: dt.datetime
) -> tuple[Person, ChatState | None] | None:
    if not await inbox.claim(session, actor.channel, update_id, now):
        return None
    return await enter(session, actor, now)


def _identity(actor: Actor) -> dict[str, str]:
    # Not "channel": in a statement with an UPDATE (the claim), a parameter named like a
    # column of the updated table would be written to it.
    return {"actor_channel": actor.channel, "actor_id": actor.external_id}


async def _entered(
    session: AsyncSession,
    actor: Actor,
    person: Person,
    state: ChatState | None,
    blocked_at: dt.datetime | None,
    seen_at: dt.datetime | None,
    now: dt.datetime,
) -> tuple[Person, ChatState | None]:
    """The person wrote: a block is over, and the time they last wrote is kept (to within
    ``SEEN_EVERY``, so most messages write nothing here). When it is written, the session's
    ``info[RETURNED]`` says so: reminders held for their silence may go now."""
    if actor.name and person.display_name == actor.external_id:  # a name learnt late (Zalo OA)
        person.display_name = actor.name[:200]
    if blocked_at is not None or seen_at is None or now - seen_at >= SEEN_EVERY:
        await session.execute(
            update(Identity)
            .where(Identity.channel == actor.channel, Identity.external_id == actor.external_id)
            .values(blocked_at=None, last_seen_at=now)
        )
        session.info[RETURNED] = True
    return person, state


async def mark_blocked(session: AsyncSession, actor: Actor, now: dt.datetime) -> None:
    """The person blocked the bot (the platform said so): reminders skip them from now on,
    until they write again (``enter`` clears the mark)."""
    await session.execute(
        update(Identity)
        .where(Identity.channel == actor.channel, Identity.external_id == actor.external_id)
        .values(blocked_at=now)
    )


def _stranger(actor: Actor, now: dt.datetime) -> Person:
    """Someone the bot does not know: transient, nothing stored (no name kept, even here)."""
    return Person(display_name="", locale=normalise_locale(actor.language), created_at=now)


async def _store(session: AsyncSession, person: Person, actor: Actor, now: dt.datetime) -> None:
    session.add(person)
    await session.flush()
    session.add(
        Identity(
            person_id=person.id,
            channel=actor.channel,
            external_id=actor.external_id,
            chat_id=actor.chat_id,
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()


async def villages_led(session: AsyncSession, person_id: int) -> list[Unit]:
    """The villages a person leads (active role assignments only)."""
    rows = await session.scalars(
        select(Unit)
        .join(RoleAssignment, RoleAssignment.unit_id == Unit.id)
        .where(
            RoleAssignment.person_id == person_id,
            RoleAssignment.role == LEADER,
            RoleAssignment.revoked_at.is_(None),
            Unit.active.is_(True),
        )
    )
    return sorted(rows, key=lambda unit: vietnamese_key(unit.name))


async def roles_of(session: AsyncSession, person_id: int) -> set[str]:
    """The roles a person holds now."""
    rows = await session.scalars(
        select(RoleAssignment.role).where(
            RoleAssignment.person_id == person_id, RoleAssignment.revoked_at.is_(None)
        )
    )
    return set(rows)


async def grant(
    session: AsyncSession, person_id: int, role: str, unit_id: int | None, now: dt.datetime
) -> RoleAssignment:
    """Give a person a role over a unit (the caller checks who may do this)."""
    assignment = RoleAssignment(person_id=person_id, role=role, unit_id=unit_id, created_at=now)
    session.add(assignment)
    await session.flush()
    return assignment


async def load_conversation(session: AsyncSession, person_id: int) -> Conversation:
    """Where the person stands, from the stored row."""
    return conversation_of(await session.get(ChatState, person_id))


def conversation_of(row: ChatState | None) -> Conversation:
    """Where the person stands, from a loaded row (None: at the menu)."""
    if row is None:
        return Conversation()
    return Conversation(row.flow, json.loads(row.data or "{}"))


async def save_conversation(
    session: AsyncSession,
    person_id: int,
    conversation: Conversation,
    now: dt.datetime,
    loaded: ChatState | None = None,
) -> None:
    """Store where the person stands, in the same transaction as the answer that moved it.

    ``loaded`` is the row this unit of work read (saves a query); it is looked up again when it
    belongs to someone else or left the session (erased meanwhile). A position that did not
    move is not written (``updated_at`` is when it last moved; answers carry their own times).
    """
    row = loaded
    if row is None or row.person_id != person_id or row not in session:
        row = await session.get(ChatState, person_id)
    data = json.dumps(conversation.data, ensure_ascii=False)
    if row is None:
        session.add(
            ChatState(person_id=person_id, flow=conversation.flow, data=data, updated_at=now)
        )
        await session.flush()
    elif (row.flow, row.data) != (conversation.flow, data):
        # A Core UPDATE, then the loaded row told it is stored: the ORM's flush of one changed
        # row cost more than all the rest of a typed answer's statements.
        moved = {"new_flow": conversation.flow, "new_data": data, "moved_at": now}
        result = await session.execute(_MOVE, {"person": person_id, **moved})
        if cast(CursorResult[Any], result).rowcount != 1:  # as the ORM's flush would refuse
            raise StaleDataError(f"the conversation row of person {person_id} is gone")
        for name, value in (("flow", conversation.flow), ("data", data), ("updated_at", now)):
            set_committed_value(row, name, value)
