"""Reports: build a unit's totals for a year, and send them in chat as text, spreadsheet and chart.

``build_report`` turns the aggregate queries (stored totals, recounted where they changed) and
the targets into a ``Report`` the renderers take; it writes the recounted totals, so callers
commit. ``on_report`` (/report) answers with the person's own scope: the
villages they lead, the communes they are an officer of, the provinces they view; ``/report
CODE`` picks one unit inside that scope. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import _
from bot.reports import text
from bot.reports.model import Goal, Line, Report
from bot.rich import t
from bot.services import scope, targets, words
from bot.services.context import CDHT, GDHT
from bot.services.messages import Attachment, Reply
from bot.services.review import ReviewError, find_unit
from bot.services.turn import Turn
from bot.storage import queries
from bot.storage.models import Unit, utcnow
from conversations.text import vietnamese_key

HOUSEHOLD_FORMS = (GDHT,)
PERSON_FORMS = (CDHT,)
VIEWERS = ("leader", "officer", "province")
MAX_UNITS = 5  # reports sent for one /report; more would flood the chat

__all__ = ["Report", "build_report", "on_report"]


def _sort_key(line: Line) -> tuple[object, ...]:
    """Names in Vietnamese alphabetical order, numbers as numbers: Thôn 2 before Thôn 10,
    Hạ before Hòa, Dương before Đông."""
    return vietnamese_key(line.name), line.code


def _line(
    unit_path: str,
    code: str,
    name: str,
    counts: queries.Counts,
    goals: dict[tuple[str, str], Goal | None],
) -> Line:
    return Line(
        code=code,
        name=name,
        **asdict(counts),
        family_target=goals[(unit_path, queries.TITLE_FAMILY)],
        citizen_target=goals[(unit_path, queries.TITLE_CITIZEN)],
    )


async def build_report(
    session: AsyncSession, unit: str | int | Unit, year: int, now: dt.datetime | None = None
) -> Report:
    """The report of a unit (its code, id or row) for a year; ``ReviewError`` if unknown."""
    found = await find_unit(session, unit)
    rows = await queries.child_counts(session, found, year, HOUSEHOLD_FORMS, PERSON_FORMS)
    paths = [found.path, *(row.path for row in rows)]
    titles = (queries.TITLE_FAMILY, queries.TITLE_CITIZEN)
    goals = await targets.goals(session, paths, titles, year)
    lines = [_line(row.path, row.code, row.name, row.counts, goals) for row in rows]
    total = sum((row.counts for row in rows), queries.Counts())
    return Report(
        unit_code=found.code,
        unit_name=found.name,
        unit_level=found.level,
        year=year,
        lines=tuple(sorted(lines, key=_sort_key)),
        total=_line(found.path, found.code, found.name, total, goals),
        generated_at=now or utcnow(),
        words=await words.words_for(session, found),
    )


async def keep_totals_fresh(sessions: async_sessionmaker[AsyncSession], year: int) -> int:
    """Recount, before anyone asks, the units whose rows changed since their totals were stored,
    one province per transaction (short, so SQLite's write lock is never held for long); then a
    report, even a province's, only adds up stored rows. Return how many units were recounted."""
    async with sessions() as session:
        provinces = list(await session.scalars(select(Unit.id).where(Unit.level == 1)))
    recounted = 0
    for province_id in provinces:
        async with sessions() as session:
            province = await session.get(Unit, province_id)
            assert province is not None
            # Seconds, after an import; the driver's thread runs it, people are answered
            # meanwhile (their writes wait for this transaction, on SQLite).
            recounted += await queries.refresh_totals(
                session, province, year, HOUSEHOLD_FORMS, PERSON_FORMS
            )
            await session.commit()
    return recounted


def file_name(report: Report, extension: str) -> str:
    """A download name that names the unit and year: bao-cao-00640-2025.xlsx."""
    return f"bao-cao-{report.unit_code}-{report.year}.{extension}"


def report_replies(report: Report) -> list[Reply]:
    """The text, the spreadsheet as a document and, for several rows, the chart as a photo."""
    # Late imports: matplotlib and openpyxl take about half of the bot's start-up, and a bot
    # restarted after a crash should be answering again as soon as it can.
    from bot.reports import chart, xlsx

    replies = [Reply(text.render(report))]
    caption = t(_("{unit}, year {year}"), unit=report.unit_name, year=report.year)
    replies.append(
        Reply(caption, attachment=Attachment(file_name(report, "xlsx"), xlsx.render(report)))
    )
    if len(report.lines) > 1:
        png = chart.render(report)
        replies.append(
            Reply(caption, attachment=Attachment(file_name(report, "png"), png, "photo"))
        )
    return replies


async def units_in_view(session: AsyncSession, person_id: int) -> list[Unit]:
    """The units a person may see reports of: their own, widest first, without repeats."""
    held = await scope.units_of(session, person_id, VIEWERS)
    kept: list[Unit] = []
    for unit in sorted(held, key=lambda u: (u.level, u.name)):
        if not any(scope.contains(outer, unit) for outer in kept):
            kept.append(unit)
    return kept


async def _chosen(turn: Turn, code: str) -> list[Unit]:
    try:
        unit = await find_unit(turn.session, code)
    except ReviewError as error:
        turn.out.add(Reply(error.text))
        return []
    if not await scope.may(turn.session, turn.person.id, unit, VIEWERS):
        turn.out.add(Reply(t(_("You can only see reports of units in your own area."))))
        return []
    return [unit]


async def on_report(turn: Turn) -> None:
    """/report [CODE]: this year's report of each unit in the person's view."""
    code = turn.inbound.argument.strip()
    units = (
        await _chosen(turn, code) if code else await units_in_view(turn.session, turn.person.id)
    )
    if not units and not code:
        turn.out.add(
            Reply(t(_("Reports are for village leaders, commune officers and province staff.")))
        )
        return
    for unit in units[:MAX_UNITS]:
        report = await build_report(turn.session, unit, turn.services.year(), turn.now)
        for reply in report_replies(report):
            turn.out.add(reply)
