"""Aggregate queries for the reports: counts per unit for one year, and the targets they meet.

The households of a village are counted with one GROUP BY (registrations and the deciding
assessment joined on); ``live_child_counts`` does that for every village under a unit and adds
them up for each child unit. Pairing a million households with their rows takes seconds, so
``child_counts`` reads stored per-unit totals instead (``unit_totals``), kept exact by a version:
database triggers bump ``units.totals_version`` in the same transaction as any change they count
(migration 0007), and a report first recounts, in one statement, the units whose stored totals
are behind, then adds up the stored rows with one GROUP BY down the unit tree. A report after
few changes reads a province in milliseconds; after everything changed it costs one live count.
Nothing loops over units in Python. Rules every count follows:

* Households in scope for a year are those not removed and created before the year ended
  (Asia/Ho_Chi_Minh).
* A household counts once per year, by its *deciding* assessment: a recognised one if any
  (recognition is final, later edits do not undo it), else the latest. A returned assessment
  is not recognised, and is not assessed either until it is submitted again.
* A citizen counts once per village and year if they submitted a self-check, as passing if any
  submitted self-check of that year met the criteria (their own estimate), and as holding the
  title if one was confirmed (recognised) by the village branch or the commune.
* The Công dân học tập share's base is the households' working-age members; households that
  have not given the figure are counted apart (``working_age_missing``), never guessed.

Must not import services, channels, conversations or gettext, and must not format text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CTE,
    ColumnElement,
    Executable,
    FromClause,
    Select,
    Subquery,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.storage.db import insert_of
from bot.storage.models import (
    UNIT_LEVELS,
    Answer,
    Assessment,
    Clan,
    ClanHousehold,
    Household,
    Organisation,
    Registration,
    Target,
    Unit,
    UnitTotals,
)

TITLE_FAMILY = "gdht"  # Gia đình học tập, counted over households
TITLE_CITIZEN = "cdht"  # Công dân học tập, counted over people
SUBMITTED = ("submitted", "recognised", "not_recognised")
VILLAGE = UNIT_LEVELS["village"]
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
COUNTED = (
    "households",
    "members",
    "registered",
    "assessed",
    "passing",
    "pending",
    "returned",
    "recognised",
    "checked",
    "certified",
    "working_age",
    "working_age_missing",
    "confirmed",
)  # the stored totals' numbers, in the order of `Counts`
STALE_CHUNK = 5000  # units recounted per statement


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
    certified: int = 0  # of whom met the Công dân học tập criteria, by their own estimate
    working_age: int = 0  # working-age members of the households in scope that gave it
    working_age_missing: int = 0  # households in scope that have not given it
    confirmed: int = 0  # citizens whose Công dân học tập title was confirmed
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


def _decided(year: int, forms: Sequence[str]) -> Subquery:
    """The deciding household assessment of the year per household; joined on the household,
    so only those of the households counted are read."""
    a = aliased(Assessment)
    return (
        select(a.household_id, a.state, a.passed)
        .where(
            a.household_id.is_not(None),
            a.year == year,
            a.form_key.in_(forms),
            deciding(a, forms),
        )
        .subquery("decided")
    )


Ids = Select[int] | Sequence[int]  # units: a query of their ids, or the ids themselves


def _families_by_village(villages: Ids, year: int, forms: Sequence[str]) -> Subquery:
    """Per village of `villages`: households in scope and their standing for the year."""
    h, r = Household, Registration
    in_scope = (
        h.village_id.in_(villages),
        h.removed_at.is_(None),
        h.created_at < year_end(year),
    )
    a = _decided(year, forms)
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
            func.sum(h.working_age).label("working_age"),
            _count_if(h.working_age.is_(None)).label("working_age_missing"),
        )
        .outerjoin(r, and_(r.household_id == h.id, r.year == year))
        .outerjoin(a, a.c.household_id == h.id)
        .where(*in_scope)
        .group_by(h.village_id)
        .subquery("families")
    )


def _citizens_by_village(villages: Ids, year: int, forms: Sequence[str]) -> Subquery:
    """Per village of `villages`: citizens with a submitted self-check, and those passing."""
    a = Assessment
    return (
        select(
            a.unit_id.label("village_id"),
            func.count(a.person_id.distinct()).label("checked"),
            func.count(case((a.passed.is_(True), a.person_id)).distinct()).label("certified"),
            func.count(case((a.state == "recognised", a.person_id)).distinct()).label("confirmed"),
        )
        .where(
            a.unit_id.in_(villages),
            a.year == year,
            a.form_key.in_(forms),
            a.subject == "person",
            a.state.in_(SUBMITTED),
        )
        .group_by(a.unit_id)
        .subquery("citizens")
    )


def _counted(
    units: Ids,
    year: int,
    household_forms: Sequence[str],
    person_forms: Sequence[str],
) -> Select[*tuple[Any, ...]]:
    """Each unit of `units` with its counts, from the rows: unit id, version, then COUNTED."""
    families = _families_by_village(units, year, household_forms)
    citizens = _citizens_by_village(units, year, person_forms)
    by_name = {**families.c, **citizens.c}
    return (
        select(
            Unit.id,
            Unit.totals_version,
            *(func.coalesce(by_name[name], 0).label(name) for name in COUNTED),
        )
        .outerjoin(families, families.c.village_id == Unit.id)
        .outerjoin(citizens, citizens.c.village_id == Unit.id)
        .where(Unit.id.in_(units))
    )  # fmt: skip


def forms_key(household_forms: Sequence[str], person_forms: Sequence[str]) -> str:
    """The stored totals' name for what they count: "household forms/person forms"."""
    return ",".join(sorted(household_forms)) + "/" + ",".join(sorted(person_forms))


async def refresh_totals(
    session: AsyncSession,
    unit: Unit,
    year: int,
    household_forms: Sequence[str],
    person_forms: Sequence[str],
) -> int:
    """Recount the units a report of `unit` adds up whose stored totals are missing or older
    than their rows (``units.totals_version``, bumped by triggers on every change); return how
    many were recounted."""
    key = forms_key(household_forms, person_forms)
    t = UnitTotals
    tree = _tree(unit)
    current = exists().where(
        t.unit_id == Unit.id, t.year == year, t.forms == key, t.version == Unit.totals_version
    )
    stale = list(
        await session.scalars(
            select(Unit.id).join(tree, tree.c.member_id == Unit.id).where(~current)
        )
    )
    # The ids as constants, not as a subquery, so that the planner (PostgreSQL's above all)
    # reads only the stale units' rows; in chunks, under the drivers' limit on parameters.
    for start in range(0, len(stale), STALE_CHUNK):
        chunk = stale[start : start + STALE_CHUNK]
        await session.execute(_upsert(session, chunk, year, key, household_forms, person_forms))
    return len(stale)


def _upsert(
    session: AsyncSession,
    units: list[int],
    year: int,
    key: str,
    household_forms: Sequence[str],
    person_forms: Sequence[str],
) -> Executable:
    counted = _counted(units, year, household_forms, person_forms).subquery("counted")
    # SQLite reads ON CONFLICT after a bare FROM as a join's ON: a WHERE keeps them apart.
    rows = select(
        counted.c.id, literal(year), literal(key), counted.c.totals_version,
        *(counted.c[name] for name in COUNTED),
    ).where(true())  # fmt: skip
    statement = insert_of(session)(UnitTotals).from_select(
        ["unit_id", "year", "forms", "version", *COUNTED], rows
    )
    return statement.on_conflict_do_update(
        index_elements=["unit_id", "year", "forms"],
        set_={name: statement.excluded[name] for name in ("version", *COUNTED)},
        # Two reports may recount at once (PostgreSQL): the newer count stays.
        where=UnitTotals.version < statement.excluded.version,
    )


def _tree(unit: Unit) -> CTE:
    """(group_id, member_id): each child of `unit` (a village: itself) and every unit below it.

    Walked down ``parent_id`` (an index lookup per unit) rather than matched by path prefix,
    which compares every group with every unit and cost more than the counting itself.
    """
    top = Unit.id == unit.id if unit.level >= VILLAGE else Unit.parent_id == unit.id
    tree = select(Unit.id.label("group_id"), Unit.id.label("member_id")).where(top)
    tree_cte = tree.cte("tree", recursive=True)
    child = aliased(Unit, name="child")
    return tree_cte.union_all(
        select(tree_cte.c.group_id, child.id).where(child.parent_id == tree_cte.c.member_id)
    )


def _rollup(tree: CTE, source: FromClause) -> Select[*tuple[Any, ...]]:
    """Add up per-unit counts (`source`: unit_id and COUNTED) for each group of `tree`."""
    group = aliased(Unit, name="grp")
    member = aliased(Unit, name="member")
    is_village = and_(member.level == VILLAGE, member.active.is_(True))
    return (
        select(
            group.id,
            group.code,
            group.name,
            group.level,
            group.path,
            group.active,
            *(func.coalesce(func.sum(source.c[name]), 0) for name in COUNTED),
            _count_if(is_village),
            _count_if(source.c.assessed > 0),
        )
        .select_from(tree)
        .join(group, group.id == tree.c.group_id)
        .join(member, member.id == tree.c.member_id)
        .outerjoin(source, source.c.unit_id == member.id)
        .group_by(group.id, group.code, group.name, group.level, group.path, group.active)
        .having(or_(group.active.is_(True), func.coalesce(func.sum(source.c.households), 0) > 0))
        .order_by(group.id)
    )


async def child_counts(
    session: AsyncSession,
    unit: Unit,
    year: int,
    household_forms: Sequence[str],
    person_forms: Sequence[str],
) -> list[UnitCounts]:
    """The counts of each child of `unit` (a village: of itself), from the stored totals,
    recounting first those that changed since they were stored."""
    await refresh_totals(session, unit, year, household_forms, person_forms)
    t = UnitTotals
    stored = (
        select(t.unit_id, *(getattr(t, name) for name in COUNTED))
        .where(t.year == year, t.forms == forms_key(household_forms, person_forms))
        .subquery("stored")
    )
    rows = await session.execute(_rollup(_tree(unit), stored))
    return [_unit_counts(row) for row in rows]


async def live_child_counts(
    session: AsyncSession,
    unit: Unit,
    year: int,
    household_forms: Sequence[str],
    person_forms: Sequence[str],
) -> list[UnitCounts]:
    """The same counts straight from the rows, in one statement: the reference the stored
    totals must equal, and what ``refresh_totals`` stores."""
    tree = _tree(unit)
    counted = _counted(select(tree.c.member_id), year, household_forms, person_forms)
    source = counted.with_only_columns(
        Unit.id.label("unit_id"), *list(counted.selected_columns)[2:]
    ).subquery("counted")
    rows = await session.execute(_rollup(tree, source))
    return [_unit_counts(row) for row in rows]


async def group_counts(
    session: AsyncSession, unit: Unit, year: int, forms: Sequence[str]
) -> dict[tuple[int, str], tuple[int, int, int]]:
    """Per child of `unit` (a village: itself) and person form: the citizens who submitted a
    self-check with it, those meeting the criteria, those holding the title; counted as the
    report's citizen columns are, once per village, then added up (one statement)."""
    tree = _tree(unit)
    a = Assessment
    per_village = (
        select(
            a.unit_id.label("village_id"),
            a.form_key.label("form_key"),
            func.count(a.person_id.distinct()).label("checked"),
            func.count(case((a.passed.is_(True), a.person_id)).distinct()).label("certified"),
            func.count(case((a.state == "recognised", a.person_id)).distinct()).label("confirmed"),
        )
        .where(
            a.unit_id.in_(select(tree.c.member_id)),
            a.year == year,
            a.form_key.in_(forms),
            a.subject == "person",
            a.state.in_(SUBMITTED),
        )
        .group_by(a.unit_id, a.form_key)
        .subquery("per_village")
    )
    rows = await session.execute(
        select(
            tree.c.group_id,
            per_village.c.form_key,
            func.sum(per_village.c.checked),
            func.sum(per_village.c.certified),
            func.sum(per_village.c.confirmed),
        )
        .join(per_village, per_village.c.village_id == tree.c.member_id)
        .group_by(tree.c.group_id, per_village.c.form_key)
    )
    return {
        (group_id, form_key): (int(checked), int(certified), int(confirmed))
        for group_id, form_key, checked, certified, confirmed in rows
    }


async def community_counts(
    session: AsyncSession, unit: Unit, year: int, forms: Sequence[str]
) -> dict[int, tuple[int, int]]:
    """Per child of `unit` (a village: itself): its villages whose own assessment of the year
    (Cộng đồng học tập) was submitted, and those recognised; a village counts once, by its
    newest assessment or a recognised one (one statement)."""
    tree = _tree(unit)
    a, other = Assessment, aliased(Assessment)
    won = other.state == "recognised"
    better = or_(and_(won, a.state != "recognised"),
                 and_(other.id > a.id, or_(won, a.state != "recognised")))  # fmt: skip
    deciding_one = ~(
        select(other.id)
        .where(other.subject == "village", other.unit_id == a.unit_id, other.year == a.year,
               other.form_key.in_(forms), better)
        .exists()
    )  # fmt: skip
    rows = await session.execute(
        select(
            tree.c.group_id,
            _count_if(a.state.in_(SUBMITTED)),
            _count_if(a.state == "recognised"),
        )
        .join(a, a.unit_id == tree.c.member_id)
        .where(
            a.subject == "village",
            a.year == year,
            a.form_key.in_(forms),
            a.household_id.is_(None),
            deciding_one,
        )
        .group_by(tree.c.group_id)
    )
    return {group_id: (int(done or 0), int(won_ or 0)) for group_id, done, won_ in rows}


async def digital_counts(
    session: AsyncSession,
    unit: Unit,
    year: int,
    forms: Sequence[str],
    question: str,
    skilled: Sequence[str],
    proficient: Sequence[str],
) -> dict[int, tuple[int, int, int]]:
    """Per child of `unit` (a village: itself): Công dân học tập title holders of the year, those
    whose answer to the digital indicator `question` is one of `skilled`, and of `proficient`;
    a person once per village, then added up (one statement)."""
    tree = _tree(unit)
    a = Assessment
    digital = (
        select(Answer.value)
        .where(Answer.assessment_id == a.id, Answer.question_id == question)
        .scalar_subquery()
    )
    per_village = (
        select(
            a.unit_id.label("village_id"),
            func.count(a.person_id.distinct()).label("holders"),
            func.count(case((digital.in_(skilled), a.person_id)).distinct()).label("skilled"),
            func.count(case((digital.in_(proficient), a.person_id)).distinct()).label("best"),
        )
        .where(
            a.unit_id.in_(select(tree.c.member_id)),
            a.year == year,
            a.form_key.in_(forms),
            a.subject == "person",
            a.state == "recognised",
        )
        .group_by(a.unit_id)
        .subquery("per_village")
    )
    rows = await session.execute(
        select(
            tree.c.group_id,
            func.sum(per_village.c.holders),
            func.sum(per_village.c.skilled),
            func.sum(per_village.c.best),
        )
        .join(per_village, per_village.c.village_id == tree.c.member_id)
        .group_by(tree.c.group_id)
    )
    return {gid: (int(h or 0), int(s or 0), int(p or 0)) for gid, h, s, p in rows}


@dataclass(frozen=True)
class Recognised:
    """A household or village recognised in the year: a line of the recognition decision."""

    subject: str  # "household", "village", "clan" or "organisation"
    village: str  # the village; for a clan or a learning unit, its commune
    code: str  # the household's code; "" for the others
    name: str  # the head of the household, or the village's, clan's or unit's name
    score: float | None
    decision_no: str | None
    decision_date: dt.date | None


async def recognised_subjects(
    session: AsyncSession,
    unit: Unit,
    year: int,
    household_forms: Sequence[str],
    village_forms: Sequence[str],
) -> list[Recognised]:
    """The households (in scope), villages, clans and learning units of `unit` recognised in
    the year, for the list a commune attaches to its recognition decision."""
    a, h = Assessment, Household
    # The area's villages first, so the assessments are found by their (unit, year, form) index.
    area = list(await session.scalars(select(_tree(unit).c.member_id)))
    households = await session.execute(
        select(Unit.name, h.code, h.head_name, a.score, a.decision_no, a.decision_date)
        .join(h, h.id == a.household_id)
        .join(Unit, Unit.id == h.village_id)
        .where(a.unit_id.in_(area), a.year == year, a.form_key.in_(household_forms),
               a.state == "recognised", h.removed_at.is_(None), h.created_at < year_end(year))
    )  # fmt: skip
    villages = await session.execute(
        select(Unit.name, a.score, a.decision_no, a.decision_date)
        .join(Unit, Unit.id == a.unit_id)
        .where(a.unit_id.in_(area), a.year == year, a.form_key.in_(village_forms),
               a.subject == "village", a.state == "recognised")
    )  # fmt: skip
    # The clans and learning units of the area's communes (a village's report has none).
    commune = aliased(Unit)
    in_area = or_(commune.id == unit.id, commune.path.startswith(unit.path))
    own: list[Recognised] = []
    if unit.level < VILLAGE:
        for subject, model, key in (
            ("clan", Clan, a.clan_id),
            ("organisation", Organisation, a.organisation_id),
        ):
            rows = await session.execute(
                select(commune.name, model.name, a.score, a.decision_no, a.decision_date)
                .join(model, model.id == key)
                .join(commune, commune.id == model.commune_id)
                .where(
                    key.is_not(None),
                    a.subject == subject,
                    a.year == year,
                    a.state == "recognised",
                    model.removed_at.is_(None),
                    in_area,
                )
            )
            own += [
                Recognised(subject, where, "", name, score, number, day)
                for where, name, score, number, day in rows
            ]
    return [
        *own,
        *(Recognised("village", name, "", name, score, number, day)
          for name, score, number, day in villages),
        *(Recognised("household", village, code, head, score, number, day)
          for village, code, head, score, number, day in households),
    ]  # fmt: skip


@dataclass(frozen=True)
class OrganisationCounts:
    """Learning units (Đơn vị học tập) in scope, assessed and recognised, and their staff."""

    units: int = 0
    assessed: int = 0
    recognised: int = 0
    staff: int = 0


async def organisation_counts(
    session: AsyncSession, unit: Unit, year: int, forms: Sequence[str]
) -> tuple[dict[int, OrganisationCounts], OrganisationCounts]:
    """Learning units per child of `unit` (a commune's children are villages, which hold none)
    and for `unit` as a whole, counted where each unit is now: those not removed and added by
    the end of the year, by their deciding assessment (a recognised one, else the newest)."""
    o, a, other = Organisation, Assessment, aliased(Assessment)
    won = other.state == "recognised"
    better = or_(and_(won, a.state != "recognised"),
                 and_(other.id > a.id, or_(won, a.state != "recognised")))  # fmt: skip
    decided = (
        select(a.organisation_id, a.state)
        # "IS NOT NULL" lets the planner read the assessments by their organisation index.
        .where(a.organisation_id.is_not(None), a.subject == "organisation", a.year == year,
               a.form_key.in_(forms),
               ~select(other.id).where(other.organisation_id == a.organisation_id,
                                       other.year == a.year, other.form_key.in_(forms),
                                       better).exists())
        .subquery("decided")
    )  # fmt: skip
    per_unit = (
        select(
            o.commune_id.label("commune_id"),
            func.coalesce(o.staff, 0).label("staff"),
            case((decided.c.state.in_(SUBMITTED), 1), else_=0).label("assessed"),
            case((decided.c.state == "recognised", 1), else_=0).label("recognised"),
        )
        .outerjoin(decided, decided.c.organisation_id == o.id)
        .where(o.removed_at.is_(None), o.created_at < year_end(year))
        .subquery("per_unit")
    )
    numbers = (func.count(), func.sum(per_unit.c.assessed), func.sum(per_unit.c.recognised),
               func.sum(per_unit.c.staff))  # fmt: skip
    tree = _tree(unit)
    rows = await session.execute(
        select(tree.c.group_id, *numbers)
        .join(per_unit, per_unit.c.commune_id == tree.c.member_id)
        .group_by(tree.c.group_id)
    )
    by_group = {gid: OrganisationCounts(*(int(n or 0) for n in found)) for gid, *found in rows}
    commune = aliased(Unit)
    whole = (
        await session.execute(
            select(*numbers)
            .join(commune, commune.id == per_unit.c.commune_id)
            .where(or_(commune.id == unit.id, commune.path.startswith(unit.path)))
        )
    ).one()
    return by_group, OrganisationCounts(*(int(n or 0) for n in whole))


@dataclass(frozen=True)
class ClanCounts:
    """Clans (Dòng họ học tập): in scope, assessed and recognised."""

    clans: int = 0
    assessed: int = 0
    recognised: int = 0


async def clan_counts(
    session: AsyncSession, unit: Unit, year: int, forms: Sequence[str]
) -> tuple[dict[int, ClanCounts], ClanCounts]:
    """Clans per child of `unit` and for `unit` as a whole, as the return counts them: in a
    village's line, every clan with a household (in scope) there; in a commune's, every clan of
    the commune; so a clan with households in two villages is in both villages' lines and once
    in the commune's total. Each by its deciding assessment (a recognised one, else the newest)."""
    c, a, other = Clan, Assessment, aliased(Assessment)
    won = other.state == "recognised"
    better = or_(and_(won, a.state != "recognised"),
                 and_(other.id > a.id, or_(won, a.state != "recognised")))  # fmt: skip
    decided = (
        select(a.clan_id, a.state)
        .where(a.clan_id.is_not(None), a.subject == "clan", a.year == year,
               a.form_key.in_(forms),
               ~select(other.id).where(other.clan_id == a.clan_id, other.year == a.year,
                                       other.form_key.in_(forms), better).exists())
        .subquery("decided")
    )  # fmt: skip
    per_clan = (
        select(
            c.id.label("clan_id"),
            c.commune_id.label("commune_id"),
            case((decided.c.state.in_(SUBMITTED), c.id)).label("assessed"),
            case((decided.c.state == "recognised", c.id)).label("recognised"),
        )
        .outerjoin(decided, decided.c.clan_id == c.id)
        .where(c.removed_at.is_(None), c.created_at < year_end(year))
        .subquery("per_clan")
    )
    numbers = (per_clan.c.clan_id.distinct(), per_clan.c.assessed.distinct(),
               per_clan.c.recognised.distinct())  # fmt: skip
    counted = tuple(func.count(n) for n in numbers)
    h = Household
    tree = _tree(unit)
    # Villages' lines (a commune's or a village's report) by where the clan's households live,
    # read from the villages' households; communes' lines (a province's) by the clan's commune.
    if unit.level >= VILLAGE - 1:
        # The tree's few (line, village) pairs as constants, so that the planner reads only
        # those villages' households (it cannot see how small a recursive CTE is); then the
        # (line, clan) pairs, then each clan's standing joined on.
        found = (await session.execute(select(tree.c.member_id, tree.c.group_id))).all()
        if not found:
            return {}, ClanCounts()
        line_of = case(dict(((member, group) for member, group in found)), value=h.village_id)
        pairs = (
            select(line_of.label("group_id"), ClanHousehold.clan_id.label("clan_id"))
            .select_from(h)
            .join(ClanHousehold, ClanHousehold.household_id == h.id)
            .where(h.village_id.in_([member for member, _group in found]))
            .where(h.removed_at.is_(None), h.created_at < year_end(year))
            .distinct()
            .subquery("pairs")
        )
        query = (
            select(pairs.c.group_id, *counted)
            .join(per_clan, per_clan.c.clan_id == pairs.c.clan_id)
            .group_by(pairs.c.group_id)
        )
    else:
        query = (
            select(tree.c.group_id, *counted)
            .select_from(tree)
            .join(per_clan, per_clan.c.commune_id == tree.c.member_id)
            .group_by(tree.c.group_id)
        )
    by_group = {
        gid: ClanCounts(*(int(n or 0) for n in found))
        for gid, *found in await session.execute(query)
    }
    if unit.level >= VILLAGE:
        return by_group, by_group.get(unit.id, ClanCounts())
    commune = aliased(Unit)
    whole = (
        await session.execute(
            select(*counted)
            .select_from(per_clan)
            .join(commune, commune.id == per_clan.c.commune_id)
            .where(or_(commune.id == unit.id, commune.path.startswith(unit.path)))
        )
    ).one()
    return by_group, ClanCounts(*(int(n or 0) for n in whole))


def _unit_counts(row: Any) -> UnitCounts:
    unit_id, code, name, level, path, active, *numbers = row
    return UnitCounts(unit_id, code, name, level, path, bool(active),
                      Counts(*(int(n or 0) for n in numbers)))  # fmt: skip


async def targets(
    session: AsyncSession, paths: Iterable[str], titles: Sequence[str], year: int
) -> dict[tuple[str, str], tuple[float, int | None, str] | None]:
    """The stored target per (path, title) for the year, with the unit that set it and its
    base: the nearest unit up the tree with one, else the country's (unit None), else None."""
    paths = list(paths)
    ids = {unit_id for path in paths for unit_id in path_ids(path)}
    rows = await session.execute(
        select(Target.unit_id, Target.title, Target.percent, Target.base).where(
            Target.title.in_(titles),
            Target.year == year,
            or_(Target.unit_id.in_(ids), Target.unit_id.is_(None)),
        )
    )
    local: dict[tuple[int, str], tuple[float, str]] = {}
    national: dict[str, tuple[float, str]] = {}
    for unit_id, title, percent, base in rows:
        if unit_id is None:
            national[title] = (percent, base)
        else:
            local[(unit_id, title)] = (percent, base)
    return {
        (path, title): _nearest(path, title, local, national.get(title))
        for path in paths
        for title in titles
    }


def _nearest(
    path: str,
    title: str,
    local: dict[tuple[int, str], tuple[float, str]],
    national: tuple[float, str] | None,
) -> tuple[float, int | None, str] | None:
    for unit_id in reversed(path_ids(path)):
        if (unit_id, title) in local:
            percent, base = local[(unit_id, title)]
            return percent, unit_id, base
    return None if national is None else (national[0], None, national[1])
