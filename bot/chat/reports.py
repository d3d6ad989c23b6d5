"""/report in chat: this year's report of each unit in the person's view, as text, spreadsheet
and chart.

The counts are read in the unit of work (``build_report``); the spreadsheet and the chart are
files rendered after it commits, off the event loop (``Attachment.report``, see
``bot/runtime/files.py``), so a province's chart never holds the database or other people.
Must not import any platform library.
"""

from __future__ import annotations

from bot.chat.messages import Attachment, Reply
from bot.chat.turn import Turn
from bot.i18n import _, current_locale
from bot.reports import text
from bot.reports.model import Report
from bot.rich import t
from bot.services import scope
from bot.services.reports import VIEWERS, build_report, units_in_view
from bot.services.review import ReviewError, find_unit
from bot.storage.models import Unit

MAX_UNITS = 5  # reports sent for one /report; more would flood the chat


def file_name(report: Report, extension: str) -> str:
    """A download name that names the unit and year: bao-cao-00640-2025.xlsx."""
    return f"bao-cao-{report.unit_code}-{report.year}.{extension}"


def report_replies(report: Report) -> list[Reply]:
    """The text, the spreadsheet as a document and, for several rows, the chart as a photo
    (both rendered after the commit, in the language of now)."""
    locale = current_locale()
    replies = [Reply(text.render(report))]
    caption = t(_("{unit}, year {year}"), unit=report.unit_name, year=report.year)
    spreadsheet = Attachment(file_name(report, "xlsx"), report=report, locale=locale)
    replies.append(Reply(caption, attachment=spreadsheet))
    if len(report.lines) > 1:
        chart = Attachment(file_name(report, "png"), kind="photo", report=report, locale=locale)
        replies.append(Reply(caption, attachment=chart))
    return replies


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
