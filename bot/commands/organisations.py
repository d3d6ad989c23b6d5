"""``hoctap organisations``: the administrator's side of a commune's learning units (Đơn vị học
tập): add one, list them, move one to another commune, and invite a unit's head."""

from __future__ import annotations

import argparse

from bot.commands import people
from bot.commands.common import NotFound, database, fail, find_unit
from bot.config import Settings
from bot.i18n import _, format_datetime
from bot.services import organisations
from bot.services.context import utc_now
from bot.storage.db import DatabaseUnavailable
from bot.storage.models import ORGANISATION_KINDS

Failure = (organisations.OrganisationError, NotFound, DatabaseUnavailable)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``organisations`` and its actions."""
    parser = commands.add_parser(
        "organisations", help=_("a commune's learning units: schools, agencies, enterprises")
    )
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help=_("add a learning unit to a commune"))
    add.add_argument("--commune", required=True, help=_("the commune's code or name"))
    add.add_argument("--kind", choices=ORGANISATION_KINDS, required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--staff", type=int, help=_("how many staff it has"))
    add.set_defaults(handler=run_add)
    listing = actions.add_parser("list", help=_("list a commune's learning units"))
    listing.add_argument("--commune", required=True, help=_("the commune's code or name"))
    listing.set_defaults(handler=run_list)
    move = actions.add_parser("move", help=_("move a learning unit to another commune"))
    move.add_argument("id", type=int)
    move.add_argument("--commune", required=True, help=_("the new commune's code or name"))
    move.set_defaults(handler=run_move)
    invite = actions.add_parser("invite", help=_("make a one-time code for a unit's head"))
    invite.add_argument("id", type=int)
    invite.set_defaults(handler=run_invite)


async def run_add(args: argparse.Namespace, settings: Settings) -> int:
    """Add the unit and print its id."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            commune = await find_unit(session, args.commune)
            unit = await organisations.add(
                session, None, commune, args.kind, args.name, args.staff, utc_now()
            )
            await session.commit()
    except Failure as error:
        return fail(str(error))
    print(_("Added learning unit {id}: {name} ({commune}).").format(
        id=unit.id, name=unit.name, commune=commune.name))  # fmt: skip
    return 0


async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """One line per unit: id, kind, name, staff."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            commune = await find_unit(session, args.commune)
            units = await organisations.of_commune(session, commune)
    except Failure as error:
        return fail(str(error))
    for unit in units:
        staff = "—" if unit.staff is None else str(unit.staff)
        print(f"{unit.id}\t{unit.kind}\t{unit.name}\t{staff}")
    return 0


async def run_move(args: argparse.Namespace, settings: Settings) -> int:
    """Move the unit; its open assessments go with it."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            commune = await find_unit(session, args.commune)
            unit = await organisations.move(session, None, args.id, commune, utc_now())
            await session.commit()
    except Failure as error:
        return fail(str(error))
    print(_("Moved {name} to {commune}.").format(name=unit.name, commune=commune.name))
    return 0


async def run_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a code that makes whoever sends it the unit's head."""
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            unit = await organisations.get(session, args.id)
            invite = await organisations.invite_head(session, None, unit.id, utc_now())
            await session.commit()
    except Failure as error:
        return fail(str(error))
    print(_("Code {code} for the head of {unit}, valid until {date}.").format(
        code=invite.code, unit=unit.name, date=format_datetime(invite.expires_at)))  # fmt: skip
    link = await people.telegram_invite_link(settings, invite.code)
    print(_("The person sends /join {code} to the bot.").format(code=invite.code)
          if link is None else
          _("The person sends /join {code} to the bot, or opens {link}").format(
              code=invite.code, link=link))  # fmt: skip
    return 0
