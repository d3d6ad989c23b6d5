"""``hoctap report``: a unit's totals for a year, as text, a spreadsheet or a chart.

The command line is the operator's: it reads any unit, with no person's scope applied.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path

from bot.chat.reports import file_name
from bot.commands.common import NotFound, database, fail, find_unit
from bot.config import Settings
from bot.i18n import TIMEZONE, _
from bot.reports import text
from bot.reports.model import Report
from bot.services.reports import build_report
from bot.services.review import ReviewError
from bot.services.targets import BASES, TITLES, set_target
from bot.storage.db import DatabaseUnavailable

FORMATS = ("text", "xlsx", "png")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report``."""
    parser = commands.add_parser(
        "report", help=_("a unit's totals for a year, as text, a spreadsheet or a chart")
    )
    parser.add_argument(
        "--unit", required=True, help=_("the code or name of a province, commune or village")
    )
    parser.add_argument("--year", type=int, help=_("the year (default: this year)"))
    parser.add_argument("--format", choices=FORMATS, default="text", help=_("what to produce"))
    parser.add_argument(
        "--output", type=Path, help=_("the file to write (default: a name with the unit and year)")
    )
    parser.set_defaults(handler=run_report)
    target = commands.add_parser(
        "target", help=_("set a unit's target share for a title and year")
    )
    target.add_argument("--unit", help=_("the unit's code (leave out for the national default)"))
    target.add_argument(
        "--title",
        choices=TITLES,
        required=True,
        help=_(
            "gdht: learning families; cdht: learning citizens of working age; dhht: clans; "
            "cong_dong: village communities; dvht: units; cdht_staff: learning citizens among "
            "the staff of units; digital, digital_proficient: title holders with digital skills"
        ),
    )
    target.add_argument("--year", type=int, required=True)
    target.add_argument("percent", type=float, help=_("the share to reach, in percent"))
    target.add_argument(
        "--base",
        choices=BASES,
        default="all",
        help=_("what the share is of: all households in scope, or those registered (gdht only)"),
    )
    target.set_defaults(handler=run_target)


async def run_target(args: argparse.Namespace, settings: Settings) -> int:
    """Set a target as the administrator; the unit's own target wins over those above it."""
    now = dt.datetime.now(dt.UTC)
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            unit = await find_unit(session, args.unit) if args.unit else None
            code = unit.code if unit is not None else None
            await set_target(
                session, None, code, args.title, args.year, args.percent, now, base=args.base
            )
            await session.commit()
    except (ReviewError, NotFound, DatabaseUnavailable) as error:
        return fail(str(error))
    print(
        _("Target set: {title} {year}, {unit}: {percent}%.").format(
            title=args.title,
            year=args.year,
            unit=args.unit or _("national"),
            percent=f"{args.percent:g}",
        )
    )
    return 0


def render(report: Report, kind: str) -> bytes:
    """The report in one of FORMATS, as bytes."""
    from bot.reports import chart, xlsx  # late: every `hoctap` command would load them

    if kind == "xlsx":
        return xlsx.render(report)
    if kind == "png":
        return chart.render(report)
    return (text.render(report).plain() + "\n").encode("utf-8")


async def run_report(args: argparse.Namespace, settings: Settings) -> int:
    """Build the report in one session, then print or write it."""
    year = args.year or dt.datetime.now(TIMEZONE).year
    try:
        async with database(settings) as (_engine, sessions), sessions() as session:
            report = await build_report(session, await find_unit(session, args.unit), year)
            await session.commit()  # keeps the totals it recounted for the next report
    except (ReviewError, NotFound, DatabaseUnavailable) as error:
        return fail(str(error))
    content = render(report, args.format)
    if args.format == "text" and args.output is None:
        print(content.decode("utf-8"), end="")
        return 0
    path: Path = args.output or Path(file_name(report, args.format))
    try:
        await asyncio.to_thread(path.write_bytes, content)
    except OSError as error:
        return fail(_("Cannot write {path}: {reason}").format(path=path, reason=error.strerror))
    print(_("Report written to {path}.").format(path=path))
    return 0
