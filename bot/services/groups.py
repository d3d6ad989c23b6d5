"""The four groups of Công dân học tập (QĐ 324/QĐ-KHVN, 25/10/2023): each has its own form, a
citizen belongs to one, and the reports count each group apart.

A person picks their group once (the choice is kept on their row) and may change it; a
self-check is made with the form of the group they are in when they start it, so one made
before a change keeps its own form. Which base a group's titles count on is the targets'
(DOMAIN.md, "Corrections and findings"): working-age people of the households for the first
three groups (pupils and students are learners, not người lao động), and, for staff, also the
staff of learning units. Functions never commit. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import audit
from bot.services.context import CDHT, CDHT_PUPILS, CDHT_STAFF, CDHT_WORKERS
from bot.storage.models import Person


@dataclass(frozen=True)
class Group:
    """A population group: its id (stored on the person) and the key of its form."""

    id: str
    form_key: str
    # True: its titles count on the working-age members of the households (the target base).
    household_base: bool = True


GROUPS = (
    Group("resident", CDHT),  # người dân trong xã
    Group("worker", CDHT_WORKERS),  # người lao động
    Group("staff", CDHT_STAFF),  # cán bộ, công nhân viên và doanh nhân
    Group("pupil", CDHT_PUPILS, household_base=False),  # học sinh, sinh viên, học viên
)
BY_ID = {group.id: group for group in GROUPS}
BY_FORM = {group.form_key: group for group in GROUPS}
# QĐ 677/QĐ-TTg's digital-skills share of title holders, from indicator 5 (using IT for
# learning and work), which every group's form has: "Thường xuyên" or "Khá thường xuyên"
# counts as having digital skills, "Thường xuyên" as proficient. The product's reading: no
# public text maps the indicator to QĐ 677's skills.
DIGITAL_QUESTION = "cs5"
DIGITAL_SKILLED = ("thuong-xuyen", "kha")
DIGITAL_PROFICIENT = ("thuong-xuyen",)
# The forms whose titles count on the households' working-age members.
HOUSEHOLD_BASE_FORMS = tuple(group.form_key for group in GROUPS if group.household_base)


def group_of(person: Person) -> Group | None:
    """The group the person chose, None if they have not (or it is no longer known)."""
    return BY_ID.get(person.citizen_group or "")


async def set_group(session: AsyncSession, person: Person, group: Group, now: dt.datetime) -> bool:
    """Keep the person's group; False when it was theirs already (nothing changed)."""
    if person.citizen_group == group.id:
        return False
    person.citizen_group = group.id
    await audit.record(
        session, person.id, "person.group_set", "person", person.id, now, detail=group.id
    )
    return True
