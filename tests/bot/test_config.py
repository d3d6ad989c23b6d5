"""Settings as read from the environment: the inbox retention, the SQLite busy wait, and their
lower bounds; the example file documents exactly the settings there are."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import PREFIX, Settings, SettingsError, load_settings, read_env_file

ROOT = Path(__file__).resolve().parents[2]


def test_inbox_retention_defaults_to_a_week_and_reads_whole_days() -> None:
    assert load_settings({}, env_file=None).inbox_retention_days == 7
    settings = load_settings({"HOCTAP_INBOX_RETENTION_DAYS": "30"}, env_file=None)
    assert settings.inbox_retention_days == 30


@pytest.mark.parametrize("value", ["0", "-3", "a week"])
def test_inbox_retention_below_a_day_or_not_a_number_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="HOCTAP_INBOX_RETENTION_DAYS"):
        load_settings({"HOCTAP_INBOX_RETENTION_DAYS": value}, env_file=None)


def test_the_busy_wait_defaults_to_five_seconds_and_must_be_positive() -> None:
    assert load_settings({}, env_file=None).database_busy_ms == 5000
    assert load_settings({"HOCTAP_DATABASE_BUSY_MS": "200"}, env_file=None).database_busy_ms == 200
    with pytest.raises(SettingsError, match="HOCTAP_DATABASE_BUSY_MS"):
        load_settings({"HOCTAP_DATABASE_BUSY_MS": "0"}, env_file=None)


def test_every_key_of_the_example_file_is_a_setting_and_every_setting_is_in_it() -> None:
    example = read_env_file(ROOT / ".env.example")
    fields = {f"{PREFIX}{name.upper()}" for name in Settings.__dataclass_fields__}
    assert set(example) == fields
    assert load_settings(example, env_file=None) == Settings()  # its values are the defaults
