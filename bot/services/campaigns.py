"""The built-in reminder campaigns, their defaults, a commune's own settings, and quiet hours.

Which dates are hoctap's own defaults and which come from a public text:

- 15 December is the **province's** deadline toward the Ministry and KHVN (Công văn
  6782/BGDĐT-GDTX, 2015; DOMAIN.md, "Corrections and findings"); texts name it as such;
- the **commune's own reporting date** (to its province) is a setting of each commune, default
  30 November: it is the day of the ``report_deadline`` campaign, and it drives both deadline
  reminders (officers 7 days before it, village leaders 14 days before it, for the households
  still to assess) and their texts;
- the season opening (1 October), the yearly self-check invitation (1 October), the reminder
  offsets and the idle days of a draft (3) are **hoctap's defaults, not from a public text**:
  every one is set per commune with ``hoctap reminders set`` and switched in the officer's
  chat.

Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import TIMEZONE, _, format_day_of_year
from bot.storage.models import CampaignSetting

SEASON_OPEN = "season_open"  # to leaders: the assessment season opens
STALE_DRAFT = "stale_draft"  # to the leader of a draft left unfinished for some days
NOT_ASSESSED = "not_assessed"  # to leaders: households not yet assessed, deadline near
REPORT_DEADLINE = "report_deadline"  # to officers: the report is due, with completeness
SELFCHECK_INVITE = "selfcheck_invite"  # to citizens who agreed: redo the self-check
BROADCAST = "broadcast"  # a commune officer's message
BROADCAST_REPORT = "broadcast_report"  # to that officer: how many got it
ADMIN_ALERT = "admin_alert"  # to the administrators: something only they can repair

CAMPAIGNS = (SEASON_OPEN, STALE_DRAFT, NOT_ASSESSED, REPORT_DEADLINE, SELFCHECK_INVITE)
# Kinds a person can turn off (the count of a broadcast goes to its author regardless).
PERSONAL_KINDS = (*CAMPAIGNS, BROADCAST)
STAFF_KINDS = (SEASON_OPEN, STALE_DRAFT, NOT_ASSESSED, REPORT_DEADLINE)

SEND_HOUR = 8  # campaign reminders fall due at 8:00 in Vietnam on their day
QUIET_FROM, QUIET_UNTIL = 21, 7  # nothing is sent from 21:00 to 7:00 Asia/Ho_Chi_Minh
GRACE_DAYS = 10  # a dated reminder is still planned this many days after its day (new leaders)


@dataclass(frozen=True)
class Campaign:
    """One campaign as a commune has it: on or off, its day ("MM-DD") and/or its days."""

    kind: str
    enabled: bool = True
    day: str | None = None
    days: int | None = None

    def date_in(self, year: int) -> dt.date | None:
        """The day this campaign's reminder falls on in ``year`` (None: not a dated one)."""
        if self.day is None:
            return None
        month, day = (int(part) for part in self.day.split("-"))
        return dt.date(year, month, day) - dt.timedelta(days=self.days or 0)


PROVINCE_DEADLINE = dt.date(2000, 12, 15)  # day and month: CV 6782/BGDĐT-GDTX
REPORT_DAY = "11-30"  # the commune's own reporting date, by default

DEFAULTS: dict[str, Campaign] = {
    SEASON_OPEN: Campaign(SEASON_OPEN, day="10-01"),
    STALE_DRAFT: Campaign(STALE_DRAFT, days=3),
    # `day` is the deadline, the commune's reporting date for both (see ``settings_of``); the
    # reminder goes `days` before it.
    NOT_ASSESSED: Campaign(NOT_ASSESSED, day=REPORT_DAY, days=14),
    REPORT_DEADLINE: Campaign(REPORT_DEADLINE, day=REPORT_DAY, days=7),
    SELFCHECK_INVITE: Campaign(SELFCHECK_INVITE, day="10-01"),
}
DEADLINE_KINDS = (NOT_ASSESSED, REPORT_DEADLINE)


def kind_name(kind: str) -> str:
    """A kind of reminder in plain words."""
    names = {
        SEASON_OPEN: _("The assessment season opens"),
        STALE_DRAFT: _("An assessment left unfinished"),
        NOT_ASSESSED: _("Households not yet assessed"),
        REPORT_DEADLINE: _("The commune's reporting date"),
        SELFCHECK_INVITE: _("Yearly invitation to redo the self-check"),
        BROADCAST: _("Messages from the commune"),
        BROADCAST_REPORT: _("How many got your message"),
        ADMIN_ALERT: _("Alerts for administrators"),
    }
    return names.get(kind, kind)


def describe(campaign: Campaign) -> str:
    """When a campaign's reminder goes, in plain words."""
    if campaign.kind == STALE_DRAFT:
        return _("after {days} days without an answer").format(days=campaign.days)
    if campaign.kind in DEADLINE_KINDS:
        return _("{days} days before the commune reports, on {day}").format(
            days=campaign.days, day=day_text(campaign.day)
        )
    return _("on {day} each year").format(day=day_text(campaign.day))


def day_text(day: str | None) -> str:
    """A stored day of the year ("11-30") as people write it (30/11)."""
    if day is None:
        return ""
    month, date = day.split("-")
    return format_day_of_year(int(month), int(date))


def province_deadline_text() -> str:
    """The province's deadline toward the Ministry, as people write it (15/12)."""
    return format_day_of_year(PROVINCE_DEADLINE.month, PROVINCE_DEADLINE.day)


def parse_day(text: str) -> str:
    """ "1/10", "01-10" (day first, then month) or "10-01" as MM-DD -> "10-01"; ValueError if
    not a real day of a year."""
    cleaned = text.strip().replace(".", "/")
    if "/" in cleaned:
        day, month = cleaned.split("/", 1)
    elif "-" in cleaned:
        month, day = cleaned.split("-", 1)
    else:
        raise ValueError(text)
    parsed = dt.date(2024, int(month), int(day))  # a leap year: 29/2 is a day
    return f"{parsed.month:02d}-{parsed.day:02d}"


async def settings_of(
    session: AsyncSession, commune_ids: list[int]
) -> dict[int, dict[str, Campaign]]:
    """Each commune's campaigns: its own settings over the defaults."""
    result = {commune: dict(DEFAULTS) for commune in commune_ids}
    if not commune_ids:
        return result
    rows = await session.scalars(
        select(CampaignSetting).where(CampaignSetting.unit_id.in_(commune_ids))
    )
    for row in rows:
        base = DEFAULTS.get(row.kind)
        if base is None:
            continue
        result[row.unit_id][row.kind] = replace(
            base,
            enabled=row.enabled,
            day=row.day if row.day is not None else base.day,
            days=row.days if row.days is not None else base.days,
        )
    for own in result.values():  # one reporting date per commune drives both deadlines
        own[NOT_ASSESSED] = replace(own[NOT_ASSESSED], day=own[REPORT_DEADLINE].day)
    return result


async def change(
    session: AsyncSession,
    commune_id: int,
    kind: str,
    now: dt.datetime,
    *,
    enabled: bool | None = None,
    day: str | None = None,
    days: int | None = None,
) -> Campaign:
    """Set a commune's own choice for one campaign; return the campaign as it now stands."""
    if kind not in DEFAULTS:
        raise ValueError(kind)
    row = await session.scalar(
        select(CampaignSetting).where(
            CampaignSetting.unit_id == commune_id, CampaignSetting.kind == kind
        )
    )
    if row is None:
        row = CampaignSetting(unit_id=commune_id, kind=kind, enabled=True, updated_at=now)
        session.add(row)
    if enabled is not None:
        row.enabled = enabled
    if day is not None:
        if DEFAULTS[kind].day is None or kind == NOT_ASSESSED:  # its day is the report date
            raise ValueError(kind)
        row.day = day
    if days is not None:
        if DEFAULTS[kind].days is None or not 0 <= days <= 90:
            raise ValueError(kind)
        row.days = days
    row.updated_at = now
    await session.flush()
    return (await settings_of(session, [commune_id]))[commune_id][kind]


def due_on(day: dt.date) -> dt.datetime:
    """8:00 in Vietnam on ``day``, in UTC."""
    return dt.datetime.combine(day, dt.time(SEND_HOUR), tzinfo=TIMEZONE).astimezone(dt.UTC)


def is_quiet(moment: dt.datetime) -> bool:
    """True from 21:00 to 7:00 in Vietnam: nothing is sent then."""
    hour = moment.astimezone(TIMEZONE).hour
    return hour >= QUIET_FROM or hour < QUIET_UNTIL


def send_time(due_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """When a reminder due at ``due_at`` actually goes: not before now, never in quiet hours."""
    moment = max(due_at, now)
    if not is_quiet(moment):
        return moment
    local = moment.astimezone(TIMEZONE)
    day = local.date() if local.hour < QUIET_UNTIL else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(QUIET_UNTIL), tzinfo=TIMEZONE).astimezone(dt.UTC)


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(TIMEZONE).date()
