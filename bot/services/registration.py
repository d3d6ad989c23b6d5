"""Registration: a household's own commitment to the year's Gia đình học tập title.

Reports count registered against recognised, so registering is its own step: the village
leader marks a household registered (one tap) or imports the village's registration list, and
starting an assessment never registers anything. A registration can be undone until the
household is assessed for the year (its assessment submitted). Functions never commit; a
refused change raises ``RegistrationError`` with one line for the person.
Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.rich import Refusal, t
from bot.services import audit, units
from bot.services.context import GDHT
from bot.storage.db import insert_ignore
from bot.storage.models import Assessment, Household, Registration, Unit

ASSESSED = ("submitted", "recognised", "not_recognised")
LIST_COLUMNS = ("village", "household_code")


class RegistrationError(Refusal):
    """A refused registration change."""


async def is_assessed(session: AsyncSession, household: Household, year: int) -> bool:
    """True once the household's assessment of the year was submitted (or decided)."""
    found = await session.scalar(
        select(Assessment.id)
        .where(
            Assessment.household_id == household.id,
            Assessment.year == year,
            Assessment.form_key == GDHT,
            Assessment.state.in_(ASSESSED),
        )
        .limit(1)
    )
    return found is not None


async def register(
    session: AsyncSession, actor_id: int, household: Household, year: int, now: dt.datetime
) -> bool:
    """Register a household for the year; False if it was registered already."""
    if await session.get(Registration, (household.id, year)) is not None:
        return False
    session.add(Registration(household_id=household.id, year=year, registered_at=now))
    await _log(session, actor_id, "household.registered", household, year, now)
    await session.flush()
    return True


async def unregister(
    session: AsyncSession, actor_id: int, household: Household, year: int, now: dt.datetime
) -> bool:
    """Undo a registration; refused once the household is assessed. False if there was none."""
    row = await session.get(Registration, (household.id, year))
    if row is None:
        return False
    if await is_assessed(session, household, year):
        raise RegistrationError(
            t(
                _("Household {code} is already assessed for {year}, so its registration stays."),
                code=household.code,
                year=year,
            )
        )
    await session.delete(row)
    await _log(session, actor_id, "household.unregistered", household, year, now)
    await session.flush()
    return True


async def _log(
    session: AsyncSession,
    actor_id: int | None,
    action: str,
    household: Household,
    year: int,
    now: dt.datetime,
) -> None:
    await audit.record(
        session, actor_id, action, "household", household.id, now, household.village_id,
        detail=str(year),
    )  # fmt: skip


@dataclass(frozen=True)
class ListSummary:
    """What one registration list did."""

    registered: int  # newly registered
    already: int  # registered before


async def import_list(
    session: AsyncSession,
    path: Path | str,
    commune_code: str,
    year: int,
    now: dt.datetime,
    actor_id: int | None = None,
) -> ListSummary:
    """Register the households a CSV file lists (``village,household_code``), all or none:
    every row must name a household of the commune; it is checked whole before anything is
    written, and refused as ``file:row: field: problem``."""
    path = Path(path)
    commune = await units.find_commune(session, commune_code)
    table = await units.read_table(path)
    order = units.header_order(path, table[0] if table else [], LIST_COLUMNS)
    households = await _listed(session, path, table, order, commune)
    rows = [
        {"household_id": h.id, "year": year, "registered_at": now} for h in households.values()
    ]
    added = await insert_ignore(session, Registration, rows, ["household_id", "year"])
    await audit.record(
        session, actor_id, "registrations.imported", "unit", commune.id, now, commune.id,
        detail=f"{year}:{added}/{len(rows)}",
    )  # fmt: skip
    return ListSummary(added, len(rows) - added)


async def _listed(
    session: AsyncSession,
    path: Path,
    table: list[list[str]],
    order: dict[str, int],
    commune: Unit,
) -> dict[int, Household]:
    """The households the rows name (each once), or a refusal naming the first bad row."""
    known = await units.households_by_village(session, commune)
    found: dict[int, Household] = {}
    problems: list[str] = []
    for line, fields in enumerate(table[1:], start=2):
        if not any(field.strip() for field in fields):
            continue
        values = {
            name: units.clean(fields[i]) if i < len(fields) else "" for name, i in order.items()
        }
        household = known.get((units.name_key(values["village"]), values["household_code"]))
        if household is None:
            problems.append(
                f"{path}:{line}: household_code: "
                + _("no household {code} in village {village}").format(
                    code=values["household_code"], village=values["village"]
                )
            )
            continue
        found[household.id] = household
    if not found and not problems:
        problems.append(f"{path}:2: " + _("no household rows after the header"))
    units.raise_first(problems)
    return found
