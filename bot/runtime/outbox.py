"""Replies that survive a crash: the answer kept with an update's effect is sent after the
commit and marked sent; at start-up, the answers a crash kept from their people go out.

The router keeps each answer on its inbox row, in the transaction of the effect
(``inbox.keep_reply``). After the commit the runner hands it here: its files are rendered
(``files.Drawer``, in a worker process), the channel shows it, and the row is marked replied.
Marks are committed in groups (one transaction for all that were shown meanwhile), so a busy
bot pays one commit for many replies.

What a kill can leave, and what happens to it:

- killed after the commit, before the reply was shown: the row has a reply and no
  ``replied_at``; ``replay`` at the next start shows it, so the person's screen shows where
  they stand. A reply that only rewrote a tapped message is left out when a later kept reply
  rewrites the same message (it is superseded: showing both would flash the older screen).
- killed after the reply was shown, before its mark committed (milliseconds): the reply is
  shown again at the next start. An edit shown twice changes nothing on screen; a new message
  would show twice. There is no way round that window, since no messenger takes an idempotency
  key: we choose a rare repeat over a reply that never comes.

The periodic ``sweep`` sends what another worker left (it died) or what the platform did not
take (``AGAIN``, a network failure), once those are older than ``SWEEP_AGE``: a live worker
marks its own well within that. Must not import any platform library.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from bot.chat.messages import Outbound, decode
from bot.runtime.channel import AGAIN, UNDELIVERABLE, Channel, Incoming
from bot.runtime.files import Drawer
from bot.runtime.waiting import pause
from bot.services.context import Services
from bot.storage import inbox

log = logging.getLogger(__name__)
SWEEP_AGE = dt.timedelta(seconds=60)  # unsent this long after its commit: not a live one's
MARK_ATTEMPTS = 5


class Outbox:
    """Sends the answers kept with their updates, and remembers which went."""

    def __init__(self, services: Services, channel: Channel) -> None:
        self.services, self.channel = services, channel
        self._marks: set[int] = set()
        self._marked = asyncio.Event()
        self._flushing: asyncio.Task[None] | None = None
        self.drawer = Drawer()

    async def send(self, incoming: Incoming, out: Outbound, fresh: bool, kept: bool) -> None:
        """Show the answer; mark it replied when it was ``kept`` with the update (unless the
        platform could not be reached: then a later sweep sends it again)."""
        try:
            out = await self.drawer.rendered(out)  # a file that fails is left out, and said so
        except Exception:  # the worker failed twice: the texts still go
            log.exception("update %s: its files could not be drawn", incoming.update_id)
            out = _without_files(out)
        try:
            result = await self.channel.show(incoming, out, fresh)
        except Exception:  # a bug in rendering: logged by id, never sent again and again
            log.exception("update %s: its reply could not be shown", incoming.update_id)
            result = UNDELIVERABLE
        if kept and result != AGAIN:
            self._mark(incoming.update_id)

    def _mark(self, update_id: int) -> None:
        self._marks.add(update_id)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        """Commit the marks gathered so far, one transaction for all; go on while more came."""
        failures = 0
        while self._marks:
            marks, self._marks = sorted(self._marks), set()
            try:
                async with self.services.sessions() as session:
                    await inbox.mark_replied(
                        session, self.channel.name, marks, self.services.clock()
                    )
                    await session.commit()
            except Exception as error:  # the replies went; at worst they go again after a restart
                failures += 1
                log.warning(
                    "replies not marked sent (%s), attempt %d", type(error).__name__, failures
                )
                self._marks.update(marks)
                if failures >= MARK_ATTEMPTS:
                    return
                await asyncio.sleep(0.1 * failures)

    async def close(self) -> None:
        """Commit the marks still gathered (a clean stop leaves nothing to send again)."""
        self.drawer.close()
        if self._flushing is not None:
            await asyncio.gather(self._flushing, return_exceptions=True)
        if self._marks:
            await self._flush()

    async def replay(self, done_before: dt.datetime | None = None) -> int:
        """Send the kept answers not yet sent, oldest first (with ``done_before``: only those
        of updates applied before then); return how many were shown."""
        async with self.services.sessions() as session:
            rows = await inbox.unsent(session, self.channel.name, done_before)
            await session.commit()
        if not rows:
            return 0
        found = [(row, self._read(row)) for row in rows]
        superseded = _superseded(found)
        shown = 0
        for row, item in found:
            if item is None or row.update_id in superseded:
                self._mark(row.update_id)
                continue
            incoming, out = item
            await self.send(incoming, out, fresh=False, kept=True)
            shown += 1
        if superseded:
            log.info("%d kept replies superseded by later ones", len(superseded))
        return shown

    def _read(self, row: inbox.Unsent) -> tuple[Incoming, Outbound] | None:
        try:
            incoming = self.channel.read(json.loads(row.payload))
            out = decode(row.reply)
        except Exception:  # written by an older release, or damaged: nothing to show
            log.error("update %s: its kept reply cannot be read; dropped", row.update_id)
            return None
        return None if incoming is None else (incoming, out)

    async def sweep(self, stop: asyncio.Event, every: float) -> None:
        """Every ``every`` seconds, send what was left unsent for ``SWEEP_AGE``."""
        while not stop.is_set():
            await pause(stop, every)
            if stop.is_set():
                return
            try:
                sent = await self.replay(self.services.clock() - SWEEP_AGE)
            except Exception as error:
                log.error("could not send the replies left unsent: %s", type(error).__name__)
                continue
            if sent:
                log.info("sent %d replies left unsent", sent)


def _superseded(
    found: Sequence[tuple[inbox.Unsent, tuple[Incoming, Outbound] | None]],
) -> set[int]:
    """The rows whose reply only rewrites a tapped message that a later kept reply of the same
    chat rewrites again."""
    rewritten: set[tuple[str, str]] = set()  # (chat, message) a later reply rewrites
    superseded: set[int] = set()
    for row, item in reversed(found):
        message = _rewrites(item)
        if message is None:
            continue
        key = (row.chat_key, message)
        if key in rewritten and item is not None and len(item[1].replies) == 1:
            superseded.add(row.update_id)
        rewritten.add(key)
    return superseded


def _rewrites(item: tuple[Incoming, Outbound] | None) -> str | None:
    """The message this reply rewrites in place first, if any."""
    if item is None:
        return None
    incoming, out = item
    inbound = incoming.inbound
    if inbound is None or inbound.message_id is None or not out.replies or out.alert:
        return None
    return inbound.message_id if out.replies[0].edit else None


def _without_files(out: Outbound) -> Outbound:
    return replace(out, replies=[replace(reply, attachment=None) for reply in out.replies])
