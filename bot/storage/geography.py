"""The unit tree: loading Vietnam's official provinces and communes, and keeping paths right.

Holds `load_geography` (the 34 provinces and 3,321 communes of the two-tier geography in force
since 1 July 2025, from the `vietnam-provinces` package, GPL-3.0-or-later, used as a data source)
and the helpers that maintain the materialized `Unit.path` ("/<province id>/<commune id>/...").
Functions take a session and never commit; the caller commits once.

Must not import services, channels, conversations or gettext; it formats no text for people.
"""

from __future__ import annotations

import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import vietnam_provinces
from sqlalchemy import CursorResult, String, cast, func, insert, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from vietnam_provinces import Province, VietNamDivisionType, Ward

from bot.storage.models import UNIT_LEVELS, Unit, table_of, utcnow

PROVINCE_KINDS = {
    VietNamDivisionType.TINH: "province",
    VietNamDivisionType.THANH_PHO_TRUNG_UONG: "city",
}
COMMUNE_KINDS = {
    VietNamDivisionType.XA: "commune",
    VietNamDivisionType.PHUONG: "ward",
    VietNamDivisionType.DAC_KHU: "special_zone",
}


# No bulk-written row is ever visible with this path: fill_paths runs in the same transaction.
_PENDING_PATH = ""


@dataclass(frozen=True)
class GeographySummary:
    """What one `load_geography` run changed, and which edition of the data it used."""

    provinces_added: int
    communes_added: int
    updated: int
    data_version: str = vietnam_provinces.__data_version__


@dataclass(frozen=True)
class OfficialUnit:
    """A province or commune as the national statistics office lists it."""

    code: str
    name: str
    kind: str
    level: int
    parent_code: str | None


def official_units() -> list[OfficialUnit]:
    """Return the official provinces, then the communes, with zero-padded official codes."""
    provinces = [
        OfficialUnit(f"{p.code:02d}", p.name, PROVINCE_KINDS[p.division_type], 1, None)
        for p in Province.iter_all()
    ]
    communes = [
        OfficialUnit(
            f"{w.code:05d}",
            w.name,
            COMMUNE_KINDS[w.division_type],
            UNIT_LEVELS["commune"],
            f"{w.province_code:02d}",
        )
        for w in Ward.iter_all()
    ]
    return provinces + communes


async def load_geography(session: AsyncSession) -> GeographySummary:
    """Add missing provinces and communes and update changed ones; a second run changes nothing."""
    official = official_units()
    provinces = [unit for unit in official if unit.level == 1]
    communes = [unit for unit in official if unit.level > 1]
    provinces_added, provinces_updated = await _sync_level(session, provinces)
    communes_added, communes_updated = await _sync_level(session, communes)
    return GeographySummary(
        provinces_added=provinces_added,
        communes_added=communes_added,
        updated=provinces_updated + communes_updated,
    )


async def _sync_level(session: AsyncSession, wanted: list[OfficialUnit]) -> tuple[int, int]:
    existing = {unit.code: unit for unit in await _units_by_code(session, wanted)}
    parents = {unit.code: unit for unit in await _units_by_code(session, wanted, parents=True)}
    now = utcnow()
    new_rows = [_new_row(unit, parents, now) for unit in wanted if unit.code not in existing]
    if new_rows:
        # Core insert: no ORM bookkeeping or RETURNING, the paths are filled in SQL below.
        await session.execute(insert(table_of(Unit)), new_rows)
        await fill_paths(session)
    updated = 0
    for unit in wanted:
        current = existing.get(unit.code)
        if current is not None and await _update(session, current, unit, parents):
            updated += 1
    return len(new_rows), updated


async def _units_by_code(
    session: AsyncSession, wanted: list[OfficialUnit], *, parents: bool = False
) -> Iterable[Unit]:
    codes = {unit.parent_code if parents else unit.code for unit in wanted} - {None}
    if not codes:
        return []
    result = await session.scalars(select(Unit).where(Unit.code.in_(codes)))
    return result.all()


def _new_row(unit: OfficialUnit, parents: dict[str, Unit], now: Any) -> dict[str, Any]:
    parent = parents[unit.parent_code] if unit.parent_code else None
    return {
        "code": unit.code,
        "name": unit.name,
        "kind": unit.kind,
        "level": unit.level,
        "parent_id": parent.id if parent else None,
        "path": _PENDING_PATH,
        "depth": parent.depth + 1 if parent else 1,
        "active": True,
        "created_at": now,
    }


async def _update(
    session: AsyncSession, current: Unit, unit: OfficialUnit, parents: dict[str, Unit]
) -> bool:
    parent = parents[unit.parent_code] if unit.parent_code else None
    moved = (parent.id if parent else None) != current.parent_id
    if current.name == unit.name and current.kind == unit.kind and not moved:
        return False
    current.name, current.kind = unit.name, unit.kind
    if moved:
        await move_subtree(session, current, parent)
    return True


async def fill_paths(session: AsyncSession) -> None:
    """Compute the path of bulk-inserted units, one UPDATE per tree level."""
    # Bulk inserts cannot know their own ids, so paths are filled afterwards in SQL; the
    # session holds no objects for these rows, hence no synchronisation.
    options = {"synchronize_session": False}
    root_path = literal("/") + cast(Unit.id, String) + literal("/")
    await session.execute(
        update(Unit)
        .where(Unit.path == _PENDING_PATH, Unit.parent_id.is_(None))
        .values(path=root_path),
        execution_options=options,
    )
    parent = aliased(Unit)
    parent_path = select(parent.path).where(parent.id == Unit.parent_id).scalar_subquery()
    ready_parent = select(parent.id).where(
        parent.id == Unit.parent_id, parent.path != _PENDING_PATH
    )
    while True:
        result = await session.execute(
            update(Unit)
            .where(Unit.path == _PENDING_PATH, ready_parent.exists())
            .values(path=parent_path + cast(Unit.id, String) + literal("/")),
            execution_options=options,
        )
        if not typing.cast(CursorResult[Any], result).rowcount:
            return


def child_path(parent: Unit | None, unit_id: int) -> str:
    """Return the path of unit `unit_id` placed under `parent` (None for a root)."""
    return f"{parent.path if parent else '/'}{unit_id}/"


async def move_subtree(session: AsyncSession, unit: Unit, new_parent: Unit | None) -> None:
    """Put `unit` under `new_parent`, rewriting the paths and depths of its whole subtree."""
    old_path, new_path = unit.path, child_path(new_parent, unit.id)
    shift = new_path.count("/") - old_path.count("/")
    await session.execute(
        update(Unit)
        .where(Unit.path.startswith(old_path), Unit.id != unit.id)
        .values(
            path=literal(new_path) + func.substr(Unit.path, len(old_path) + 1),
            depth=Unit.depth + shift,
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    unit.parent_id = new_parent.id if new_parent else None
    unit.path, unit.depth = new_path, unit.depth + shift
