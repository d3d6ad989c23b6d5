"""A report as a short chat message: totals first, then one line per village or commune.

Lines stay short enough for a small phone; numbers and percentages are formatted with babel for
the current locale. With ``html=True`` names are escaped and headings bold (Telegram's HTML);
without, the text is plain (the command line).

Must not import the database, services, channels or any platform library.
"""

from __future__ import annotations

import html as html_lib
from dataclasses import dataclass

from bot.i18n import _, format_number, format_percent, ngettext
from bot.reports.model import Line, Report

MAX_LINES = 20  # rows listed in chat; the spreadsheet has them all
DASH = "—"


def _share(value: float | None) -> str:
    return DASH if value is None else format_percent(value)


def _target(percent: float | None) -> str:
    return DASH if percent is None else format_percent(percent / 100, decimals=0)


@dataclass(frozen=True)
class Style:
    """Plain text, or Telegram's HTML (names escaped, headings bold)."""

    html: bool = False

    def esc(self, text: str) -> str:
        return html_lib.escape(text, quote=False) if self.html else text

    def bold(self, text: str) -> str:
        return f"<b>{text}</b>" if self.html else text


def render(report: Report, html: bool = False) -> str:
    """The whole report as one message."""
    style = Style(html)
    title = _("{unit}, year {year}").format(unit=style.esc(report.unit_name), year=report.year)
    parts = ["📊 " + style.bold(title), *family_lines(report.total, style)]
    if report.unit_level < 3:
        parts.append(
            _("Villages reporting: {reporting} of {villages}").format(
                reporting=format_number(report.total.villages_reporting),
                villages=format_number(report.total.villages),
            )
        )
    parts += citizen_lines(report.total, style)
    if report.unit_level < 3:
        parts += ["", *row_lines(report, style)]
    return "\n".join(parts)


def family_lines(total: Line, style: Style = Style()) -> list[str]:
    """The Gia đình học tập totals: recognised against the target, then the pipeline."""
    lines = ["🏠 " + style.bold(_("Learning families"))]
    if not total.households:
        return [*lines, _("No households in scope yet.")]
    lines.append(
        _("Recognised: {count} of {total} households ({share})").format(
            count=format_number(total.recognised),
            total=format_number(total.households),
            share=_share(total.family_share),
        )
    )
    lines.append(_target_line(total))
    lines.append(
        _("Registered: {registered} · assessed: {assessed}").format(
            registered=format_number(total.registered), assessed=format_number(total.assessed)
        )
    )
    lines.append(
        _("Waiting for review: {pending} · returned: {returned}").format(
            pending=format_number(total.pending), returned=format_number(total.returned)
        )
    )
    return lines


def _target_line(total: Line) -> str:
    needed = total.family_needed
    if needed is None:
        return _("No target set for this year.")
    if needed == 0:
        return "✅ " + _("Target {target} reached.").format(target=_target(total.family_target))
    return "🎯 " + ngettext(
        "Target {target}: {count} more household needed.",
        "Target {target}: {count} more households needed.",
        needed,
    ).format(target=_target(total.family_target), count=format_number(needed))


def citizen_lines(total: Line, style: Style = Style()) -> list[str]:
    """The Công dân học tập totals: who checked themselves, who met the criteria."""
    lines = ["👤 " + style.bold(_("Learning citizens"))]
    if not total.checked:
        return [*lines, _("No self-checks submitted yet.")]
    lines.append(
        _("Met the criteria: {count} of {total} who checked themselves ({share})").format(
            count=format_number(total.certified),
            total=format_number(total.checked),
            share=_share(total.citizen_pass_rate),
        )
    )
    lines.append(
        _("Share of residents: {share} · target {target}").format(
            share=_share(total.citizen_share), target=_target(total.citizen_target)
        )
    )
    return lines


def row_lines(report: Report, style: Style = Style()) -> list[str]:
    """One line per village (or commune) with households: recognised of households, share."""
    lines = [style.bold(_("By village") if report.by_village else _("By commune"))]
    filled = [line for line in report.lines if line.households]
    for line in filled[:MAX_LINES]:
        mark = "✅" if line.family_needed == 0 else "⚠️" if line.family_needed else "▫️"
        lines.append(
            f"{mark} "
            + _("{name}: {count}/{total} ({share})").format(
                name=style.esc(line.name),
                count=format_number(line.recognised),
                total=format_number(line.households),
                share=_share(line.family_share),
            )
        )
    hidden = len(filled) - MAX_LINES
    if hidden > 0:
        lines.append(
            ngettext(
                "… and {count} more in the spreadsheet.",
                "… and {count} more in the spreadsheet.",
                hidden,
            ).format(count=format_number(hidden))
        )
    empty = len(report.lines) - len(filled)
    if empty:
        lines.append(
            ngettext(
                "{count} more with no households yet.",
                "{count} more with no households yet.",
                empty,
            ).format(count=format_number(empty))
        )
    return lines
