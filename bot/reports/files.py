"""A report's files: the spreadsheet (``.xlsx``) or the chart (``.png``), chosen by file name.

Rendering takes long (a province's chart, a second or more), so the chat keeps the report and
the runner renders its files after the unit of work has committed, in a worker process
(``bot/runtime/files.py``). Must not import the database, services or channels.
"""

from __future__ import annotations

from pathlib import PurePath

from bot.i18n import use_locale
from bot.reports.model import Report


def render_file(report: Report, filename: str, locale: str = "") -> bytes:
    """The file ``filename`` names (by its extension) of the report, in ``locale``."""
    # Late imports: matplotlib and openpyxl take about half of the bot's start-up, and a bot
    # restarted after a crash should be answering again as soon as it can.
    suffix = PurePath(filename).suffix.lower()
    with use_locale(locale or None):
        if suffix == ".xlsx":
            from bot.reports import xlsx

            return xlsx.render(report)
        if suffix == ".png":
            from bot.reports import chart

            return chart.render(report)
    raise ValueError(f"no renderer for a {suffix or 'nameless'} file")
