"""A report as a PNG bar chart: the share of households recognised per village (or commune),
with the target drawn as a line, labelled in the current locale.

Uses matplotlib's object API on the Agg canvas (no pyplot, no global state, no display), so
charts can be drawn from any worker. Must not import the database, services, channels or any
platform library.
"""

from __future__ import annotations

from io import BytesIO

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bot.i18n import _, format_percent
from bot.reports.model import Line, Report

MET, BELOW, TARGET_COLOUR = "#2e7d32", "#ef6c00", "#1565c0"
WIDTH_INCHES, ROW_INCHES, MIN_INCHES, MAX_INCHES = 8, 0.32, 3.0, 40.0
DPI = 110
CHAR_WIDTH = 0.0105  # of the figure's width, per character of a y-axis label
MAX_LABELLED = 40  # bars that get their percentage written beside them


def _share(line: Line) -> float:
    return line.family_share or 0.0


def render(report: Report) -> bytes:
    """The chart as PNG bytes; one horizontal bar per line, the target as a dashed line."""
    # Units with no households yet would only be empty bars.
    lines = [line for line in report.lines if line.households] or list(report.lines)
    height = min(MAX_INCHES, max(MIN_INCHES, 1.6 + ROW_INCHES * len(lines)))
    figure = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _draw_bars(axes, lines)
    _draw_targets(axes, lines)
    axes.set_xlim(0, 1.08)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_percent(x, decimals=0)))
    axes.set_xlabel(_("Share of households recognised as learning families"))
    # Names are drawn as they are: matplotlib would read "$…$" in them as mathematics.
    axes.set_title(
        _("Learning families in {unit}, {year}").format(unit=report.unit_name, year=report.year),
        parse_math=False,
    )
    # Margins worked out from the longest name: tight_layout would draw the figure twice.
    longest = max((len(line.name) for line in lines), default=10)
    figure.subplots_adjust(
        left=min(0.45, 0.04 + longest * CHAR_WIDTH),
        right=0.97,
        top=1 - 0.45 / height,
        bottom=0.65 / height,
    )
    buffer = BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _draw_bars(axes: Axes, lines: list[Line]) -> None:
    positions = list(range(len(lines)))
    colours = [MET if line.family_needed == 0 and line.households else BELOW for line in lines]
    bars = axes.barh(positions, [_share(line) for line in lines], color=colours)
    axes.set_yticks(positions, [line.name for line in lines], parse_math=False)
    axes.invert_yaxis()  # the first village at the top, as in the spreadsheet
    if len(lines) > MAX_LABELLED:
        return  # a province's hundred communes: the spreadsheet has the figures
    for bar, line in zip(bars, lines, strict=True):
        axes.annotate(
            format_percent(_share(line)) if line.households else "—",
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )


def _draw_targets(axes: Axes, lines: list[Line]) -> None:
    """One line when every row has the same target; else a mark on each bar."""
    goals = [line.family_target.share if line.family_target else None for line in lines]
    known = {goal for goal in goals if goal is not None}
    if not known:
        return
    if len(known) == 1 and None not in goals:
        goal = known.pop()
        label = _("Target {target}").format(target=format_percent(goal, decimals=0))
        axes.axvline(goal, color=TARGET_COLOUR, linestyle="--", label=label)
    else:
        points = [(goal, y) for y, goal in enumerate(goals) if goal is not None]
        axes.scatter(
            [p[0] for p in points],
            [p[1] for p in points],
            marker="|",
            s=200,
            color=TARGET_COLOUR,
            label=_("Target"),
        )
    axes.legend(loc="lower right", fontsize=8)
