"""Personal data (Law 91/2025/QH15, Decree 356/2025/NĐ-CP): what is stored about a person, and
erasure — a citizen's own data, or a household removed by its leader.

Erasure happens at once (the law allows 2 working days to acknowledge and 15 to complete). It
removes names, answers and the earlier values kept of them, but keeps each assessment's
anonymous outcome, so past totals stay true.
Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.storage.models import (
    Answer,
    AnswerRevision,
    Assessment,
    Base,
    ChatState,
    Household,
    Identity,
    Person,
    Reminder,
    ReminderChoice,
    RoleAssignment,
    Unit,
)

ERASED_NAME = ""


@dataclass(frozen=True)
class PersonalData:
    """Everything hoctap keeps about one person, for /mydata."""

    name: str
    locale: str
    consent_at: dt.datetime | None
    consent_purpose: str | None
    channels: list[str]
    roles: list[tuple[str, str]]  # (role, unit name)
    self_checks: int
    answers: int
    revisions: int  # earlier values of the person's own answers, kept when they changed them
    households_assessed: int
    household_changes: int  # answers they changed in households' assessments (kept as history)


async def personal_data(session: AsyncSession, person: Person) -> PersonalData:
    """Collect what is stored about a person (counts for what would be long)."""
    # Each messenger with the person's id there (what an administrator is made with).
    identities = await session.execute(
        select(Identity.channel, Identity.external_id).where(Identity.person_id == person.id)
    )
    channels = [f"{channel} ({ident})" for channel, ident in identities]
    roles = [
        (role, name)
        for role, name in await session.execute(
            select(RoleAssignment.role, Unit.name)
            .join(Unit, Unit.id == RoleAssignment.unit_id)
            .where(RoleAssignment.person_id == person.id, RoleAssignment.revoked_at.is_(None))
        )
    ]
    own = select(Assessment.id).where(
        Assessment.person_id == person.id, Assessment.subject == "person"
    )
    self_checks = await session.scalar(select(func.count()).select_from(own.subquery())) or 0
    answers = await _count(session, Answer, Answer.assessment_id.in_(own))
    revisions = await _count(session, AnswerRevision, AnswerRevision.assessment_id.in_(own))
    household_changes = await _count(
        session,
        AnswerRevision,
        AnswerRevision.replaced_by == person.id,
        AnswerRevision.assessment_id.not_in(own),
    )
    assessed = (
        await session.scalar(
            select(func.count(func.distinct(Assessment.household_id))).where(
                Assessment.created_by == person.id, Assessment.subject == "household"
            )
        )
        or 0
    )
    return PersonalData(
        person.display_name,
        person.locale,
        person.consent_at,
        person.consent_purpose,
        sorted(set(channels)),
        roles,
        self_checks,
        answers,
        revisions,
        assessed,
        household_changes,
    )


async def _count(session: AsyncSession, model: type[Base], *where: ColumnElement[bool]) -> int:
    return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def erase_person(session: AsyncSession, person: Person, now: dt.datetime) -> None:
    """Erase a person's own data: answers, name, identities, roles; keep anonymous outcomes."""
    own = select(Assessment.id).where(
        Assessment.person_id == person.id, Assessment.subject == "person"
    )
    await _delete_answers(session, own)
    await session.execute(
        update(Assessment).where(Assessment.id.in_(own)).values(result=None, cursor=None)
    )
    await session.execute(delete(Identity).where(Identity.person_id == person.id))
    await session.execute(delete(ChatState).where(ChatState.person_id == person.id))
    await session.execute(delete(ReminderChoice).where(ReminderChoice.person_id == person.id))
    await session.execute(  # what is not sent yet is not sent at all
        update(Reminder)
        .where(Reminder.person_id == person.id, Reminder.done_at.is_(None))
        .values(done_at=now, outcome="skipped")
    )
    await session.execute(
        update(RoleAssignment)
        .where(RoleAssignment.person_id == person.id, RoleAssignment.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    person.display_name = ERASED_NAME
    person.consent_at = None
    person.consent_purpose = None
    person.citizen_group = None
    person.erased_at = now
    await audit.record(session, person.id, "person.erased", "person", person.id, now)


async def _delete_answers(session: AsyncSession, assessments: Select[int]) -> None:
    """Delete the answers of these assessments and every earlier value kept of them."""
    await session.execute(
        delete(AnswerRevision).where(AnswerRevision.assessment_id.in_(assessments))
    )
    await session.execute(delete(Answer).where(Answer.assessment_id.in_(assessments)))


async def remove_household(
    session: AsyncSession, actor_id: int, household: Household, now: dt.datetime
) -> None:
    """Take a household off the list: its name and answers go, its past outcomes stay counted."""
    assessments = select(Assessment.id).where(Assessment.household_id == household.id)
    await _delete_answers(session, assessments)
    await session.execute(
        update(Assessment).where(Assessment.id.in_(assessments)).values(result=None, cursor=None)
    )
    household.head_name = ERASED_NAME
    household.note = None
    household.removed_at = now
    await audit.record(
        session,
        actor_id,
        "household.removed",
        "household",
        household.id,
        now,
        household.village_id,
    )
