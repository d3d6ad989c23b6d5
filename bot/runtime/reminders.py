"""The one periodic job: plan the campaigns' reminders and send what is due, at a steady pace.

Every ``every`` seconds (and at once when woken) one process per channel — the holder of the
channel's lease, so two webhook workers never both send — plans the campaigns, then sends the
due reminders in batches:

- **Pace.** ``Pacer`` spaces sends evenly: ``rate`` per second overall (28 by default, under
  Telegram's 30, leaving room for the bot's answers) and one per second per chat. A burst is
  never sent and then corrected by 429s: python-telegram-bot 22.8's AIORateLimiter drew 96
  answers of 429 on 600 messages against a fake API enforcing 30/s, an even pace none.
- **Refusals.** ``retry_after`` (Telegram's 429; the Zalo bot's quota, waited out an hour at a
  time) pauses the whole channel for that long and the message goes again; a used-up monthly
  quota (a Zalo OA's -211) holds the channel's reminders for every process until the next month
  (``leases.hold``); a person the OA may not write to now (silent for a week) keeps the reminder
  due until they write; a person who blocked the bot is marked and skipped from then on; a
  network failure is tried again later (``reminders.MAX_ATTEMPTS``).
- **Exactly once.** A row is closed in its own transaction right after the messenger answered.
  A clean stop lets the sends in flight finish and close. The one window left is a kill -9
  between the messenger's answer and that commit (a few milliseconds per message, at most
  ``in_flight`` messages): those are sent again after the restart. We choose that over the
  opposite (closing first, and losing the message if the process dies before sending),
  because a reminder repeated once is a smaller harm than a deadline never heard of.

Holds no SQL and no texts: the rows are ``bot/services/reminders.py``'s, the words
``bot/chat/reminders.py``'s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.chat import reminders as wording
from bot.chat.messages import Reply
from bot.config import Settings
from bot.i18n import TIMEZONE
from bot.runtime.channel import Outcome
from bot.runtime.waiting import pause, run_until_stopped
from bot.services import housekeeping, reminders
from bot.services.context import Services
from bot.storage import leases
from bot.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
DATABASE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)
LEASE_SECONDS = 30.0  # renewed with every batch and every round (10 s)
RETRY_IN = dt.timedelta(minutes=2)  # times the attempt number, after a network failure
RECORD_ATTEMPTS = 5


Send = Callable[[str, Reply], Awaitable[Outcome]]


class Pacer:
    """Even spacing: ``rate`` sends a second overall, ``chat_interval`` seconds per chat."""

    def __init__(
        self,
        rate: float,
        chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval, self.chat_interval, self.clock = 1.0 / rate, chat_interval, clock
        self._next = 0.0
        self._held_until = 0.0
        self._chats: dict[str, float] = {}

    async def slot(self, chat: str) -> None:
        """Wait for this chat's turn."""
        now = self.clock()
        start = max(now, self._next, self._held_until, self._chats.get(chat, 0.0))
        self._next = start + self.interval
        self._chats[chat] = start + self.chat_interval
        if len(self._chats) > 50_000:  # forget chats whose pause is over
            self._chats = {c: t for c, t in self._chats.items() if t > now}
        if start > now:
            await asyncio.sleep(start - now)

    def held_for(self) -> float:
        """Seconds left of a ``retry_after`` pause (0 when none)."""
        return max(0.0, self._held_until - self.clock())

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (a ``retry_after``)."""
        self._held_until = max(self._held_until, self.clock() + seconds)


def holder_name() -> str:
    """This process, as the holder of a lease."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Deliverer:
    """Plans and sends the reminders of one channel."""

    def __init__(
        self,
        services: Services,
        channel: str,
        send: Send,
        *,
        rate: float = 28.0,
        chat_interval: float = 1.0,
        every: float = 10.0,
        plan_every: float = 300.0,
        in_flight: int = 8,
        batch: int = 100,
        keyed: bool = False,
        inbox_retention: dt.timedelta | None = None,
    ) -> None:
        self.services, self.channel, self.send = services, channel, send
        self.pacer = Pacer(rate, chat_interval)
        self.every, self.plan_every, self.batch = every, plan_every, batch
        self.in_flight, self.keyed = in_flight, keyed
        self.inbox_retention = inbox_retention  # handled raw updates older than this go
        self.holder = holder_name()
        self.wake = asyncio.Event()
        self._planned_at: float | None = None
        self._sent = 0
        self._quota_hit = False
        self._flying: dict[int, asyncio.Task[bool]] = {}

    @classmethod
    def configured(
        cls, settings: Settings, services: Services, channel: str, send: Send, keyed: bool = False
    ) -> Deliverer:
        """The job of a channel's runner, at the rate and inbox retention of the settings."""
        return cls(
            services,
            channel,
            send,
            rate=settings.reminder_rate,
            keyed=keyed,
            inbox_retention=dt.timedelta(days=settings.inbox_retention_days),
        )

    @property
    def lease(self) -> str:
        return f"reminders:{self.channel}"

    async def run(self, stop: asyncio.Event) -> None:
        """Run rounds until ``stop`` is set; database trouble only delays the next round."""
        try:
            while not stop.is_set():
                self.wake.clear()
                try:
                    await self.round(stop)
                except DATABASE_ERRORS as error:
                    log.error("reminders: database unavailable (%s)", type(error).__name__)
                await pause(stop, self.every, self.wake)
        finally:
            await self.close()

    async def close(self) -> None:
        """Give the lease back, so a restarted process sends at once (after a crash, the lease
        lapses by itself within ``LEASE_SECONDS``)."""
        try:
            async with self.services.sessions() as session:
                await leases.give_back(session, self.lease, self.holder)
                await session.commit()
        except DATABASE_ERRORS:
            log.info("reminders: lease not given back; it lapses in %.0f s", LEASE_SECONDS)

    async def round(self, stop: asyncio.Event | None = None) -> int:
        """Plan, then send everything due; return how many went. Does nothing while another
        process holds the lease. Campaigns are planned every ``plan_every`` seconds; the
        count of a finished broadcast with every batch, so its author hears at once.

        The next batch is fetched while the current one goes out (leaving out the rows still
        in flight), so the pace never waits for the database."""
        stop = stop or asyncio.Event()
        self._sent, self._flying, self._quota_hit = 0, {}, False
        slots = asyncio.Semaphore(self.in_flight)
        if self.pacer.held_for() > self.every:  # a long retry_after (the Zalo bot's quota)
            return 0
        batch = await self._next_batch(plan_all=True)
        try:
            while batch and not self._stopped(stop):
                upcoming = asyncio.create_task(self._next_batch(plan_all=False, after=batch))
                for item in batch:
                    if self._stopped(stop):
                        break  # the rest waits for a later round; the lease is not held idle
                    await slots.acquire()  # a free slot first, then the pace: no bunching
                    await self.pacer.slot(item.chat_id)
                    task = asyncio.create_task(self._deliver(item))
                    task.add_done_callback(lambda _task: slots.release())
                    self._flying[item.reminder_id] = task
                batch = await upcoming
                self._flying = {i: t for i, t in self._flying.items() if not t.done()}
                if not batch:  # what is in flight may free rows ("wait") or finish a broadcast
                    await self._land()
                    batch = [] if stop.is_set() else await self._next_batch(plan_all=False)
        finally:
            await self._land()  # a clean stop lets the sends in flight finish and close
        return self._sent

    def _stopped(self, stop: asyncio.Event) -> bool:
        """This round ends: a stop, a long pause asked for, or the month's quota used up."""
        return stop.is_set() or self._quota_hit or self.pacer.held_for() > self.every

    async def _land(self) -> None:
        flying, self._flying = list(self._flying.values()), {}
        await asyncio.gather(*flying)

    async def _next_batch(
        self, plan_all: bool, after: list[wording.Due] | None = None
    ) -> list[wording.Due]:
        """Renew the lease (nothing, if another process has it), plan, fetch what is due;
        nothing while the channel's monthly quota is used up."""
        if not await self._renew(plan_all):
            return []
        if await self._quota_held():
            return []
        busy = {item.reminder_id for item in after or []}
        busy |= {ident for ident, task in self._flying.items() if not task.done()}
        async with self.services.sessions() as session:
            due = await wording.due(
                session, self.channel, self.services.clock(), self.batch, exclude=busy
            )
            await session.commit()
        return due

    @property
    def quota_hold(self) -> str:
        return reminders.quota_hold(self.channel)

    async def _quota_held(self) -> bool:
        async with self.services.sessions() as session:
            until = await leases.held_until(session, self.quota_hold, self.services.clock())
        return until is not None

    async def _hold_for_quota(self) -> None:
        """The month's messages are used up: nothing more goes until the next month, in any
        process, also after a restart (the rows stay due)."""
        until = reminders.quota_resets(self.services.clock())
        async with self.services.sessions() as session:
            await leases.hold(session, self.quota_hold, until)
            await session.commit()
        log.error(
            "reminders: %s's monthly message quota is used up; the rest wait until %s",
            self.channel,
            until.isoformat(),
        )

    async def _renew(self, plan_all: bool) -> bool:
        async with self.services.sessions() as session:
            now = self.services.clock()
            if not await leases.take(session, self.lease, self.holder, now, LEASE_SECONDS):
                await session.commit()
                return False
            moment = time.monotonic()
            if plan_all and (
                self._planned_at is None or moment - self._planned_at >= self.plan_every
            ):
                added = await reminders.plan(session, now)
                self._planned_at = moment
                if added:
                    log.info("reminders: %d planned", added)
            else:
                await reminders.plan_reports(session, now)
                plan_all = False
            await session.commit()
        if plan_all:
            await self._housekeeping(now)
        return True

    async def _housekeeping(self, now: dt.datetime) -> None:
        """With the campaigns, every ``plan_every`` seconds: keep the report totals fresh, and
        delete handled raw updates past their retention."""
        year = now.astimezone(TIMEZONE).year
        recounted = await housekeeping.keep_totals_fresh(self.services.sessions, year)
        if recounted:
            log.info("reports: %d units recounted", recounted)
        if self.inbox_retention is not None:
            older_than = now - self.inbox_retention
            gone = await housekeeping.prune_inbox(self.services.sessions, self.channel, older_than)
            if gone:
                log.info(
                    "inbox: %d handled updates older than %s deleted", gone, self.inbox_retention
                )

    async def _deliver(self, item: wording.Due) -> bool:
        try:
            outcome = await self.send(item.chat_id, item.reply)
        except Exception:  # a bug in rendering must not stop the other reminders
            log.exception("reminders: sending %s failed", item.reminder_id)
            outcome = Outcome("retry")
        if outcome.result == "wait":
            self.pacer.hold(outcome.wait)
            log.warning("reminders: %s asks to wait %.0f s", self.channel, outcome.wait)
            return False  # the row stays due and goes in the next batch
        if outcome.result == "quota":
            await self._safely(self._hold_for_quota)
            self._quota_hit = True  # the rest of this round waits too
            return False
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                async with self.services.sessions() as session:
                    now = self.services.clock()
                    if outcome.result == reminders.HELD:
                        await reminders.record(session, item.reminder_id, reminders.HELD, now)
                    elif outcome.result == "retry":
                        await reminders.record(session, item.reminder_id, "retry", now, RETRY_IN)
                    else:
                        await reminders.record(
                            session, item.reminder_id, outcome.result, now, keys=self._keys(item)
                        )
                    await session.commit()
                break
            except DATABASE_ERRORS as error:
                log.warning(
                    "reminders: closing %s failed (%s), attempt %d",
                    item.reminder_id,
                    type(error).__name__,
                    attempt,
                )
                await asyncio.sleep(0.2 * attempt)
        if outcome.result == "sent":
            self._sent += 1
            return True
        return False

    async def _safely(self, work: Callable[[], Awaitable[None]]) -> None:
        for attempt in range(1, RECORD_ATTEMPTS + 1):
            try:
                await work()
                return
            except DATABASE_ERRORS as error:
                log.warning("reminders: %s (attempt %d)", type(error).__name__, attempt)
                await asyncio.sleep(0.2 * attempt)

    def _keys(self, item: wording.Due) -> dict[str, str] | None:
        """Where there are no buttons: what typing 1, 2, … after this reminder means."""
        if not self.keyed or not item.reply.buttons:
            return None
        choices = item.reply.choices()
        return dict(zip(item.reply.keys(), (b.data for b in choices), strict=True))


async def finish(stop: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Stop the reminders with the channel (also when the channel's own task failed): the
    sends in flight get a grace period to finish and close their rows."""
    stop.set()
    await run_until_stopped(stop, task)
