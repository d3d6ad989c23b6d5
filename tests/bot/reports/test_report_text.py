"""The chat text of a report: totals against the target, the pipeline, citizens, and a short
line per village, in the person's language and number format."""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import use_locale
from bot.reports import text
from bot.reports.model import Report


def test_the_text_reads_as_worked_out_by_hand(commune_report: Report) -> None:
    with use_locale("en"):
        rendered = text.render(commune_report).plain()
    assert rendered.splitlines() == [
        "📊 Phường Hoàn Kiếm, year 2025",
        "🏠 Learning families",
        "Recognised: 126 of 200 households (63.0%)",
        "🎯 Target 70%: 14 more households needed.",
        "Registered: 185 · assessed: 170",
        "Waiting for review: 18 · returned: 3",
        "Villages reporting: 2 of 3",
        "👤 Learning citizens",
        "Met the criteria: 50 of 90 who checked themselves (55.6%)",
        "Share of residents: 6.9% · target 40%",
        "",
        "By village",
        "✅ Thôn Đông: 60/80 (75.0%)",
        "⚠️ Xóm Chùa & <Mới>: 66/120 (55.0%)",
        "1 more with no households yet.",
    ]


def test_vietnamese_numbers_and_html_escaping(commune_report: Report) -> None:
    with use_locale("vi"):
        rendered = text.render(commune_report).html()
    assert "<b>Phường Hoàn Kiếm" in rendered
    assert "(63,0%)" in rendered and "6,9%" in rendered
    assert "Xóm Chùa &amp; &lt;Mới&gt;" in rendered and "<Mới>" not in rendered


def test_a_village_report_has_no_rows_and_a_met_target_says_so(commune_report: Report) -> None:
    village = replace(
        commune_report,
        unit_level=3,
        lines=commune_report.lines[:1],
        total=commune_report.lines[0],
        unit_name="Thôn Đông",
    )
    with use_locale("en"):
        rendered = text.render(village).plain()
    assert "✅ Target 70% reached." in rendered
    assert "By village" not in rendered and "Villages reporting" not in rendered


def test_long_lists_point_to_the_spreadsheet(commune_report: Report) -> None:
    many = tuple(replace(commune_report.lines[0], name=f"Thôn {n}") for n in range(25))
    with use_locale("en"):
        rendered = text.render(replace(commune_report, unit_level=1, lines=many)).plain()
    assert "By commune" in rendered
    assert "… and 5 more in the spreadsheet." in rendered
    assert rendered.count("✅") == text.MAX_LINES


def test_an_empty_unit_says_nothing_is_counted_yet(commune_report: Report) -> None:
    empty = replace(
        commune_report,
        lines=(),
        total=replace(commune_report.total, households=0, recognised=0, checked=0),
    )
    with use_locale("en"):
        rendered = text.render(empty).plain()
    assert "No households in scope yet." in rendered
    assert "No self-checks submitted yet." in rendered
