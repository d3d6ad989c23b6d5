"""The commune's activity log in plain words: "18:35 3/12 · Cán bộ Hoa · công nhận hộ H012".

The audit trail (``audit``) keeps ids and action codes, never personal values; this module
reads the objects they name, in a few batched queries, and says each entry as a person would:
when (Vietnam's time), who (their role in the commune and their given name), and what, with
the household's code or the village's name. Must not import any platform library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _, format_datetime, ngettext
from bot.rich import Text, t
from bot.services import scope
from bot.storage.models import Assessment, AuditEntry, Household, Person, RoleAssignment, Unit

ERASED = "—"


@dataclass(frozen=True)
class Known:
    """What the entries name, read in one go."""

    people: dict[int, str]  # person id -> display name
    roles: dict[int, str]  # person id -> their role here ("officer", "leader", "admin")
    households: dict[int, str]  # household id -> code
    assessments: dict[int, tuple[str, int | None]]  # id -> (subject, household id)
    units: dict[int, str]  # unit id -> name


async def entry_lines(
    session: AsyncSession, entries: Sequence[AuditEntry], commune: Unit
) -> list[Text]:
    """Each entry as one line of plain words."""
    known = await _known(session, entries, commune)
    return [
        t(
            "{at} · {who} · {what}",
            at=format_datetime(entry.at),
            who=_who(entry.actor_id, known),
            what=_what(entry, known),
        )
        for entry in entries
    ]


async def _known(session: AsyncSession, entries: Sequence[AuditEntry], commune: Unit) -> Known:
    actors = {e.actor_id for e in entries if e.actor_id}
    ids = {kind: _ids(entries, kind) for kind in ("household", "assessment", "unit")}
    rows = await session.execute(select(Assessment.id, Assessment.subject,
                                         Assessment.household_id)
                                 .where(Assessment.id.in_(ids["assessment"])))  # fmt: skip
    assessments = {a: (subject, h) for a, subject, h in rows}
    households = ids["household"] | {h for _s, h in assessments.values() if h}
    units = ids["unit"] | {e.unit_id for e in entries if e.unit_id}
    people = await session.execute(
        select(Person.id, Person.display_name).where(Person.id.in_(actors))
    )
    codes = await session.execute(
        select(Household.id, Household.code).where(Household.id.in_(households))
    )
    names = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(units)))
    return Known(
        people=dict(people.all()),
        roles=await _roles(session, actors, commune),
        households=dict(codes.all()),
        assessments=assessments,
        units=dict(names.all()),
    )


def _ids(entries: Sequence[AuditEntry], kind: str) -> set[int]:
    return {int(e.object_id) for e in entries
            if e.object_type == kind and e.object_id and e.object_id.isdigit()}  # fmt: skip


async def _roles(session: AsyncSession, actors: set[int], commune: Unit) -> dict[int, str]:
    """Each actor's role in this commune, the highest first: admin, officer, leader."""
    rows = await session.execute(
        select(RoleAssignment.person_id, RoleAssignment.role, Unit)
        .outerjoin(Unit, Unit.id == RoleAssignment.unit_id)
        .where(RoleAssignment.person_id.in_(actors), RoleAssignment.revoked_at.is_(None))
    )
    order = ("admin", "officer", "leader")
    found: dict[int, str] = {}
    for person, role, unit in rows:
        here = role == "admin" or (
            unit is not None and (scope.contains(commune, unit) or scope.contains(unit, commune))
        )
        best = found.get(person)
        if here and role in order and (best is None or order.index(role) < order.index(best)):
            found[person] = role
    return found


def _who(actor_id: int | None, known: Known) -> Text:
    if actor_id is None:
        return t(_("Administrator (command line)"))
    name = known.people.get(actor_id, "")
    given = name.split()[-1] if name.strip() else ERASED
    role = known.roles.get(actor_id)
    titles = {
        "admin": _("Administrator {name}"),
        "officer": _("Officer {name}"),
        "leader": _("Branch leader {name}"),
    }
    return t(titles.get(role or "", _("Citizen {name}")), name=given)


def _what(entry: AuditEntry, known: Known) -> Text:
    """What was done, to what."""
    household = _household_of(entry, known)
    unit = known.units.get(entry.unit_id or 0, "")
    action = entry.action
    if action.startswith("assessment."):
        return _assessment_phrase(action.removeprefix("assessment."), household, entry, known)
    phrase = PHRASES.get(action)
    if phrase is None:
        return t(_("did {action}"), action=action)
    return phrase(entry, household, unit, known)


def _household_of(entry: AuditEntry, known: Known) -> str:
    ident = int(entry.object_id) if entry.object_id and entry.object_id.isdigit() else 0
    if entry.object_type == "household":
        return known.households.get(ident, "?")
    if entry.object_type == "assessment":
        _subject, household = known.assessments.get(ident, ("", None))
        return known.households.get(household or 0, "")
    return ""


def _assessment_phrase(state: str, household: str, entry: AuditEntry, known: Known) -> Text:
    ident = int(entry.object_id or 0) if (entry.object_id or "").isdigit() else 0
    subject, _household = known.assessments.get(ident, ("household", None))
    if subject == "person":
        citizen = {
            "submitted": _("submitted a self-check"),
            "recognised": _("confirmed a Learning citizen title"),
            "not_recognised": _("did not confirm a Learning citizen title"),
        }
        return t(citizen.get(state, _("changed a self-check")))
    family = {
        "submitted": _("submitted the assessment of household {code}"),
        "recognised": _("recognised household {code}"),
        "not_recognised": _("did not recognise household {code} this year"),
        "returned": _("returned the assessment of household {code} for changes"),
    }
    return t(family.get(state, _("changed the assessment of household {code}")), code=household)


Phrase = Callable[[AuditEntry, str, str, Known], Text]


def _year(entry: AuditEntry) -> str:
    return (entry.detail or "").split(":")[0]


PHRASES: dict[str, Phrase] = {
    "household.created": lambda e, h, u, k: t(_("added household {code}"), code=h),
    "household.removed": lambda e, h, u, k: t(_("removed household {code}"), code=h),
    "household.size_changed": lambda e, h, u, k: t(
        _("changed the number of people of household {code}"), code=h
    ),
    "household.registered": lambda e, h, u, k: t(
        _("registered household {code} for {year}"), code=h, year=_year(e)
    ),
    "household.unregistered": lambda e, h, u, k: t(
        _("cancelled the registration of household {code} for {year}"), code=h, year=_year(e)
    ),
    "registrations.imported": lambda e, h, u, k: t(
        _("imported the registration list for {year}"), year=_year(e)
    ),
    "village.added": lambda e, h, u, k: t(_("added {village}"), village=u),
    "village.renamed": lambda e, h, u, k: t(_("renamed a village to {village}"), village=u),
    "village.merged": lambda e, h, u, k: t(_("merged a village into {village}"), village=u),
    "invite.created": lambda e, h, u, k: t(_("made an invite code for {unit}"), unit=u),
    "invite.revoked": lambda e, h, u, k: t(_("withdrew an invite code for {unit}"), unit=u),
    "role.joined": lambda e, h, u, k: t(_("took up a role in {unit}"), unit=u),
    "role.removed": lambda e, h, u, k: t(_("removed a branch leader of {unit}"), unit=u),
    "role.granted": lambda e, h, u, k: t(_("was given a role")),
    "target.set": lambda e, h, u, k: t(_("set a target: {what}"), what=e.detail or ""),
    "campaign.changed": lambda e, h, u, k: t(_("changed when reminders go")),
    "commune.word_set": lambda e, h, u, k: t(
        _("chose the word for villages: {word}"), word=e.detail or ""
    ),
    "broadcast.sent": lambda e, h, u, k: _broadcast(e),
    "person.home_set": lambda e, h, u, k: t(_("said they live in {village}"), village=u),
    "person.erased": lambda e, h, u, k: t(_("erased their data")),
    "identity.linked": lambda e, h, u, k: t(_("linked a second messenger")),
}


def _broadcast(entry: AuditEntry) -> Text:
    count = (entry.detail or ":0").split(":")[-1]
    number = int(count) if count.isdigit() else 0
    return t(
        ngettext("sent a message to {count} person", "sent a message to {count} people", number),
        count=number,
    )
