"""A report as a spreadsheet laid out like a commune's statistics return: one sheet per title,
the title, unit and year at the top, a row per village (or commune) and a totals row.

Cells hold numbers, not formatted text, so officers can add up and chart them; shares are
fractions shown as percentages. Labels follow the current locale.
Must not import the database, services, channels or any platform library.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from io import BytesIO
from zipfile import ZIP_DEFLATED, ZipFile

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet
from openpyxl.writer.excel import ExcelWriter

from bot.i18n import _, format_date
from bot.reports.model import Goal, GroupCounts, Line, Report
from bot.reports.text import group_name, origin

HEADER_ROW = 6  # rows 1-4: title, unit, date, target; row 5 empty
PERCENT, TARGET = "0.0%", "0%"
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")


@dataclass(frozen=True)
class Column:
    """One column: its heading, how a line gives its value, its number format and width."""

    heading: str
    value: Callable[[Line], object]
    number_format: str = "#,##0"
    width: int = 12


def _goal(goal: Goal | None) -> float | None:
    return None if goal is None else goal.share


def family_columns(report: Report) -> list[Column]:
    """The Gia đình học tập columns; villages reporting only where rows are communes."""
    columns = [
        Column(_("Number of households"), lambda x: x.households),
        Column(_("Registered"), lambda x: x.registered),
        Column(_("Assessed"), lambda x: x.assessed),
        Column(_("Waiting for review"), lambda x: x.pending),
        Column(_("Returned"), lambda x: x.returned),
        Column(_("Recognised"), lambda x: x.recognised),
        Column(_("Share recognised"), lambda x: x.family_share, PERCENT),
        Column(_("Target"), lambda x: _goal(x.family_target), TARGET),
        Column(_("Households still needed"), lambda x: x.family_needed, width=14),
    ]
    if not report.by_village:
        words = report.words.placeholders()
        columns[1:1] = [
            Column(words["Villages_word"], lambda x: x.villages),
            Column(
                _("{Villages_word} reporting").format(**words),
                lambda x: x.villages_reporting,
                width=14,
            ),
        ]
    return columns


def citizen_columns() -> list[Column]:
    """The Công dân học tập columns: the titles confirmed on the official base (working-age
    members), then the self-checks, which are the people's own estimates."""
    return [
        Column(_("Working-age people"), lambda x: x.working_age, width=14),
        Column(_("Households without the figure"), lambda x: x.working_age_missing, width=16),
        Column(_("Titles confirmed"), lambda x: x.confirmed, width=14),
        Column(_("Share of working-age people"), lambda x: x.citizen_share, PERCENT, 16),
        Column(_("Target"), lambda x: _goal(x.citizen_target), TARGET),
        Column(_("Titles still needed"), lambda x: x.citizen_needed, width=14),
        Column(_("Self-checked"), lambda x: x.checked),
        Column(_("Meeting the criteria by their own estimate"), lambda x: x.certified, width=18),
        *(column for group in GROUP_IDS for column in _group_columns(group)),
        Column(_("Title holders, every group"), lambda x: x.digital_holders, width=14),
        Column(_("With digital skills (QĐ 677)"), lambda x: x.digital_skilled, width=14),
        Column(_("Share with digital skills"), lambda x: x.digital_share, PERCENT, 14),
        Column(_("Target"), lambda x: _goal(x.digital_target), TARGET),
        Column(_("Proficient"), lambda x: x.digital_proficient),
        Column(_("Share proficient"), lambda x: x.proficient_share, PERCENT, 14),
        Column(_("Target"), lambda x: _goal(x.proficient_target), TARGET),
    ]


def community_columns(report: Report) -> list[Column]:
    """The Cộng đồng học tập cấp thôn columns: villages, their own assessments, recognised."""
    words = report.words.placeholders()
    return [
        Column(_("Number of {villages_word}").format(**words), lambda x: x.villages, width=14),
        Column(_("Assessed"), lambda x: x.communities_assessed),
        Column(_("Recognised"), lambda x: x.communities_recognised),
        Column(_("Share recognised"), lambda x: x.community_share, PERCENT),
        Column(_("Target"), lambda x: _goal(x.community_target), TARGET),
        Column(
            _("{Villages_word} still needed").format(**words),
            lambda x: x.community_needed,
            width=14,
        ),
    ]


def clan_columns() -> list[Column]:
    """The Dòng họ học tập columns."""
    return [
        Column(_("Number of clans"), lambda x: x.clans, width=14),
        Column(_("Assessed"), lambda x: x.clans_assessed),
        Column(_("Recognised"), lambda x: x.clans_recognised),
        Column(_("Share recognised"), lambda x: x.clan_share, PERCENT),
        Column(_("Target"), lambda x: _goal(x.clan_target), TARGET),
        Column(_("Clans still needed"), lambda x: x.clan_needed, width=14),
    ]


def organisation_columns() -> list[Column]:
    """The Đơn vị học tập columns, then the staff's Công dân học tập share."""
    return [
        Column(_("Number of learning units"), lambda x: x.organisations, width=14),
        Column(_("Assessed"), lambda x: x.organisations_assessed),
        Column(_("Recognised"), lambda x: x.organisations_recognised),
        Column(_("Share recognised"), lambda x: x.organisation_share, PERCENT),
        Column(_("Target"), lambda x: _goal(x.organisation_target), TARGET),
        Column(_("Units still needed"), lambda x: x.organisation_needed, width=14),
        Column(_("Staff of the units"), lambda x: x.unit_staff, width=14),
        Column(_("Staff holding Learning citizen"), lambda x: x.staff_titles, width=16),
        Column(_("Share of staff"), lambda x: x.staff_share, PERCENT, 14),
        Column(_("Target"), lambda x: _goal(x.staff_target), TARGET),
    ]


GROUP_IDS = ("resident", "worker", "staff", "pupil")  # bot/services/groups.py, in its order


def _group_columns(group: str) -> list[Column]:
    """A group's self-checks, those meeting the criteria and its titles."""

    def numbers(line: Line) -> GroupCounts:
        found = [g for g in line.groups if g.group == group]
        return found[0] if found else GroupCounts(group)

    name = group_name(group)
    return [
        Column(
            _("{group}: self-checked").format(group=name), lambda x: numbers(x).checked, width=14
        ),
        Column(
            _("{group}: meeting the criteria").format(group=name),
            lambda x: numbers(x).certified,
            width=14,
        ),
        Column(_("{group}: titles").format(group=name), lambda x: numbers(x).confirmed, width=14),
    ]


def render(report: Report) -> bytes:
    """The workbook as .xlsx bytes."""
    book = Workbook()
    families = book.active
    assert families is not None
    families.title = _sheet_name(_("Learning families"))
    title = _("Learning families: results for {year}").format(year=report.year)
    _fill(families, report, title, family_columns(report), report.total.family_target)
    citizens = book.create_sheet(_sheet_name(_("Learning citizens")))
    title = _("Learning citizens: results for {year}").format(year=report.year)
    _fill(citizens, report, title, citizen_columns(), report.total.citizen_target)
    villages = book.create_sheet(_sheet_name(_("Learning communities")))
    title = _("Learning communities: results for {year}").format(year=report.year)
    _fill(villages, report, title, community_columns(report), report.total.community_target)
    clans = book.create_sheet(_sheet_name(_("Learning clans")))
    title = _("Learning clans: results for {year}").format(year=report.year)
    _fill(clans, report, title, clan_columns(), report.total.clan_target)
    clans.cell(HEADER_ROW + len(report.lines) + 2, 1, _(
        "A clan with households in several villages is in each of their lines, and once in "
        "the total."))  # fmt: skip
    units = book.create_sheet(_sheet_name(_("Learning units")))
    title = _("Learning units: results for {year}").format(year=report.year)
    # A commune's units are the commune's own, not its villages': only the totals row then.
    shown = () if report.by_village else report.lines
    _fill(units, report, title, organisation_columns(), report.total.organisation_target, shown)
    if report.by_village:
        _recognised_sheet(book.create_sheet(_sheet_name(_("Recognised"))), report)
    # Fixed document times keep the file identical for identical numbers. ``Workbook.save``
    # would stamp "modified" with the clock, so the writer is driven directly.
    book.properties.created = book.properties.modified = report.generated_at.replace(tzinfo=None)
    buffer = BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED, allowZip64=True) as archive:
        ExcelWriter(book, archive).save()
    return buffer.getvalue()


def _recognised_sheet(sheet: Worksheet, report: Report) -> None:
    """The households and villages recognised in the year, one per row, with their decision:
    the list a commune attaches to its recognition decision."""
    sheet["A1"] = (
        _("Recognised in {year}: list for the recognition decision")
        .format(year=report.year)
        .upper()
    )
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = _("Unit: {unit} (code {code})").format(
        unit=report.unit_name, code=report.unit_code
    )
    sheet["A3"] = _("Made on {date}").format(date=format_date(report.generated_at))
    words = report.words.placeholders()
    headings = [_("No."), _("Title"), words["Village_word"], _("Household code"), _("Name"),
                _("Score"), _("Decision number"), _("Decision date")]  # fmt: skip
    for number, heading in enumerate(headings, start=1):
        cell = sheet.cell(HEADER_ROW, number, heading)
        cell.font, cell.fill, cell.border = Font(bold=True), HEAD_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    titles = {
        "household": _("Learning family"),
        "village": _("Learning community"),
        "clan": _("Learning clan"),
        "organisation": _("Learning unit"),
    }
    for offset, item in enumerate(report.recognised, start=1):
        values = [offset, titles.get(item.subject, item.subject), item.village, item.code,
                  item.name, item.score, item.decision_no or "", item.decision_date]  # fmt: skip
        formats = ["0", "@", "@", "@", "@", "0.0", "@", "dd/mm/yyyy"]
        for col, (value, number_format) in enumerate(zip(values, formats, strict=True), 1):
            cell = sheet.cell(HEADER_ROW + offset, col, value)
            if isinstance(value, str):  # names are text, even one that starts with "="
                cell.data_type = "s"
            cell.number_format, cell.border = number_format, BOX
    for number, width in enumerate([6, 18, 22, 12, 28, 8, 18, 14], start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 1)


def _sheet_name(name: str) -> str:
    """Sheet names: at most 31 characters, none of []:*?/\\."""
    return "".join(ch for ch in name if ch not in "[]:*?/\\")[:31]


def _fill(
    sheet: Worksheet,
    report: Report,
    title: str,
    columns: Sequence[Column],
    goal: Goal | None,
    lines: Sequence[Line] | None = None,
) -> None:
    sheet["A1"] = title.upper()
    sheet["A1"].font = Font(bold=True, size=13)
    sheet["A2"] = _("Unit: {unit} (code {code})").format(
        unit=report.unit_name, code=report.unit_code
    )
    made = format_date(report.generated_at)
    sheet["A3"] = _("Made on {date}").format(date=made)
    if goal is not None:
        sheet["A4"] = _("Target {target}: {origin}").format(
            target=f"{goal.percent:g}%", origin=origin(goal).plain()
        ) + (" · " + _("of the households registered") if goal.base == "registered" else "")
    words = report.words.placeholders()
    unit_heading = words["Village_word"] if report.by_village else _("Commune")
    headings = [_("No."), unit_heading, *(column.heading for column in columns)]
    for number, heading in enumerate(headings, start=1):
        cell = sheet.cell(HEADER_ROW, number, heading)
        cell.font, cell.fill, cell.border = Font(bold=True), HEAD_FILL, BOX
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    shown = report.lines if lines is None else lines
    for offset, line in enumerate(shown, start=1):
        _row(sheet, HEADER_ROW + offset, offset, line, columns)
    total_row = HEADER_ROW + len(shown) + 1
    _row(sheet, total_row, None, report.total, columns, label=_("Total"))
    for cell in sheet[total_row]:
        cell.font, cell.fill = Font(bold=True), TOTAL_FILL
    widths = [6, 28, *(column.width for column in columns)]
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    sheet.freeze_panes = sheet.cell(HEADER_ROW + 1, 3)


def _row(
    sheet: Worksheet,
    row: int,
    number: int | None,
    line: Line,
    columns: Sequence[Column],
    label: str | None = None,
) -> None:
    values = [number, label or line.name, *(column.value(line) for column in columns)]
    formats = ["0", "@", *(column.number_format for column in columns)]
    for col, (value, number_format) in enumerate(zip(values, formats, strict=True), start=1):
        cell = sheet.cell(row, col, value)
        if isinstance(value, str):  # a name is text, even one that starts with "="
            cell.data_type = "s"
        cell.number_format, cell.border = number_format, BOX
