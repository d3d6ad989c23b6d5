"""``hoctap demo`` and ``hoctap report`` as an officer runs them: real processes, a real file."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook

from tests.bot.test_cli import hoctap

COMMUNE = "00640"  # Xã Thanh Trì, Hà Nội: the demo's default commune
YEAR = "2025"


def test_demo_fills_a_commune_once_and_the_report_agrees(tmp_path: Path) -> None:
    demo = hoctap(tmp_path, "demo", "--year", YEAR, HOCTAP_LOCALE="en")
    assert demo.returncode == 0, demo.stderr
    assert "Example data added:" in demo.stdout and "By village" in demo.stdout
    again = hoctap(tmp_path, "demo", "--year", YEAR, HOCTAP_LOCALE="en")
    assert again.returncode == 0, again.stderr  # the README's first command can run twice
    assert "already has villages, so no example data was added." in again.stdout
    assert again.stdout.split("\n", 1)[1] == demo.stdout.split("\n", 1)[1]  # same report
    report = hoctap(tmp_path, "report", "--unit", COMMUNE, "--year", YEAR, HOCTAP_LOCALE="en")
    assert report.returncode == 0, report.stderr
    assert report.stdout.strip() in demo.stdout  # the demo printed this very report
    recognised = next(line for line in report.stdout.splitlines() if "Recognised:" in line)
    households = int(recognised.split(" of ")[1].split()[0].replace(",", ""))
    households_recognised = int(recognised.split(": ")[1].split()[0].replace(",", ""))
    written = hoctap(tmp_path, "report", "--unit", COMMUNE, "--year", YEAR, "--format", "xlsx")
    assert written.returncode == 0, written.stderr
    book = load_workbook(BytesIO((tmp_path / f"bao-cao-{COMMUNE}-{YEAR}.xlsx").read_bytes()))
    families = book.worksheets[0]
    total_row = [row for row in families.iter_rows(values_only=True) if row[2] is not None][-1]
    assert total_row[0] is None and total_row[2] == households
    assert [sheet.title for sheet in book.worksheets] == [
        "Gia đình học tập",
        "Công dân học tập",
        "Cộng đồng học tập",
        "Dòng họ học tập",
        "Đơn vị học tập",
        "Được công nhận",
    ]
    villages = book.worksheets[2]
    total = [row for row in villages.iter_rows(values_only=True) if row[2] is not None][-1]
    assert total[1] == "Tổng cộng" and total[2] >= 10  # the demo's 10 to 15 villages
    assert 0 < total[4] <= total[3] <= total[2]  # recognised of assessed of villages
    # The list for the decision: every household recognised, and the villages recognised.
    listed = [row for row in book.worksheets[5].iter_rows(min_row=7, values_only=True)]
    assert sum(1 for row in listed if row[1] == "Gia đình học tập") == households_recognised
    assert sum(1 for row in listed if row[1] == "Cộng đồng học tập") == total[4]
    chart = hoctap(
        tmp_path,
        "report",
        "--unit",
        COMMUNE,
        "--year",
        YEAR,
        "--format",
        "png",
        "--output",
        "chart.png",
    )
    assert chart.returncode == 0, chart.stderr
    assert (tmp_path / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_seed_gives_the_same_commune(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    runs = [hoctap(place, "demo", "--year", YEAR, "--seed", "7") for place in (first, second)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout


def test_an_unknown_unit_is_one_clear_line(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    result = hoctap(tmp_path, "report", "--unit", "99999", HOCTAP_LOCALE="en")
    assert result.returncode != 0
    assert result.stderr == "No unit has the code or name 99999.\n"
