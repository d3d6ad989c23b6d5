"""What every service needs, built once by the composition root and passed explicitly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import TIMEZONE
from conversations.loader import FormRegistry

GDHT = "gia-dinh-hoc-tap"  # Gia đình học tập: the household assessment
# Công dân học tập: the citizen's self-check, one form per group of QĐ 324/QĐ-KHVN
# (bot/services/groups.py): người dân trong xã (the first form shipped, hence the plain key),
# người lao động, cán bộ công nhân viên và doanh nhân, học sinh sinh viên học viên.
CDHT = "cong-dan-hoc-tap"
CDHT_WORKERS = "cong-dan-hoc-tap-lao-dong"
CDHT_STAFF = "cong-dan-hoc-tap-can-bo"
CDHT_PUPILS = "cong-dan-hoc-tap-hoc-sinh"
CDHT_FORMS = (CDHT, CDHT_WORKERS, CDHT_STAFF, CDHT_PUPILS)
CDONG = "cong-dong-hoc-tap"  # Cộng đồng học tập cấp thôn: a village's own assessment
DHHT = "dong-ho-hoc-tap"  # Dòng họ học tập: a clan's
DVHT = "don-vi-hoc-tap"  # Đơn vị học tập: a school's, agency's, enterprise's or cooperative's


def utc_now() -> dt.datetime:
    """The real clock, in UTC (tests pass their own)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Services:
    """The database, the criteria sets and the clock."""

    sessions: async_sessionmaker[AsyncSession]
    forms: FormRegistry
    clock: Callable[[], dt.datetime] = utc_now
    # A link that opens the chat with the bot and sends it an invite code (Telegram's deep
    # link); the runner sets the channel's, None where the platform has none.
    invite_link: Callable[[str], str | None] = lambda _code: None

    def year(self) -> int:
        """The assessment year: the calendar year in Vietnam now."""
        return self.clock().astimezone(TIMEZONE).year
