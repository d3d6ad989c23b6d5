"""The ``hoctap`` command as an officer runs it: real processes, a real database file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fake_telegram import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


def hoctap(
    tmp_path: Path, *args: str, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``hoctap`` in a fresh working directory, the way a person would."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("HOCTAP_")}
    environ.update(
        {
            "HOCTAP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hoctap.db'}",
            "PYTHONPATH": str(ROOT),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=tmp_path,
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_help_works_when_a_setting_is_invalid_and_commands_then_say_which(
    tmp_path: Path,
) -> None:
    shown = hoctap(tmp_path, "--help", HOCTAP_REMINDER_RATE="fast")
    assert shown.returncode == 0, shown.stderr
    assert "run" in shown.stdout
    refused = hoctap(tmp_path, "init", HOCTAP_REMINDER_RATE="fast")
    assert refused.returncode == 2
    assert refused.stderr.strip() == "HOCTAP_REMINDER_RATE: expected a whole number"


def test_init_twice_loads_the_geography_once(tmp_path: Path) -> None:
    first = hoctap(tmp_path, "init")
    assert first.returncode == 0, first.stderr
    assert "34" in first.stdout and "3.321" in first.stdout  # Vietnamese number format
    second = hoctap(tmp_path, "init")
    assert second.returncode == 0, second.stderr
    assert "34" not in second.stdout and "3.321" not in second.stdout


def test_villages_and_households_import_in_one_go(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    csv = tmp_path / "xa.csv"
    csv.write_text(
        "village,household_code,head_name,members\n"
        "Thôn Đông,H001,Nguyễn Văn An,4\nThôn Đông,H002,Trần Thị Bình,5\n"
        "Thôn Tây,H001,Lê Văn Cường,3\n",
        encoding="utf-8",
    )
    result = hoctap(tmp_path, "units", "import", "--commune", "00070", str(csv))
    assert result.returncode == 0, result.stderr
    listing = hoctap(tmp_path, "units", "list", "--commune", "00070")
    assert "Thôn Đông" in listing.stdout and "Thôn Tây" in listing.stdout


def test_a_broken_csv_names_file_row_and_field_and_writes_nothing(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    csv = tmp_path / "xa.csv"
    csv.write_text(
        "village,household_code,head_name,members\n"
        "Thôn Đông,H001,Nguyễn Văn An,4\nThôn Đông,H001,Trần Thị Bình,nhiều\n",
        encoding="utf-8",
    )
    result = hoctap(tmp_path, "units", "import", "--commune", "00070", str(csv))
    assert result.returncode != 0
    assert "xa.csv:3" in result.stderr
    assert "Thôn Đông" not in hoctap(tmp_path, "units", "list", "--commune", "00070").stdout


def test_an_unknown_commune_is_refused(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    result = hoctap(tmp_path, "units", "add-village", "--commune", "99999", "Thôn Mới")
    assert result.returncode != 0
    assert "99999" in result.stderr and result.stderr.count("\n") == 1


def test_a_database_that_cannot_be_opened_is_one_clear_line(tmp_path: Path) -> None:
    result = hoctap(
        tmp_path, "init", HOCTAP_DATABASE_URL="sqlite+aiosqlite:////no/such/dir/hoctap.db"
    )
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "/no/such/dir" in result.stderr


def test_a_broken_form_file_is_refused_with_its_place(tmp_path: Path) -> None:
    form = (ROOT / "conversations/forms/cong-dan-hoc-tap.toml").read_text(encoding="utf-8")
    broken = tmp_path / "cdht.toml"
    broken.write_text(form.replace('en = "', 'xx = "', 1), encoding="utf-8")
    result = hoctap(tmp_path, "forms", "check", str(broken))
    assert result.returncode != 0
    assert "cong-dan-hoc-tap" in result.stderr
    binary = tmp_path / "anh.toml"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    result = hoctap(tmp_path, "forms", "check", str(binary))
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and "not UTF-8" in result.stderr  # no traceback
    shipped = ROOT / "conversations/forms/gia-dinh-hoc-tap.toml"
    ok = hoctap(tmp_path, "forms", "check", str(shipped))
    assert ok.returncode == 0, ok.stderr


def test_forms_draw_prints_a_mermaid_graph(tmp_path: Path) -> None:
    result = hoctap(tmp_path, "forms", "draw", "gia-dinh-hoc-tap")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(("flowchart", "graph"))


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_command_speaks_the_configured_language(tmp_path: Path, locale: str) -> None:
    result = hoctap(tmp_path, "init", HOCTAP_LOCALE=locale)
    assert result.returncode == 0
    assert ("Provinces added" in result.stdout) is (locale == "en")


def test_a_target_is_set_from_the_command_line_and_checked(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    ok = hoctap(tmp_path, "target", "--unit", "00070", "--title", "gdht", "--year", "2026", "85")
    assert ok.returncode == 0, ok.stderr
    bad = hoctap(tmp_path, "target", "--unit", "00070", "--title", "gdht", "--year", "2026", "120")
    assert bad.returncode != 0
    assert bad.stderr.count("\n") == 1


def test_a_commune_switches_a_reminder_campaign_and_sets_its_day(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    changed = hoctap(
        tmp_path,
        "reminders",
        "set",
        "--commune",
        "00070",
        "--kind",
        "season_open",
        "--day",
        "15/9",
        "--off",
    )
    assert changed.returncode == 0, changed.stderr
    listed = hoctap(tmp_path, "reminders", "list", "--commune", "00070")
    assert "season_open       tắt  ngày 15/09 hằng năm" in listed.stdout
    assert "report_deadline   bật  7 ngày trước hạn xã báo cáo (30/11)" in listed.stdout
    refused = hoctap(
        tmp_path,
        "reminders",
        "set",
        "--commune",
        "00070",
        "--kind",
        "season_open",
        "--day",
        "31/2",
    )
    assert refused.returncode != 0
    assert "--day" in refused.stderr


def test_the_command_line_finds_a_commune_by_name_and_says_roles_in_words(
    tmp_path: Path,
) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    made = hoctap(tmp_path, "invite", "--role", "officer", "--unit", "thanh trì")
    assert made.returncode == 0, made.stderr
    assert "cho: cán bộ xã · Xã Thanh Trì (00640)" in made.stdout
    # Without diacritics "thanh tri" is Xã Thanh Trì and Xã Thạnh Trị: both are listed.
    both = hoctap(tmp_path, "report", "--unit", "thanh tri")
    assert "Xã Thanh Trì (00640)" in both.stderr and "Xã Thạnh Trị (29089)" in both.stderr
    ward = hoctap(tmp_path, "invite", "--role", "officer", "--unit", "Phường Hoàn Kiếm")
    assert "cán bộ phường · Phường Hoàn Kiếm (00070)" in ward.stdout
    assert "t.me" not in ward.stdout  # no token: no bot to link to
    found = hoctap(tmp_path, "units", "list", "--commune", "hoan kiem")  # no diacritics
    assert found.returncode == 0, found.stderr
    admin = hoctap(tmp_path, "admin", "42")
    assert "Vai trò: quản trị viên." in admin.stdout


async def test_an_invite_printed_with_a_token_carries_the_bots_deep_link(tmp_path: Path) -> None:
    assert (await asyncio.to_thread(hoctap, tmp_path, "init")).returncode == 0
    async with FakeBotApi() as api:
        made = await asyncio.to_thread(
            hoctap,
            tmp_path,
            *("invite", "--role", "officer", "--unit", "00070"),
            HOCTAP_TELEGRAM_TOKEN=api.token,
            HOCTAP_TELEGRAM_BASE_URL=api.base_url,
            NO_PROXY="127.0.0.1,localhost",
        )
    assert made.returncode == 0, made.stderr
    code = made.stdout.split("/join ")[1].split()[0]
    assert f"https://t.me/{api.bot_username}?start={code}" in made.stdout


def test_the_zalo_oa_commands_say_what_is_missing_in_plain_words(tmp_path: Path) -> None:
    unset = hoctap(tmp_path, "zalo-oa", "status")
    assert unset.returncode != 0
    assert "HOCTAP_ZALO_OA_APP_ID" in unset.stderr and "docs/zalo.md" in unset.stderr
    app = {"HOCTAP_ZALO_OA_APP_ID": "2914612812345678901", "HOCTAP_ZALO_OA_SECRET_KEY": "k" * 20}
    assert hoctap(tmp_path, "init", **app).returncode == 0
    status = hoctap(tmp_path, "zalo-oa", "status", **app)
    assert status.returncode != 0
    assert "Chưa được cấp quyền: chạy hoctap zalo-oa link, rồi authorize CODE." in status.stderr
    link = hoctap(tmp_path, "zalo-oa", "link", **app)
    assert link.returncode != 0 and "HOCTAP_ZALO_OA_REDIRECT_URI" in link.stderr
    shown = hoctap(
        tmp_path, "zalo-oa", "link", HOCTAP_ZALO_OA_REDIRECT_URI="https://xa.example.vn/cb", **app
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("https://oauth.zaloapp.com/v4/oa/permission?app_id=2914")
    assert "code_challenge=" in shown.stdout and "redirect_uri=https%3A%2F%2Fxa" in shown.stdout
    polling = hoctap(tmp_path, "run", "--channel", "zalo-oa", **app)
    assert polling.returncode != 0
    assert "Zalo Official Account gửi sự kiện qua webhook: thêm --webhook URL." in polling.stderr


def test_zalo_oa_status_says_when_reminders_are_paused_for_the_quota(tmp_path: Path) -> None:
    app = {"HOCTAP_ZALO_OA_APP_ID": "2914612812345678901", "HOCTAP_ZALO_OA_SECRET_KEY": "k" * 20}
    assert hoctap(tmp_path, "init", **app).returncode == 0
    import sqlite3

    with sqlite3.connect(tmp_path / "hoctap.db") as db:  # a used-up quota, paused till the 1st
        db.execute(
            "INSERT INTO leases (name, holder, until) VALUES ('quota:zalo-oa', 'held', ?)",
            ("2999-01-01 00:00:00.000000",),
        )
    status = hoctap(tmp_path, "zalo-oa", "status", **app)
    assert "Nhắc việc và thông báo đang tạm dừng đến " in status.stdout
    assert "hoctap zalo-oa resume" in status.stdout
    resumed = hoctap(tmp_path, "zalo-oa", "resume", **app)
    assert resumed.returncode == 0, resumed.stderr
    assert "đang tạm dừng" not in hoctap(tmp_path, "zalo-oa", "status", **app).stdout


def test_learning_units_are_added_listed_moved_and_their_heads_invited(tmp_path: Path) -> None:
    assert hoctap(tmp_path, "init").returncode == 0
    added = hoctap(tmp_path, "organisations", "add", "--commune", "00070", "--kind", "school",
                   "--name", "Trường Tiểu học Hoàn Kiếm", "--staff", "30")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "Đã thêm đơn vị học tập 1: Trường Tiểu học Hoàn Kiếm" in added.stdout
    listed = hoctap(tmp_path, "organisations", "list", "--commune", "00070")
    assert listed.stdout.splitlines() == ["1\tschool\tTrường Tiểu học Hoàn Kiếm\t30"]
    invited = hoctap(tmp_path, "organisations", "invite", "1")
    assert invited.returncode == 0 and "/join " in invited.stdout
    moved = hoctap(tmp_path, "organisations", "move", "1", "--commune", "00073")
    assert moved.returncode == 0, moved.stderr
    assert hoctap(tmp_path, "organisations", "list", "--commune", "00070").stdout == ""
    village = hoctap(tmp_path, "organisations", "add", "--commune", "00070-001", "--kind",
                     "agency", "--name", "X")  # fmt: skip
    assert village.returncode != 0 and village.stderr.count("\n") == 1
