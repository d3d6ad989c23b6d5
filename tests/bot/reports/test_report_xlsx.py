"""The spreadsheet, re-read with openpyxl and checked cell by cell: one sheet per title, the
title, unit and date on top, a row per village and a totals row, shares as percentages."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from io import BytesIO

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from bot.i18n import use_locale
from bot.reports import xlsx
from bot.reports.model import Report


def _rows(sheet: Worksheet) -> list[tuple[object, ...]]:
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _book(report: Report) -> list[Worksheet]:
    with use_locale("en"):
        content = xlsx.render(report)
    book = load_workbook(BytesIO(content))
    return list(book.worksheets)


def test_the_family_sheet_holds_every_number(commune_report: Report) -> None:
    families, _citizens = _book(commune_report)
    assert families.title == "Learning families"
    rows = _rows(families)
    assert rows[0][0] == "LEARNING FAMILIES: RESULTS FOR 2025"
    assert rows[1][0] == "Unit: Phường Hoàn Kiếm (code 00070)"
    assert rows[2][0] == "Made on 10/12/2025"
    assert rows[4] == (
        "No.",
        "Village",
        "Number of households",
        "Registered",
        "Assessed",
        "Waiting for review",
        "Returned",
        "Recognised",
        "Share recognised",
        "Target",
        "Households still needed",
    )
    assert rows[5] == (1, "Thôn Đông", 80, 75, 70, 4, 2, 60, 0.75, 0.7, 0)
    assert rows[6] == (2, "Xóm Chùa & <Mới>", 120, 110, 100, 14, 1, 66, 0.55, 0.7, 18)
    assert rows[7] == (3, "Thôn Tây", 0, 0, 0, 0, 0, 0, None, 0.7, 0)
    assert rows[8] == (None, "Total", 200, 185, 170, 18, 3, 126, 0.63, 0.7, 14)
    assert len(rows) == 9
    assert families["I6"].number_format == "0.0%" and families["J6"].number_format == "0%"
    assert families["B9"].font.bold and families.freeze_panes == "C6"


def test_the_citizen_sheet_holds_every_number(commune_report: Report) -> None:
    _families, citizens = _book(commune_report)
    assert citizens.title == "Learning citizens"
    rows = _rows(citizens)
    assert rows[0][0] == "LEARNING CITIZENS: RESULTS FOR 2025"
    assert rows[4] == (
        "No.",
        "Village",
        "Residents",
        "Self-checked",
        "Met the criteria",
        "Share of those checked",
        "Share of residents",
        "Target",
    )
    assert rows[5] == (1, "Thôn Đông", 300, 40, 30, 0.75, pytest.approx(0.1), 0.4)
    assert rows[6] == (2, "Xóm Chùa & <Mới>", 420, 50, 20, 0.4, pytest.approx(20 / 420), 0.4)
    assert rows[7] == (3, "Thôn Tây", 0, 0, 0, None, None, 0.4)
    assert rows[8] == (
        None,
        "Total",
        720,
        90,
        50,
        pytest.approx(50 / 90),
        pytest.approx(50 / 720),
        0.4,
    )


def test_a_province_sheet_counts_villages_per_commune(commune_report: Report) -> None:
    families, _citizens = _book(replace(commune_report, unit_level=1))
    rows = _rows(families)
    assert rows[4][:5] == (
        "No.",
        "Commune",
        "Number of households",
        "Villages",
        "Villages reporting",
    )
    assert rows[8][:5] == (None, "Total", 200, 3, 2)


def _members(data: bytes) -> dict[str, bytes]:
    """The files inside the xlsx (the zip's own timestamps are the clock's, not the report's)."""
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_same_numbers_give_the_same_file(commune_report: Report) -> None:
    with use_locale("en"):
        assert _members(xlsx.render(commune_report)) == _members(xlsx.render(commune_report))
