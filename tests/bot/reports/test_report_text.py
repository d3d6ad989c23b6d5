"""The chat text of a report: totals against the target, the pipeline, citizens, and a short
line per village, in the person's language and number format."""

from __future__ import annotations

from dataclasses import replace

from bot.i18n import use_locale
from bot.reports import text
from bot.reports.model import Goal, Report
from tests.bot.reports.conftest import WARD_VI


def test_the_text_reads_as_worked_out_by_hand(commune_report: Report) -> None:
    with use_locale("en"):
        rendered = text.render(commune_report).plain()
    # Families: 72 % of 200 is 144, 18 more than the 126 recognised. Citizens: 30 titles of
    # 430 working-age people is 7.0 %; 44 % of 430 is 189.2, so 190, 160 more than 30.
    assert rendered.splitlines() == [
        "📊 Phường Hoàn Kiếm, year 2025",
        "🏠 Learning families",
        "Recognised: 126 of 200 households (63.0%)",
        "🎯 Target 72% (national default, QĐ 387/QĐ-TTg): 18 more households needed.",
        "Registered: 185 · assessed: 170",
        "Waiting for review: 18 · returned: 3",
        "Residential groups reporting: 2 of 3",
        "👤 Learning citizens (QĐ 324/QĐ-KHVN)",
        "Titles confirmed: 30 of 430 working-age people (7.0%)",
        "🎯 Target 44% (national default, QĐ 387/QĐ-TTg, QĐ 677/QĐ-TTg): 160 more titles needed.",
        "Self-checks meeting the criteria (their own estimate): 50 of 90",
        # Per group; pupils' titles are not in the 30 (the base is working-age people).
        "• Resident of the commune: self-checked 80, meeting the criteria 42, titles 25",
        "• Worker: self-checked 10, meeting the criteria 8, titles 5",
        "• Pupil, student or learner: self-checked 6, meeting the criteria 4, titles 1",
        "💻 Digital skills (QĐ 677): 20 of 31 title holders (64.5%, target 74%); proficient 9 "
        "(29.0%, target 64%)",
        "⚠️ The base is incomplete: 5 households have not given their working-age members.",
        # Villages: 67 % of 3 is 2.01, so 3 villages, 2 more than the 1 recognised.
        "🏘 Learning communities",
        "Recognised: 1 of 3 residential groups (33.3%); assessed: 2",
        "🎯 Target 67% (national default, QĐ 387/QĐ-TTg): 2 more residential groups needed.",
        # Clans: 67 % of 4 is 2.68, so 3 clans, 1 more than the 2 recognised.
        "👪 Learning clans",
        "Recognised: 2 of 4 clans (50.0%); assessed: 3",
        "🎯 Target 67% (national default, QĐ 387/QĐ-TTg): 1 more clan needed.",
        # Units: 82 % of 5 is 4.1, so 5 units, 2 more than the 3 recognised.
        "🏫 Learning units (TT 22/2020/TT-BGDĐT)",
        "Recognised: 3 of 5 units (60.0%); assessed: 4",
        "🎯 Target 82% (national default, QĐ 387/QĐ-TTg): 2 more units needed.",
        "Staff holding Learning citizen: 0 of 120 (0.0%, target 64%)",
        "",
        "By residential group",
        "✅ Thôn Đông: 60/80 (75.0%)",
        "⚠️ Xóm Chùa & <Mới>: 66/120 (55.0%)",
        "1 more with no households yet.",
    ]


def test_a_passing_self_check_is_never_counted_as_a_title(commune_report: Report) -> None:
    with use_locale("vi"):
        rendered = text.render(replace(commune_report, words=WARD_VI)).plain()
    assert "Được xác nhận danh hiệu: 30/430 người trong độ tuổi lao động (7,0%)" in rendered
    assert "ước tính của chính họ" in rendered
    assert "được công nhận: 50" not in rendered.lower()
    assert "Theo tổ dân phố" in rendered and "Số tổ dân phố đã báo cáo: 2/3" in rendered


def test_a_target_set_by_a_unit_names_it(commune_report: Report) -> None:
    own = replace(commune_report.total, family_target=Goal(85.0, "unit", "Phường Hoàn Kiếm"))
    with use_locale("en"):
        rendered = text.render(replace(commune_report, total=own)).plain()
    assert "🎯 Target 85% (set by Phường Hoàn Kiếm): 44 more households needed." in rendered


def test_vietnamese_numbers_and_html_escaping(commune_report: Report) -> None:
    with use_locale("vi"):
        rendered = text.render(replace(commune_report, words=WARD_VI)).html()
    assert "<b>Phường Hoàn Kiếm" in rendered
    assert "(63,0%)" in rendered and "7,0%" in rendered
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
    assert "✅ Target 72% (national default, QĐ 387/QĐ-TTg) reached." in rendered
    assert "By residential group" not in rendered and "reporting" not in rendered


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
        total=replace(
            commune_report.total, households=0, recognised=0, checked=0, confirmed=0, groups=()
        ),
    )
    with use_locale("en"):
        rendered = text.render(empty).plain()
    assert "No households in scope yet." in rendered
    assert "No self-checks submitted yet." in rendered
