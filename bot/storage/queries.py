"""Aggregate queries for the reports: counts per unit for one year, and the targets they meet.

Each report level is one SQL statement: the households of every village under the unit are
counted per village (registrations and the deciding assessment joined on), then rolled up to the
unit's children along the materialized path, with one GROUP BY. Nothing loops over units in
Python, so a province of a million households is one statement. Rules every count follows:

* Households in scope for a year are those not removed and created before the year ended
  (Asia/Ho_Chi_Minh).
* A household counts once per year, by its *deciding* assessment: a recognised one if any
  (recognition is final, later edits do not undo it), else the latest. A returned assessment
  is not recognised, and is not assessed either until it is submitted again.
* A citizen counts once per village and year if they submitted a self-check, and as passing if
  any submitted self-check of that year met the criteria.

Must not import services, channels, conversations or gettext, and must not format text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, ScalarSelect, Subquery, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.models import UNIT_LEVELS, Assessment, Household, Registration, Target, Unit

TITLE_FAMILY = "gdht"  # Gia đình học tập, counted over households
TITLE_CITIZEN = "cdht"  # Công dân học tập, counted over people
TITLES = (TITLE_FAMILY, TITLE_CITIZEN)
SUBMITTED = ("submitted", "recognised", "not_recognised")
VILLAGE = UNIT_LEVELS["village"]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass(frozen=True)
class Counts:
    """The numbers of one row of a report; adding two rows adds every number."""

    households: int = 0  # in scope: current, created by the end of the year
    members: int = 0  # people living in those households
    registered: int = 0
    assessed: int = 0  # deciding assessment submitted, recognised or not recognised
    passing: int = 0  # assessed and meeting the criteria
    pending: int = 0  # submitted, waiting for the commune's review
    returned: int = 0  # sent back to the leader for changes
    recognised: int = 0
    checked: int = 0  # citizens with a submitted self-check
    certified: int = 0  # of whom met the Công dân học tập criteria
    villages: int = 0  # active villages
    villages_reporting: int = 0  # villages with at least one household assessed

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class UnitCounts:
    """One row of a report: a unit below the one reported on (or a village itself)."""

    unit_id: int
    code: str
    name: str
    level: int
    path: str
    active: bool
    counts: Counts


def year_end(year: int) -> dt.datetime:
    """The first moment after the year, in Vietnam, as UTC."""
    return dt.datetime(year + 1, 1, 1, tzinfo=VIETNAM).astimezone(dt.UTC)


def path_ids(path: str) -> list[int]:
    """The ids on a materialized path, root first ("/1/57/" -> [1, 57])."""
    return [int(part) for part in path.strip("/").split("/") if part]


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((condition, 1), else_=0))


def deciding(assessment: Any, forms: Sequence[str]) -> ColumnElement[bool]:
    """True for the assessment that decides its household's year: no better one exists.

    Better means recognised where this one is not, or, equally recognised, newer.
    """
    other = aliased(Assessment)
    won = other.state == "recognised"
    better = or_(
        and_(won, assessment.state != "recognised"),
        and_(other.id > assessment.id, or_(won, assessment.state != "recognised")),
    )
    return ~(
        select(other.id)
        .where(
            other.household_id == assessment.household_id,
            other.year == assessment.year,
            other.form_key.in_(forms),
            better,
        )
        .exists()
    )


def _under(unit: Unit) -> ScalarSelect[int]:
    return select(Unit.id).where(Unit.path.startswith(unit.path)).scalar_subquery()


def _decided(unit: Unit, year: int, forms: Sequence[str]) -> Subquery:
    """The deciding household assessment of the year for each household under `unit`."""
    a = aliased(Assessment)
    return (
        select(a.household_id, a.state, a.passed)
        .where(
            a.unit_id.in_(_under(unit)),
            a.year == year,
            a.form_key.in_(forms),
            a.household_id.is_not(None),
            deciding(a, forms),
        )
        .subquery("decided")
    )


def _families_by_village(unit: Unit, year: int, forms: Sequence[str]) -> Subquery:
    """Per village under `unit`: households in scope and their standing for the year."""
    h, r = Household, Registration
    a = _decided(unit, year, forms)
    return (
        select(
            h.village_id.label("village_id"),
            func.count().label("households"),
            func.sum(h.members).label("members"),
            func.count(r.household_id).label("registered"),
            _count_if(a.c.state.in_(SUBMITTED)).label("assessed"),
            _count_if(and_(a.c.state.in_(SUBMITTED), a.c.passed.is_(True))).label("passing"),
            _count_if(a.c.state == "submitted").label("pending"),
            _count_if(a.c.state == "returned").label("returned"),
            _count_if(a.c.state == "recognised").label("recognised"),
        )
        .outerjoin(r, and_(r.household_id == h.id, r.year == year))
        .outerjoin(a, a.c.household_id == h.id)
        .where(
            h.village_id.in_(_under(unit)),
            h.removed_at.is_(None),
            h.created_at < year_end(year),
        )
        .group_by(h.village_id)
        .subquery("families")
    )


def _citizens_by_village(unit: Unit, year: int, forms: Sequence[str]) -> Subquery:
    """Per village under `unit`: citizens with a submitted self-check, and those passing."""
    a = Assessment
    return (
        select(
            a.unit_id.label("village_id"),
            func.count(a.person_id.distinct()).label("checked"),
            func.count(case((a.passed.is_(True), a.person_id)).distinct()).label("certified"),
        )
        .where(
            a.unit_id.in_(_under(unit)),
            a.year == year,
            a.form_key.in_(forms),
            a.subject == "person",
            a.state.in_(SUBMITTED),
        )
        .group_by(a.unit_id)
        .subquery("citizens")
    )


async def child_counts(
    session: AsyncSession,
    unit: Unit,
    year: int,
    household_forms: Sequence[str],
    person_forms: Sequence[str],
) -> list[UnitCounts]:
    """The counts of each child of `unit` (a village: of itself), in one statement."""
    group = aliased(Unit, name="grp")
    member = aliased(Unit, name="member")
    families = _families_by_village(unit, year, household_forms)
    citizens = _citizens_by_village(unit, year, person_forms)
    numbers = [
        func.coalesce(func.sum(column), 0)
        for column in (*list(families.c)[1:], *list(citizens.c)[1:])
    ]
    is_village = and_(member.level == VILLAGE, member.active.is_(True))
    statement = (
        select(
            group.id,
            group.code,
            group.name,
            group.level,
            group.path,
            group.active,
            *numbers,
            _count_if(is_village),
            _count_if(families.c.assessed > 0),
        )
        .join(member, member.path.startswith(group.path))
        .outerjoin(families, families.c.village_id == member.id)
        .outerjoin(citizens, citizens.c.village_id == member.id)
        .where(group.id == unit.id if unit.level >= VILLAGE else group.parent_id == unit.id)
        .group_by(group.id, group.code, group.name, group.level, group.path, group.active)
        .having(or_(group.active.is_(True), func.coalesce(func.sum(families.c.households), 0) > 0))
    )
    rows = await session.execute(statement)
    return [_unit_counts(row) for row in rows]


def _unit_counts(row: Any) -> UnitCounts:
    unit_id, code, name, level, path, active, *numbers = row
    return UnitCounts(unit_id, code, name, level, path, bool(active),
                      Counts(*(int(n or 0) for n in numbers)))  # fmt: skip


async def targets(
    session: AsyncSession, paths: Iterable[str], titles: Sequence[str], year: int
) -> dict[tuple[str, str], float | None]:
    """The target percent per (path, title): the nearest unit up the tree with a target for
    that year wins, else the national default of the latest year not after it."""
    paths = list(paths)
    ids = {unit_id for path in paths for unit_id in path_ids(path)}
    rows = await session.execute(
        select(Target.unit_id, Target.title, Target.year, Target.percent)
        .where(Target.title.in_(titles))
        .where(
            or_(
                and_(Target.unit_id.in_(ids), Target.year == year),
                and_(Target.unit_id.is_(None), Target.year <= year),
            )
        )
        .order_by(Target.year)
    )
    local: dict[tuple[int, str], float] = {}
    national: dict[str, float] = {}
    for unit_id, title, _year, percent in rows:
        if unit_id is None:
            national[title] = percent  # ordered by year: the latest stays
        else:
            local[(unit_id, title)] = percent
    return {
        (path, title): _nearest(path, title, local, national.get(title))
        for path in paths
        for title in titles
    }


def _nearest(
    path: str, title: str, local: dict[tuple[int, str], float], default: float | None
) -> float | None:
    for unit_id in reversed(path_ids(path)):
        if (unit_id, title) in local:
            return local[(unit_id, title)]
    return default
