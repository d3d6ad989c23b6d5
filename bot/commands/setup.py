"""Setting up the data: ``hoctap init`` and ``hoctap units …`` (villages and households)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bot.commands.common import NotFound, database, fail, find_unit
from bot.config import Settings
from bot.i18n import TIMEZONE, _, format_number
from bot.services import registration, units
from bot.storage.db import DatabaseUnavailable
from bot.storage.geography import load_geography
from bot.storage.models import UNIT_LEVELS

COMMUNE = UNIT_LEVELS["commune"]

Action = Callable[[AsyncSession], Awaitable[str]]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``init`` and ``units``."""
    init = commands.add_parser(
        "init", help=_("create or upgrade the database and load provinces and communes")
    )
    init.set_defaults(handler=run_init)

    unit_parser = commands.add_parser("units", help=_("villages and households of a commune"))
    sub = unit_parser.add_subparsers(dest="units_command", required=True, metavar="ACTION")
    add = sub.add_parser("add-village", help=_("add a village to a commune"))
    add.add_argument("--commune", required=True, help=_("the commune's official code or its name"))
    add.add_argument("--code", help=_("a code for the village (made up when left out)"))
    add.add_argument("name", help=_("the village's name"))
    add.set_defaults(handler=run_add_village)
    rename = sub.add_parser("rename", help=_("rename a village"))
    rename.add_argument("code")
    rename.add_argument("name")
    rename.set_defaults(handler=run_rename)
    merge = sub.add_parser("merge", help=_("merge one village into another"))
    merge.add_argument("source", help=_("code of the village that is merged away"))
    merge.add_argument("target", help=_("code of the village that receives its households"))
    merge.set_defaults(handler=run_merge)
    imp = sub.add_parser("import", help=_("import villages and households from a CSV file"))
    imp.add_argument("--commune", required=True, help=_("the commune's official code or its name"))
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=run_import)
    reg = sub.add_parser(
        "register", help=_("register the households a CSV file lists (village,household_code)")
    )
    reg.add_argument("--commune", required=True, help=_("the commune's official code or its name"))
    reg.add_argument("--year", type=int, help=_("the year (default: this year)"))
    reg.add_argument("file", type=Path)
    reg.set_defaults(handler=run_register)
    lst = sub.add_parser("list", help=_("list the villages of a commune"))
    lst.add_argument("--commune", required=True, help=_("the commune's official code or its name"))
    lst.set_defaults(handler=run_list)


async def run_init(args: argparse.Namespace, settings: Settings) -> int:
    """Bring the schema up to date and load the 2025 two-tier geography."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            summary = await load_geography(session)
            await session.commit()
    except DatabaseUnavailable as error:
        return fail(str(error))
    print(_("Database ready: {url}").format(url=_public_url(settings.database_url)))
    print(
        _("Provinces added: {provinces}; communes added: {communes}; updated: {updated}.").format(
            provinces=format_number(summary.provinces_added),
            communes=format_number(summary.communes_added),
            updated=format_number(summary.updated),
        )
    )
    return 0


async def run_add_village(args: argparse.Namespace, settings: Settings) -> int:
    """Add one village and print its code."""

    async def act(session: AsyncSession) -> str:
        commune = await find_unit(session, args.commune, COMMUNE)
        village = await units.add_village(session, commune.code, args.name, code=args.code)
        return _("Village added: {name} (code {code}).").format(
            name=village.name, code=village.code
        )

    return await _unit_of_work(settings, act)


async def run_rename(args: argparse.Namespace, settings: Settings) -> int:
    """Rename one unit."""

    async def act(session: AsyncSession) -> str:
        await units.rename_unit(session, args.code, args.name)
        return _("Renamed {code} to {name}.").format(code=args.code, name=args.name)

    return await _unit_of_work(settings, act)


async def run_merge(args: argparse.Namespace, settings: Settings) -> int:
    """Merge a village into another."""

    async def act(session: AsyncSession) -> str:
        await units.merge_villages(session, args.source, args.target)
        return _("Village {source} merged into {target}.").format(
            source=args.source, target=args.target
        )

    return await _unit_of_work(settings, act)


async def run_import(args: argparse.Namespace, settings: Settings) -> int:
    """Import a CSV of villages and households in one transaction."""

    async def act(session: AsyncSession) -> str:
        commune = await find_unit(session, args.commune, COMMUNE)
        summary = await units.import_csv(session, args.file, commune.code)
        return _("Imported {villages} new villages and {households} households.").format(
            villages=format_number(summary.villages_added),
            households=format_number(summary.households_added),
        )

    return await _unit_of_work(settings, act)


async def run_register(args: argparse.Namespace, settings: Settings) -> int:
    """Register the listed households for the year, all or none."""
    now = dt.datetime.now(dt.UTC)
    year = args.year or now.astimezone(TIMEZONE).year

    async def act(session: AsyncSession) -> str:
        commune = await find_unit(session, args.commune, COMMUNE)
        summary = await registration.import_list(session, args.file, commune.code, year, now)
        return _(
            "Registered {count} households for {year} ({already} were registered already)."
        ).format(
            count=format_number(summary.registered),
            year=year,
            already=format_number(summary.already),
        )

    return await _unit_of_work(settings, act)


async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print the villages of a commune with their household counts."""

    async def act(session: AsyncSession) -> str:
        commune = await find_unit(session, args.commune, COMMUNE)
        rows = await units.list_villages(session, commune.code)
        if not rows:
            return _("This commune has no villages yet.")
        return "\n".join(
            _("{code}  {name}  ({households} households)").format(
                code=row.code, name=row.name, households=format_number(row.households)
            )
            for row in rows
        )

    return await _unit_of_work(settings, act)


async def _unit_of_work(settings: Settings, act: Action) -> int:
    """Run one change in one transaction; on any refusal nothing is written."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            message = await act(session)
            await session.commit()
    except (
        units.UnitError,
        registration.RegistrationError,
        NotFound,
        DatabaseUnavailable,
    ) as error:
        return fail(str(error))
    print(message)
    return 0


def _public_url(url: str) -> str:
    """The database URL without its password, for printing."""
    head, at, tail = url.rpartition("@")
    if not at or "://" not in head:
        return url
    scheme, _sep, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':')[0]}@{tail}"
