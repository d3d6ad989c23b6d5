"""``hoctap demo``: fill one commune with realistic example data and print its report."""

from __future__ import annotations

import argparse
import datetime as dt

from sqlalchemy import select

from bot.commands import demo_data
from bot.commands.common import NotFound, database, fail, find_unit
from bot.config import Settings
from bot.i18n import TIMEZONE, _, format_number
from bot.reports import text
from bot.services.reports import build_report
from bot.services.review import ReviewError
from bot.services.units import UnitError
from bot.storage.db import DatabaseUnavailable
from bot.storage.geography import load_geography
from bot.storage.models import UNIT_LEVELS, Unit
from conversations.loader import load_forms

COMMUNE = UNIT_LEVELS["commune"]
DEFAULT_COMMUNE = "00640"  # Xã Thanh Trì, Hà Nội


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo``."""
    parser = commands.add_parser(
        "demo", help=_("fill an empty commune with example data and print its report")
    )
    parser.add_argument(
        "--commune",
        default=DEFAULT_COMMUNE,
        help=_("the commune's official code (default: {code})").format(code=DEFAULT_COMMUNE),
    )
    parser.add_argument("--year", type=int, help=_("the year (default: this year)"))
    parser.add_argument("--seed", type=int, default=1, help=_("the same seed gives the same data"))
    parser.set_defaults(handler=run_demo)


async def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Load the geography if needed, fill the commune in one transaction, print the report."""
    now = dt.datetime.now(dt.UTC)
    year = args.year or now.astimezone(TIMEZONE).year
    try:
        async with database(settings) as (_engine, sessions):
            async with sessions() as session:
                if await session.scalar(select(Unit.id).limit(1)) is None:
                    await load_geography(session)
                commune = await find_unit(session, args.commune, COMMUNE)
                try:
                    headline = _summary(
                        await demo_data.fill(
                            session, load_forms(), commune.code, year, args.seed, now
                        )
                    )
                except demo_data.AlreadyFilled as filled:
                    headline = str(filled)  # a second run shows the report, changing nothing
                await session.commit()
            async with sessions() as session:
                report = await build_report(session, commune.code, year, now)
                await session.commit()  # keeps the totals it counted for the next report
    except (demo_data.DemoError, UnitError, ReviewError, NotFound, DatabaseUnavailable) as error:
        return fail(str(error))
    print(headline)
    print(text.render(report).plain())
    print(
        _(
            "Try it: hoctap chat --user {officer} (the commune officer) or --user {leader} "
            "(a village leader)."
        ).format(officer=demo_data.OFFICER_LOGIN, leader=demo_data.LEADER_LOGIN.format(number=1))
    )
    return 0


def _summary(summary: demo_data.DemoSummary) -> str:
    return _(
        "Example data added: {villages} villages, {households} households, {assessed} "
        "assessed, {recognised} recognised, {returned} returned, {citizens} citizens' "
        "self-checks."
    ).format(**{key: format_number(value) for key, value in vars(summary).items()})
