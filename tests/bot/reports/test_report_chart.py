"""The chart decodes as a PNG of the expected size, with or without shared targets."""

from __future__ import annotations

import struct
from dataclasses import replace
from io import BytesIO

from PIL import Image

from bot.i18n import use_locale
from bot.reports import chart
from bot.reports.model import Goal, Report

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _size(png: bytes) -> tuple[int, int]:
    assert png[:8] == SIGNATURE and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_the_chart_is_a_png_with_a_bar_per_village(commune_report: Report) -> None:
    with use_locale("vi"):
        png = chart.render(commune_report)
    width, height = _size(png)
    assert width == 8 * chart.DPI
    assert height == int(chart.MIN_INCHES * chart.DPI)  # two villages with households
    image = Image.open(BytesIO(png))
    image.load()  # decodes every pixel
    assert image.size == (width, height) and image.format == "PNG"


def test_many_rows_and_different_targets_make_a_taller_chart(commune_report: Report) -> None:
    lines = tuple(
        replace(
            commune_report.lines[0],
            name=f"Xã {n}",
            family_target=Goal(60.0 + n % 3 * 10, "unit", f"Xã {n}"),
        )
        for n in range(30)
    )
    with use_locale("en"):
        png = chart.render(replace(commune_report, unit_level=1, lines=lines))
    _width, height = _size(png)
    assert height == int((1.6 + chart.ROW_INCHES * 30) * chart.DPI)


def test_a_unit_with_nothing_counted_still_draws(commune_report: Report) -> None:
    empty = replace(commune_report, lines=commune_report.lines[2:])
    _width, height = _size(chart.render(empty))
    assert height > 0
