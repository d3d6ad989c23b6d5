"""A report as a short chat message: totals first, then one line per village or commune.

Lines stay short enough for a small phone; numbers and percentages are formatted with babel for
the current locale. The result is a ``Text``: a chat renders it with bold headings, the command
line as plain text (``.plain()``); names are data either way.

Must not import the database, services, channels or any platform library.
"""

from __future__ import annotations

from bot.i18n import _, format_number, format_percent, ngettext
from bot.reports.model import Line, Report
from bot.rich import Text, bold, lines, t

MAX_LINES = 20  # rows listed in chat; the spreadsheet has them all
DASH = "—"


def _share(value: float | None) -> str:
    return DASH if value is None else format_percent(value)


def _target(percent: float | None) -> str:
    return DASH if percent is None else format_percent(percent / 100, decimals=0)


def render(report: Report) -> Text:
    """The whole report as one message."""
    title = t(_("{unit}, year {year}"), unit=report.unit_name, year=report.year)
    parts: list[Text | str] = ["📊 " + bold(title), *family_lines(report.total)]
    if report.unit_level < 3:
        parts.append(
            t(
                _("Villages reporting: {reporting} of {villages}"),
                reporting=format_number(report.total.villages_reporting),
                villages=format_number(report.total.villages),
            )
        )
    parts += citizen_lines(report.total)
    if report.unit_level < 3:
        parts += ["", *row_lines(report)]
    return lines(*parts)


def family_lines(total: Line) -> list[Text | str]:
    """The Gia đình học tập totals: recognised against the target, then the pipeline."""
    parts: list[Text | str] = ["🏠 " + bold(t(_("Learning families")))]
    if not total.households:
        return [*parts, t(_("No households in scope yet."))]
    parts.append(
        t(
            _("Recognised: {count} of {total} households ({share})"),
            count=format_number(total.recognised),
            total=format_number(total.households),
            share=_share(total.family_share),
        )
    )
    parts.append(_target_line(total))
    parts.append(
        t(
            _("Registered: {registered} · assessed: {assessed}"),
            registered=format_number(total.registered),
            assessed=format_number(total.assessed),
        )
    )
    parts.append(
        t(
            _("Waiting for review: {pending} · returned: {returned}"),
            pending=format_number(total.pending),
            returned=format_number(total.returned),
        )
    )
    return parts


def _target_line(total: Line) -> Text:
    needed = total.family_needed
    if needed is None:
        return t(_("No target set for this year."))
    if needed == 0:
        return "✅ " + t(_("Target {target} reached."), target=_target(total.family_target))
    return "🎯 " + t(
        ngettext(
            "Target {target}: {count} more household needed.",
            "Target {target}: {count} more households needed.",
            needed,
        ),
        target=_target(total.family_target),
        count=format_number(needed),
    )


def citizen_lines(total: Line) -> list[Text | str]:
    """The Công dân học tập totals: who checked themselves, who met the criteria."""
    parts: list[Text | str] = ["👤 " + bold(t(_("Learning citizens")))]
    if not total.checked:
        return [*parts, t(_("No self-checks submitted yet."))]
    parts.append(
        t(
            _("Met the criteria: {count} of {total} who checked themselves ({share})"),
            count=format_number(total.certified),
            total=format_number(total.checked),
            share=_share(total.citizen_pass_rate),
        )
    )
    parts.append(
        t(
            _("Share of residents: {share} · target {target}"),
            share=_share(total.citizen_share),
            target=_target(total.citizen_target),
        )
    )
    return parts


def row_lines(report: Report) -> list[Text | str]:
    """One line per village (or commune) with households: recognised of households, share."""
    parts: list[Text | str] = [bold(t(_("By village") if report.by_village else _("By commune")))]
    filled = [line for line in report.lines if line.households]
    for line in filled[:MAX_LINES]:
        mark = "✅" if line.family_needed == 0 else "⚠️" if line.family_needed else "▫️"
        parts.append(
            f"{mark} "
            + t(
                _("{name}: {count}/{total} ({share})"),
                name=line.name,
                count=format_number(line.recognised),
                total=format_number(line.households),
                share=_share(line.family_share),
            )
        )
    hidden = len(filled) - MAX_LINES
    if hidden > 0:
        parts.append(
            t(
                ngettext(
                    "… and {count} more in the spreadsheet.",
                    "… and {count} more in the spreadsheet.",
                    hidden,
                ),
                count=format_number(hidden),
            )
        )
    empty = len(report.lines) - len(filled)
    if empty:
        parts.append(
            t(
                ngettext(
                    "{count} more with no households yet.",
                    "{count} more with no households yet.",
                    empty,
                ),
                count=format_number(empty),
            )
        )
    return parts
