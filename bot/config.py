"""Settings: one typed, frozen object read once from ``HOCTAP_*`` variables and a ``.env`` file.

Nothing here is created at import time; ``load_settings()`` is called by the composition root and
the object is passed explicitly. Must not import the bot, storage or any platform library.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "HOCTAP_"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///hoctap.db"
SUPPORTED_LOCALES = ("vi", "en")
# Values copied from examples that must never reach production.
PLACEHOLDER_SECRETS = frozenset({"changethis", "changeme", "your-token-here", "xxx"})


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Secret:
    """A value that never shows in logs, reprs or tracebacks."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    """Everything the product reads from its environment."""

    database_url: str = DEFAULT_DATABASE_URL
    # SQLite: how long a statement waits for another process's lock before the person is told
    # the system is busy (the update stays stored and is applied once the database frees up).
    database_busy_ms: int = 5000
    locale: str = "vi"
    telegram_token: Secret | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    # Messages per second the bot allows itself (Telegram's limit is about 30); 0 turns the
    # client-side throttle off, and a 429 from Telegram is still waited out and retried.
    telegram_max_rate: int = 30
    # Reminders and broadcasts per second, evenly spaced (below Telegram's 30, so the bot's
    # answers to people still fit beside a broadcast); one per second per chat regardless.
    reminder_rate: int = 28
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443
    webhook_secret: Secret | None = None
    zalo_token: Secret | None = None
    zalo_base_url: str = "https://bot-api.zaloplatforms.com/bot"
    # Zalo Official Account (``--channel zalo-oa``, docs/zalo.md): the app that is linked to
    # the commune's OA, its secret key (OAuth; also the key the stored tokens are encrypted
    # with), and the OA secret key of the webhook settings (signs every event).
    zalo_oa_app_id: str = ""
    zalo_oa_secret_key: Secret | None = None
    zalo_oa_webhook_key: Secret | None = None
    # Where the OA's authorisation page sends the administrator back (the app's callback URL).
    zalo_oa_redirect_uri: str = ""
    zalo_oa_api_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_url: str = "https://oauth.zaloapp.com"
    log_level: str = "INFO"
    # Days a done inbox row (a raw update: personal data) is kept. At least 1: Telegram resends
    # an unacknowledged update for up to a day, and the kept row is what makes the copy harmless.
    inbox_retention_days: int = 7


def read_env_file(path: Path) -> dict[str, str]:
    """Read ``KEY=value`` lines of a ``.env`` file; comments and blank lines are ignored."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise SettingsError(f"{path}:{number}: expected KEY=value")
        values[key.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
    return values


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> Settings:
    """Build the settings from a ``.env`` file overlaid by the process environment."""
    merged = read_env_file(env_file) if env_file is not None else {}
    merged.update(os.environ if environ is None else environ)
    raw = {k[len(PREFIX) :].lower(): v for k, v in merged.items() if k.startswith(PREFIX)}
    known = {f for f in Settings.__dataclass_fields__}
    kwargs: dict[str, object] = {}
    for name, value in raw.items():
        if name not in known or value == "":
            continue
        kwargs[name] = _convert(name, value)
    settings = Settings(**kwargs)  # type: ignore[arg-type]
    _check(settings)
    return settings


def _convert(name: str, value: str) -> object:
    kind = Settings.__dataclass_fields__[name].type
    if "Secret" in str(kind):
        if value.strip().lower() in PLACEHOLDER_SECRETS:
            raise SettingsError(
                f"{PREFIX}{name.upper()}: replace the example value with a real one"
            )
        return Secret(value.strip())
    if kind in ("int", int):
        try:
            return int(value)
        except ValueError:
            raise SettingsError(f"{PREFIX}{name.upper()}: expected a whole number") from None
    return value.strip()


def _check(settings: Settings) -> None:
    if settings.locale not in SUPPORTED_LOCALES:
        raise SettingsError(f"{PREFIX}LOCALE: expected one of {', '.join(SUPPORTED_LOCALES)}")
    if settings.reminder_rate < 1:
        raise SettingsError(f"{PREFIX}REMINDER_RATE: expected at least 1 message per second")
    if "://" not in settings.database_url:
        raise SettingsError(f"{PREFIX}DATABASE_URL: expected a URL like {DEFAULT_DATABASE_URL}")
    if settings.database_busy_ms < 1:
        raise SettingsError(f"{PREFIX}DATABASE_BUSY_MS: expected at least 1 (milliseconds)")
    if settings.inbox_retention_days < 1:
        raise SettingsError(f"{PREFIX}INBOX_RETENTION_DAYS: expected at least 1 (days)")
