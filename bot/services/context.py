"""What every service needs, built once by the composition root and passed explicitly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import TIMEZONE
from conversations.loader import FormRegistry

CDHT = "cong-dan-hoc-tap"  # Công dân học tập: the citizen's self-check
GDHT = "gia-dinh-hoc-tap"  # Gia đình học tập: the household assessment


def utc_now() -> dt.datetime:
    """The real clock, in UTC (tests pass their own)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Services:
    """The database, the criteria sets and the clock."""

    sessions: async_sessionmaker[AsyncSession]
    forms: FormRegistry
    clock: Callable[[], dt.datetime] = utc_now
    deep_link: str = ""  # e.g. "https://t.me/hoctap_bot?start={code}", set by the channel

    def year(self) -> int:
        """The assessment year: the calendar year in Vietnam now."""
        return self.clock().astimezone(TIMEZONE).year
