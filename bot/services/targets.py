"""Targets: the share of each title a unit aims for in a year, and where each target came from.

A unit's own target for the year wins, then the nearest unit above it with one, then a target
the administrator set for the whole country that year, then the national default. The national
defaults are QĐ 387/QĐ-TTg's and QĐ 677/QĐ-TTg's figures for 2025 and 2030 (DOMAIN.md,
"Targets"); between them a target moves along a straight line (70 % of families in 2025, 80 %
in 2030: 72 % in 2026), since communes plan toward the 2030 figures once the 2025 ones are
past. After 2030 the 2030 figure holds until a new programme; before 2025 there is none.
Functions never commit. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.reports.model import Goal
from bot.rich import t
from bot.services import audit, scope
from bot.services.review import ReviewError, find_unit
from bot.storage import queries
from bot.storage.models import Target, Unit

FIRST_YEAR, LAST_YEAR = 2025, 2030
SETTERS = ("officer", "province")


@dataclass(frozen=True)
class NationalGoal:
    """A title's national target in 2025 and 2030, and the documents that set it."""

    first: float
    last: float
    documents: str


NATIONAL = {
    # Shares recognised of families, clans, village communities and units in the commune.
    "gdht": NationalGoal(70, 80, "QĐ 387/QĐ-TTg"),
    "dhht": NationalGoal(65, 75, "QĐ 387/QĐ-TTg"),
    "cong_dong": NationalGoal(65, 75, "QĐ 387/QĐ-TTg"),
    "dvht": NationalGoal(80, 90, "QĐ 387/QĐ-TTg"),
    # Công dân học tập: of working-age people in learning families, clans and communities, and
    # of staff in learning units; of title holders, those with digital skills (and proficient).
    "cdht": NationalGoal(40, 60, "QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg"),
    "cdht_staff": NationalGoal(60, 80, "QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg"),
    "digital": NationalGoal(70, 90, "QĐ 677/QĐ-TTg"),
    "digital_proficient": NationalGoal(60, 80, "QĐ 677/QĐ-TTg"),
}
TITLES = tuple(NATIONAL)
BASES = ("all", "registered")
# The titles whose subjects register for the year in hoctap: only they may count on those
# registered (villages, clans, units and citizens have no registration step here).
REGISTERING = ("gdht",)


def national_default(title: str, year: int) -> float | None:
    """The national default of a title for a year (see the module)."""
    goal = NATIONAL.get(title)
    if goal is None or year < FIRST_YEAR:
        return None
    if year >= LAST_YEAR:
        return goal.last
    step = (goal.last - goal.first) / (LAST_YEAR - FIRST_YEAR)
    return round(goal.first + step * (year - FIRST_YEAR), 1)


async def goals(
    session: AsyncSession, paths: Iterable[str], titles: Sequence[str], year: int
) -> dict[tuple[str, str], Goal | None]:
    """The target of each title for each unit (by its path), with its origin."""
    paths = list(paths)
    found = await queries.targets(session, paths, titles, year)
    setters = {unit_id for _percent, unit_id, _base in filter(None, found.values()) if unit_id}
    names = dict(
        (await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(setters)))).all()
    )
    result: dict[tuple[str, str], Goal | None] = {}
    for path in paths:
        for title in titles:
            row = found.get((path, title))
            default = national_default(title, year)
            if row is not None:
                percent, unit_id, base = row
                origin = "unit" if unit_id is not None else "national"
                name = names.get(unit_id, "") if unit_id is not None else ""
                result[(path, title)] = Goal(percent, origin, name, base=base)
            elif default is not None:
                result[(path, title)] = Goal(default, "default", documents=_documents(title))
            else:
                result[(path, title)] = None
    return result


def _documents(title: str) -> str:
    return NATIONAL[title].documents


async def set_target(
    session: AsyncSession,
    actor_id: int | None,
    unit_code: str | None,
    title: str,
    year: int,
    percent: float,
    now: dt.datetime,
    base: str = "all",
) -> Target:
    """Set a unit's target share for a title and year, of all its subjects in scope or of those
    registered; no unit is the whole country. ``actor_id`` None is the administrator at the
    command line."""
    if title not in NATIONAL:
        raise ReviewError(
            t(_("Unknown title {title}; use one of: {titles}."), title=title,
              titles=", ".join(TITLES))
        )  # fmt: skip
    if not 0 < percent <= 100:
        raise ReviewError(_("A target is a percentage above 0 and at most 100."))
    if base not in BASES or (base == "registered" and title not in REGISTERING):
        raise ReviewError(
            t(_("Only families register in hoctap: a target of {title} counts all of them."),
              title=title)
        )  # fmt: skip
    unit = await find_unit(session, unit_code) if unit_code is not None else None
    allowed = actor_id is None or (
        await scope.is_admin(session, actor_id)
        if unit is None
        else await scope.may(session, actor_id, unit, SETTERS)
    )
    if not allowed:
        raise ReviewError(_("You can only set targets for units in your own area."))
    unit_id = unit.id if unit is not None else None
    same_unit = Target.unit_id.is_(None) if unit_id is None else Target.unit_id == unit_id
    target = await session.scalar(
        select(Target).where(same_unit, Target.title == title, Target.year == year)
    )
    if target is None:
        target = Target(unit_id=unit_id, title=title, year=year, percent=percent, base=base)
        session.add(target)
    target.percent, target.base = percent, base
    await session.flush()
    await audit.record(
        session,
        actor_id,
        "target.set",
        "target",
        target.id,
        now,
        unit_id,
        detail=f"{title} {year} {percent:g}% {base}",
    )
    return target
