"""The spreadsheet, re-read with openpyxl and checked cell by cell: one sheet per title, the
title, unit and date on top, a row per village and a totals row, shares as percentages."""

from __future__ import annotations

import datetime as dt
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
    families, _citizens, _villages, *_rest = _book(commune_report)
    assert families.title == "Learning families"
    rows = _rows(families)
    assert rows[0][0] == "LEARNING FAMILIES: RESULTS FOR 2025"
    assert rows[1][0] == "Unit: Phường Hoàn Kiếm (code 00070)"
    assert rows[2][0] == "Made on 10 Dec 2025"  # one way to write a day in each language
    assert rows[3][0] == "Target 72%: national default, QĐ 387/QĐ-TTg"
    assert rows[5] == (
        "No.",
        "Residential group",
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
    # 72 % of 80 is 57.6 (58, met by 60); of 120, 86.4 (87, 21 more); of 200, 144 (18 more).
    assert rows[6] == (1, "Thôn Đông", 80, 75, 70, 4, 2, 60, 0.75, 0.72, 0)
    assert rows[7] == (2, "Xóm Chùa & <Mới>", 120, 110, 100, 14, 1, 66, 0.55, 0.72, 21)
    assert rows[8] == (3, "Thôn Tây", 0, 0, 0, 0, 0, 0, None, 0.72, 0)
    assert rows[9] == (None, "Total", 200, 185, 170, 18, 3, 126, 0.63, 0.72, 18)
    assert len(rows) == 10
    assert families["I7"].number_format == "0.0%" and families["J7"].number_format == "0%"
    assert families["B10"].font.bold and families.freeze_panes == "C7"


def test_the_citizen_sheet_holds_every_number(commune_report: Report) -> None:
    _families, citizens, *_rest = _book(commune_report)
    assert citizens.title == "Learning citizens"
    rows = _rows(citizens)
    assert rows[0][0] == "LEARNING CITIZENS: RESULTS FOR 2025"
    assert rows[3][0] == "Target 44%: national default, QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg"
    assert rows[5] == (
        "No.",
        "Residential group",
        "Working-age people",
        "Households without the figure",
        "Titles confirmed",
        "Share of working-age people",
        "Target",
        "Titles still needed",
        "Self-checked",
        "Meeting the criteria by their own estimate",
        *(
            f"{group}: {what}"
            for group in (
                "Resident of the commune",
                "Worker",
                "Staff or business person",
                "Pupil, student or learner",
            )
            for what in ("self-checked", "meeting the criteria", "titles")
        ),
        "Title holders, every group",
        "With digital skills (QĐ 677)",
        "Share with digital skills",
        "Target",
        "Proficient",
        "Share proficient",
        "Target",
    )
    no_digital = (0, 0, None, None, 0, None, None)  # the villages' lines hold none here
    # 44 % of 180 is 79.2 (80, 60 more than 20); of 250, 110 (100 more); of 430, 190 (160).
    # Then per group: self-checked, meeting the criteria, titles.
    assert rows[6] == (
        1, "Thôn Đông", 180, 0, 20, pytest.approx(20 / 180), 0.44, 60, 40, 30,
        30, 22, 15, 10, 8, 5, 0, 0, 0, 6, 4, 1, *no_digital,
    )  # fmt: skip
    assert rows[7] == (
        2, "Xóm Chùa & <Mới>", 250, 5, 10, 0.04, 0.44, 100, 50, 20, 50, 20, 10, *[0] * 9,
        *no_digital,
    )  # fmt: skip
    assert rows[8] == (3, "Thôn Tây", 0, 0, 0, None, 0.44, 0, 0, 0, *[0] * 12, *no_digital)
    assert rows[9] == (
        None, "Total", 430, 5, 30, pytest.approx(30 / 430), 0.44, 160, 90, 50,
        80, 42, 25, 10, 8, 5, 0, 0, 0, 6, 4, 1,
        31, 20, pytest.approx(20 / 31), 0.74, 9, pytest.approx(9 / 31), 0.64,
    )  # fmt: skip


def test_the_community_sheet_counts_villages(commune_report: Report) -> None:
    _families, _citizens, villages, *_rest = _book(commune_report)
    assert villages.title == "Learning communities"
    rows = _rows(villages)
    assert rows[3][0] == "Target 67%: national default, QĐ 387/QĐ-TTg"
    assert rows[5] == (
        "No.", "Residential group", "Number of residential groups", "Assessed", "Recognised",
        "Share recognised", "Target", "Residential groups still needed",
    )  # fmt: skip
    assert rows[9] == (None, "Total", 3, 2, 1, pytest.approx(1 / 3), 0.67, 2)


def test_the_recognised_sheet_lists_the_decision_names_as_text(commune_report: Report) -> None:
    *_totals, recognised = _book(commune_report)
    assert recognised.title == "Recognised"
    rows = _rows(recognised)
    assert rows[0][0] == "RECOGNISED IN 2025: LIST FOR THE RECOGNITION DECISION"
    assert rows[5] == ("No.", "Title", "Residential group", "Household code", "Name", "Score",
                       "Decision number", "Decision date")  # fmt: skip
    assert rows[6][:7] == (1, "Learning community", "Thôn Đông", None, "Thôn Đông", 85,
                           "12/QĐ-UBND")  # fmt: skip
    assert rows[6][7].date() == dt.date(2025, 12, 5)
    assert rows[7][:5] == (2, "Learning family", "Thôn Đông", "H001", "=Lê <b>Văn</b> & Ân")
    assert recognised.cell(8, 5).data_type == "s"  # a name, never a formula


def test_the_unit_sheet_holds_the_communes_own_units_only(commune_report: Report) -> None:
    _families, _citizens, _villages, _clans, units, _recognised = _book(commune_report)
    assert units.title == "Learning units"
    rows = _rows(units)
    assert rows[5] == (
        "No.", "Residential group", "Number of learning units", "Assessed", "Recognised",
        "Share recognised", "Target", "Units still needed", "Staff of the units",
        "Staff holding Learning citizen", "Share of staff", "Target",
    )  # fmt: skip
    # Units belong to the commune, not to its villages: the totals row only.
    assert rows[6] == (None, "Total", 5, 4, 3, 0.6, 0.82, 2, 120, 0, 0, 0.64)
    assert len(rows) == 7


def test_the_clan_sheet_says_a_clan_counts_once_in_the_total(commune_report: Report) -> None:
    clans = _book(commune_report)[3]
    assert clans.title == "Learning clans"
    rows = _rows(clans)
    assert rows[5][2:] == ("Number of clans", "Assessed", "Recognised", "Share recognised",
                           "Target", "Clans still needed")  # fmt: skip
    assert rows[9] == (None, "Total", 4, 3, 2, 0.5, 0.67, 1)
    assert rows[10][0].startswith("A clan with households in several villages")


def test_a_province_book_has_no_list_of_names(commune_report: Report) -> None:
    assert len(_book(replace(commune_report, unit_level=1))) == 5


def test_a_province_sheet_counts_villages_per_commune(commune_report: Report) -> None:
    families, _citizens, _villages, *_rest = _book(replace(commune_report, unit_level=1))
    rows = _rows(families)
    assert rows[5][:5] == (
        "No.",
        "Commune",
        "Number of households",
        "Residential groups",
        "Residential groups reporting",
    )
    assert rows[9][:5] == (None, "Total", 200, 3, 2)


def _members(data: bytes) -> dict[str, bytes]:
    """The files inside the xlsx (the zip's own timestamps are the clock's, not the report's)."""
    with zipfile.ZipFile(BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_the_same_numbers_give_the_same_file(commune_report: Report) -> None:
    with use_locale("en"):
        assert _members(xlsx.render(commune_report)) == _members(xlsx.render(commune_report))
