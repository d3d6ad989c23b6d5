"""Settings as read from the environment: the inbox retention, the SQLite busy wait, and their
lower bounds."""

from __future__ import annotations

import pytest

from bot.config import SettingsError, load_settings


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
