"""One language layer: gettext catalogs, the per-update locale, and babel formatting.

Catalogs live in ``locales/<lang>/LC_MESSAGES/messages.po``. They are compiled in memory when first
used (``scripts/i18n.py compile`` writes the ``.mo`` files for tools that want them), so a fresh
checkout never runs with a stale or missing ``.mo``. The locale is a ContextVar set per update;
numbers, percentages and dates are formatted with babel for that locale in Asia/Ho_Chi_Minh.
Must not import the bot's services, storage or any platform library.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.numbers import format_percent as _babel_percent

LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "vi"
LOCALES = ("vi", "en")
BABEL_LOCALES = {"vi": "vi_VN", "en": "en_GB"}
TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")

_current: ContextVar[str] = ContextVar("hoctap_locale", default=DEFAULT_LOCALE)


def normalise_locale(code: str | None) -> str:
    """Map a platform language code ("vi-VN", "en_US", None) to one of ours, Vietnamese first."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in LOCALES else DEFAULT_LOCALE


def current_locale() -> str:
    """The locale of the update being handled."""
    return _current.get()


def set_locale(code: str | None) -> None:
    """Set the locale for the rest of this task (one update)."""
    _current.set(normalise_locale(code))


@contextmanager
def use_locale(code: str | None) -> Iterator[str]:
    """Use a locale inside a block, restoring the previous one after."""
    token = _current.set(normalise_locale(code))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


@cache
def translations(lang: str) -> gettext.NullTranslations:
    """Compile one catalog in memory; fuzzy entries are left out, as msgfmt does."""
    po_path = LOCALES_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.is_file():
        return gettext.NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    buffer = BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def _(message: str) -> str:
    """Translate a message into the current locale (format placeholders after this call)."""
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a count into the current locale."""
    return translations(_current.get()).ngettext(singular, plural, n)


def babel_locale(lang: str | None = None) -> Locale:
    """The babel locale for one of our locales (vi -> vi_VN)."""
    return Locale.parse(BABEL_LOCALES[lang or _current.get()])


def format_number(value: float | int, decimals: int = 0) -> str:
    """A number for people: 1.234 in Vietnamese, 1,234 in English."""
    pattern = "#,##0" + ("." + "#" * decimals if decimals else "")
    return format_decimal(value, format=pattern, locale=babel_locale())


def format_percent(ratio: float, decimals: int = 1) -> str:
    """A share (0.734) as a percentage for people: 73,4 % in Vietnamese."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "") + "%"
    return _babel_percent(ratio, format=pattern, locale=babel_locale())


def local_time(moment: datetime) -> datetime:
    """A stored UTC moment in Vietnam's time zone."""
    return moment.astimezone(TIMEZONE)


# One way to write a day in each language, everywhere (chat, spreadsheets, the command line):
# in Vietnamese as administrative documents write it (15/11/2026), in English with the month
# in words (15 Nov 2026), which readers of either day order read alike. babel's own "short"
# patterns have two-digit years, and put the month first in English.
DATE_PATTERNS = {"vi": "dd/MM/yyyy", "en": "d MMM yyyy"}
DAY_OF_YEAR_PATTERNS = {"vi": "dd/MM", "en": "d MMM"}  # a day that comes back each year
TIME_PATTERN = "HH:mm"


def format_datetime(moment: datetime) -> str:
    """A moment for people, in Asia/Ho_Chi_Minh: the time, then the day."""
    return f"{format_time(moment)} {format_date(moment)}"


def format_time(moment: datetime) -> str:
    """The time of day of a moment, in Asia/Ho_Chi_Minh (14:05)."""
    return _babel_datetime(moment, format=TIME_PATTERN, tzinfo=TIMEZONE, locale=babel_locale())


def format_day_of_year(month: int, day: int) -> str:
    """A day that comes back each year (a reporting date), without a year: 30/11, 30 Nov."""
    pattern = DAY_OF_YEAR_PATTERNS.get(_current.get(), DAY_OF_YEAR_PATTERNS[DEFAULT_LOCALE])
    return _babel_date(date(2000, month, day), format=pattern, locale=babel_locale())


def format_date(day: date | datetime) -> str:
    """A day for people (datetimes are first moved to Asia/Ho_Chi_Minh)."""
    if isinstance(day, datetime):
        day = local_time(day).date()
    pattern = DATE_PATTERNS.get(_current.get(), DATE_PATTERNS[DEFAULT_LOCALE])
    return _babel_date(day, format=pattern, locale=babel_locale())


@dataclass(frozen=True)
class Words:
    """The words a commune uses for itself and its villages, in one language ("xã", "thôn"; or
    "ward", "hamlets"): texts take them as placeholders (see ``placeholders``)."""

    commune: str = "xã"
    village: str = "thôn"
    villages: str = "thôn"  # the plural, for English

    def placeholders(self) -> dict[str, str]:
        """``{commune_word}``, ``{village_word}``, ``{villages_word}``, and capitalised to start
        a sentence (``{Village_word}``…)."""
        found = {
            "commune_word": self.commune,
            "village_word": self.village,
            "villages_word": self.villages,
        }
        capital = {name.capitalize(): word[:1].upper() + word[1:] for name, word in found.items()}
        return {**found, **capital}
