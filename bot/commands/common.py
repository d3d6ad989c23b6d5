"""What every command shares: one database per command run, errors printed as one line, and
finding a unit by its code or its name."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.i18n import _
from bot.services.words import unit_label
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.models import Unit
from conversations.text import fold, vietnamese_key


@asynccontextmanager
async def database(
    settings: Settings, migrate: bool = True
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    """Open the configured database (brought up to date first) and close it after."""
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(engine)
        yield engine, make_sessionmaker(engine)
    finally:
        await engine.dispose()


def fail(message: str, code: int = 1) -> int:
    """Print one clear line on standard error and return the exit code."""
    print(message, file=sys.stderr)
    return code


class NotFound(ValueError):
    """No unit, or several, answer to what was typed; str() is one line saying which."""


async def find_unit(session: AsyncSession, typed: str, level: int | None = None) -> Unit:
    """A unit by its official code, or by its name with or without diacritics and its kind
    ("thanh tri", "Xã Thanh Trì", "Thanh Trì"); several of that name are listed to choose."""
    wanted = " ".join(typed.split())
    query = select(Unit).where(Unit.code == wanted, Unit.active.is_(True))
    if level is not None:
        query = query.where(Unit.level == level)
    found = await session.scalar(query)
    if found is not None:
        return found
    folded = fold(wanted)
    candidates = select(Unit).where(Unit.active.is_(True))
    candidates = (
        candidates.where(Unit.level == level) if level else candidates.where(Unit.level < 3)
    )
    named = [u for u in await session.scalars(candidates) if _names(u, folded)]
    if len(named) > 1:  # typed with its diacritics, a name can tell Thanh Trì from Thạnh Trị
        exact = [
            u
            for u in named
            if wanted.casefold() in (u.name.casefold(), u.name.casefold().split(" ", 1)[-1])
        ]
        named = exact or named
    if len(named) == 1:
        return named[0]
    if not named:
        raise NotFound(_("No unit has the code or name {typed}.").format(typed=wanted))
    parents = {u.parent_id for u in named if u.parent_id}
    rows = await session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(parents)))
    above = {unit_id: name for unit_id, name in rows}
    listed = "; ".join(
        f"{unit_label(u)}, {above.get(u.parent_id or 0, '')}".rstrip(", ")
        for u in sorted(named, key=lambda u: vietnamese_key(u.name))[:8]
    )
    raise NotFound(
        _("Several units are called {typed}: {units}. Give the code.").format(
            typed=wanted, units=listed
        )
    )


def _names(unit: Unit, folded: str) -> bool:
    """True when the typed name is the unit's name, with or without its kind ("Xã …")."""
    name = fold(unit.name)
    return (
        name == folded
        or name.split(" ", 1)[-1] == folded
        or (name.endswith(" " + folded) and len(folded) > 3)
    )
