"""Applying stored updates as they come: oldest first within each chat, several chats at once.

Work comes from the inbox: a ``scan`` reads the pending rows and queues those not yet queued
behind their chat's earlier ones. The webhook ``take``s what it just stored and wakes a scan
(another worker may hold earlier updates of the same chat); the poller, the only one fetching,
``offer``s what it just stored, which saves a read per batch. A scan also runs every
``RETRY_SECONDS`` (rows another worker stored and left, or rows left here while the database
stayed busy). An update that cannot be applied yet stops its chat: the chat's queue is dropped
(the rows stay pending) and none of its updates is queued until a scan, a pause later, starts
again from its oldest pending row, so no later update of a chat overtakes an earlier one.
``fresh`` holds updates already read (just received, or read back together for a replay), so
none is parsed twice.

What applying means is the runner's (``Apply``); this module knows only the inbox's keys.
Must not import any platform library.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.exc import SQLAlchemyError

from bot.runtime.channel import Channel, Incoming
from bot.runtime.waiting import pause
from bot.services.context import Services
from bot.storage import inbox
from bot.storage.db import DatabaseUnavailable

log = logging.getLogger(__name__)
DATABASE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)
RETRY_SECONDS = 5.0  # pause before a held chat or a failed scan is tried again
CHATS_AT_ONCE = 8  # chats applied side by side (each in its own order)
ATTEMPTS = 3  # tries of one update in a row before its chat is held back
# Telegram refuses to answer a callback query older than about 15 seconds ("query is too old");
# an update applied later than this after it came (a backlog, a replay) is not "fresh".
FRESH_SECONDS = 10.0

# Apply one update; True once its row is closed, False to leave it pending (try again later).
Apply = Callable[[Incoming, bool], Awaitable[bool]]


class Dispatcher:
    """Applies stored updates, ``CHATS_AT_ONCE`` chats at a time, in order within each."""

    def __init__(
        self, services: Services, channel: Channel, apply: Apply, stop: asyncio.Event
    ) -> None:
        self.services, self.channel, self.apply, self.stop = services, channel, apply, stop
        self.wake = asyncio.Event()
        self.fresh: dict[int, Incoming] = {}
        self._queues: dict[str, deque[inbox.Waiting]] = {}
        self._chats: dict[str, asyncio.Task[None]] = {}
        self._queued: set[int] = set()
        self._gate = asyncio.Semaphore(CHATS_AT_ONCE)
        self._held: dict[str, float] = {}  # chat -> loop time before which it is not retried
        self._arrived: dict[int, float] = {}  # update id -> loop time it came in, this process
        self._scanning = False
        self._partial = True  # the last scan did not reach every pending row (none ran yet)
        self.applied = 0
        # Called whenever ``busy`` may have changed (a chat is through, a scan is done): a
        # watcher (the end-to-end tests) need not ask again and again.
        self.listeners: list[Callable[[], None]] = []

    def busy(self) -> bool:
        """True while anything stored here is not yet applied and answered: a scan is asked
        for or running, a chat has updates in hand or is held back, or rows wait beyond what
        the last scan read."""
        return (
            self.wake.is_set()
            or self._scanning
            or self._partial
            or bool(self._chats)
            or bool(self._held)
        )

    async def run(self) -> None:
        """Scan whenever woken (and every few seconds) until stopped; then let each chat finish
        the update in hand. Cancelled (out of time), it cancels the chats at once: their
        transactions roll back and the updates replay at the next start."""
        try:
            while not self.stop.is_set():
                self.wake.clear()
                try:
                    await self.scan()
                except DATABASE_ERRORS as error:  # the rows stay pending; the next scan takes them
                    log.error("could not read stored updates: %s", type(error).__name__)
                await pause(self.stop, RETRY_SECONDS, self.wake)
            await self.settle()
        finally:
            chats = list(self._chats.values())
            for chat in chats:
                chat.cancel()
            await asyncio.gather(*chats, return_exceptions=True)

    async def scan(self) -> int:
        """Queue the pending rows not queued yet, and start a task for each chat with work;
        return how many were queued."""
        self._scanning = True
        try:
            async with self.services.sessions() as session:
                rows = await inbox.waiting(session, self.channel.name)
                await session.commit()
        except BaseException:
            self._partial = True  # what is pending is unknown: nothing new may be queued past it
            raise
        finally:
            self._scanning = False
        now = asyncio.get_running_loop().time()
        self._held = {chat: until for chat, until in self._held.items() if until > now}
        queued = sum(self._queue(row) for row in rows)
        for update_id in [u for u in self.fresh if u not in self._queued]:
            del self.fresh[update_id]  # done already (a redelivery), or held back: read again
        # A backlog: rows beyond these wait for later scans (a chat that finishes asks for one),
        # and until a scan reaches them all nothing newer is queued past them.
        self._partial = len(rows) == inbox.PENDING_LIMIT
        self._tell()
        return queued

    def _tell(self) -> None:
        for listener in self.listeners:
            listener()

    def offer(self, stored: Sequence[Incoming], backlog: bool = False) -> None:
        """Queue updates the poller just stored, as a scan would find them; while older rows
        wait beyond the last scan, leave them to scans (they must not overtake). ``backlog``:
        they waited at the platform while no process was running, so they are not fresh."""
        for incoming in stored:
            self._keep(incoming, backlog)
        if self._partial:
            self.wake.set()
            return
        for incoming in stored:
            if not self._queue(inbox.Waiting(incoming.update_id, incoming.chat_key)):
                self.fresh.pop(incoming.update_id, None)

    def take(self, stored: Sequence[Incoming]) -> None:
        """Updates the webhook just stored: keep them read and apply them soon."""
        for incoming in stored:
            self._keep(incoming)
        self.wake.set()

    def _keep(self, incoming: Incoming, backlog: bool = False) -> None:
        if not backlog:
            self._arrived.setdefault(incoming.update_id, asyncio.get_running_loop().time())
        self.fresh[incoming.update_id] = incoming

    def _queue(self, row: inbox.Waiting) -> bool:
        """Queue one stored row behind its chat's earlier ones; False if it is not for now
        (queued already, or its chat is held back)."""
        if row.update_id in self._queued or row.chat_key in self._held:
            return False
        self._queued.add(row.update_id)
        self._queues.setdefault(row.chat_key, deque()).append(row)
        if row.chat_key not in self._chats:
            self._chats[row.chat_key] = asyncio.create_task(self._chat(row.chat_key))
        return True

    async def settle(self) -> None:
        """Wait until no chat task is left (each stops between updates once asked to)."""
        while self._chats:
            await asyncio.gather(*self._chats.values(), return_exceptions=True)

    async def _chat(self, key: str) -> None:
        queue = self._queues[key]
        try:
            async with self._gate:
                while queue and not self.stop.is_set():
                    row = queue[0]
                    if row.update_id not in self.fresh:
                        await self._read_back(queue)
                    incoming = self.fresh.pop(row.update_id, None)
                    fresh = self._is_fresh(row.update_id)
                    if incoming is not None and not await self._apply_with_retries(
                        incoming, fresh
                    ):
                        self._hold(key)  # left pending, with everything after it in this chat
                        break
                    queue.popleft()
                    self._queued.discard(row.update_id)
                    self.applied += 1
        except DATABASE_ERRORS as error:
            log.error("could not apply stored updates: %s", type(error).__name__)
            self._hold(key)
        except Exception:
            log.exception("applying the updates of a chat failed; they stay pending")
            self._hold(key)
        finally:
            for row in queue:  # not applied here: the rows stay pending for a later scan
                self._queued.discard(row.update_id)
                self.fresh.pop(row.update_id, None)
            del self._queues[key], self._chats[key]
            if self._partial:
                self.wake.set()  # room for rows the last scan did not reach
            self._tell()

    async def _apply_with_retries(self, incoming: Incoming, fresh: bool) -> bool:
        for attempt in range(1, ATTEMPTS + 1):
            if await self.apply(incoming, fresh):
                return True
            log.warning(
                "update %s not applied (attempt %d of %d)", incoming.update_id, attempt, ATTEMPTS
            )
            if attempt < ATTEMPTS:
                await pause(self.stop, 0.2 * attempt)
        return False

    def _is_fresh(self, update_id: int) -> bool:
        """True for an update applied soon after it came in to this process."""
        arrived = self._arrived.pop(update_id, None)
        now = asyncio.get_running_loop().time()
        return arrived is not None and now - arrived <= FRESH_SECONDS

    def _hold(self, key: str) -> None:
        """Leave this chat's pending updates for a scan ``RETRY_SECONDS`` from now."""
        self._held[key] = asyncio.get_running_loop().time() + RETRY_SECONDS

    async def _read_back(self, queue: deque[inbox.Waiting]) -> None:
        """Read the stored payloads of the queued updates not in ``fresh`` (a replay), in one
        query. One gone meanwhile (another worker pruned it) is left out; one that cannot be
        read is closed, logged by id: there is nothing to apply."""
        wanted = [row.update_id for row in queue if row.update_id not in self.fresh]
        async with self.services.sessions() as session:
            payloads = await inbox.payloads_of(session, self.channel.name, wanted)
            broken = []
            for update_id, payload in payloads.items():
                incoming = None
                try:
                    incoming = self.channel.read(json.loads(payload))
                except Exception:
                    log.exception("update %s could not be read", update_id)
                if incoming is None:
                    log.error("update %s cannot be read; closing it unapplied", update_id)
                    broken.append(update_id)
                else:
                    self.fresh[update_id] = incoming
            for update_id in broken:
                await inbox.mark_done(session, self.channel.name, update_id, self.services.clock())
            await session.commit()
