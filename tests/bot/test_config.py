"""Settings as read from the environment: the inbox retention and its lower bound."""

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
