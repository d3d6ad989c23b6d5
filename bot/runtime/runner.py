"""The one inbox runner: every channel's updates are stored, applied once, in order, answered.

A channel adapter (``bot/runtime/channel.py``: Telegram, Zalo, or a test's own) only turns a
platform update into an ``Incoming`` and shows an ``Outbound``; this runner does the rest, the
same for all. Every point the process can die at is safe:

- before the raw update is committed: nothing was acknowledged, so the platform sends it again
  (polling acknowledges a batch only by the next fetch, after the commit; the webhook answers
  200 only after it). A copy of an update already stored is ignored (key: channel, update id).
- after the commit, before or during its effect: the effect, the row's ``done_at`` and the reply
  the effect must show commit in one transaction (``router.handle``), so a death rolls them all
  back and the row stays pending; it is applied at the next start (or by another worker's
  periodic scan), in update id order within each chat.
- after the effect committed, before the reply was shown: the reply is on the row, unsent;
  it is shown at the next start (``outbox``), so the person sees where they stand.

Walking one button tap, file by file, to its committed row and the reply on screen:

1. ``channels/telegram/channel.py`` fetches it (getUpdates) or takes the webhook's POST
   (``runtime/webhook.py``), and reads it into an ``Incoming`` (``channels/telegram/updates.py``);
2. ``runtime/runner.py`` (here) commits it to the inbox (``storage/inbox.py``), acknowledges
   it, and hands it to ``runtime/dispatcher.py``, which queues it behind its chat's earlier
   updates and calls ``apply``;
3. ``chat/router.py`` opens the unit of work, claims the row (``services/people.py``), routes the
   tap to its flow (``chat/answering.py``, which stores the answer through
   ``services/assessing.py``), keeps the reply on the row and commits;
4. ``runtime/outbox.py`` renders the reply's files, has ``channels/telegram/render.py`` show it,
   and marks the row replied.

Two webhook workers may drain the same pending rows: the claim of a row locks it, so the
second waits for the first's transaction and then skips it. Must not import any platform
library: the channel holds those.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from typing import Any

import tornado.httpserver

from bot.chat import router
from bot.config import Settings
from bot.i18n import _, set_locale
from bot.rich import Text, t
from bot.runtime import reminders, webhook
from bot.runtime.channel import GROUP, Channel, Incoming, Json, Unreachable
from bot.runtime.dispatcher import DATABASE_ERRORS, RETRY_SECONDS, Dispatcher
from bot.runtime.outbox import Outbox
from bot.runtime.waiting import pause, run_until_stopped, until_stopped
from bot.services.context import Services
from bot.storage import inbox

log = logging.getLogger(__name__)
ATTEMPTS = 3  # failures of one update (its flow raised) before it is closed unapplied
SWEEP_SECONDS = 30.0  # how often replies left unsent are looked for
Observer = Callable[[Dispatcher], None]  # told the dispatcher once it runs (to watch ``busy``)


class Runner:
    """Runs one channel on the inbox: receive, store, apply, answer, until ``stop``."""

    def __init__(
        self, settings: Settings, services: Services, channel: Channel, stop: asyncio.Event
    ) -> None:
        services = replace(services, invite_link=channel.invite_link)
        self.settings, self.services, self.channel, self.stop = settings, services, channel, stop
        self.dispatcher = Dispatcher(services, channel, self.apply, stop)
        self.outbox = Outbox(services, channel)
        self.reminders = reminders.Deliverer.configured(
            settings, services, channel.name, channel.remind, keyed=channel.keyed
        )
        self._told_busy: set[int] = set()
        self._failures: dict[int, int] = {}

    async def run(self, webhook_url: str | None = None, observe: Observer | None = None) -> None:
        """Connect, send the replies and apply the updates a crash left, then receive (by
        polling, or at ``webhook_url``) until ``stop`` is set."""
        secret = self.settings.webhook_secret.value if self.settings.webhook_secret else None
        await self.channel.open(webhook_url, secret)
        if observe is not None:
            observe(self.dispatcher)
        server: tornado.httpserver.HTTPServer | None = None
        job = asyncio.create_task(self.reminders.run(self.stop))
        try:
            if webhook_url is not None:  # listening first: the platform may call at once
                server = webhook.serve(
                    self.channel,
                    webhook_url,
                    self.settings.webhook_listen,
                    self.settings.webhook_port,
                    self.store,
                    self.dispatcher.take,
                )
            shown = await self.outbox.replay()
            # What a crash left is queued before anything new is fetched, so nothing new
            # overtakes it in its chat; it is applied while fetching goes on.
            try:
                queued = await self.dispatcher.scan()
            except DATABASE_ERRORS as error:  # the dispatcher's scans take them later
                log.error("could not read stored updates: %s", type(error).__name__)
                queued = 0
            log.info(
                "%s: %d kept replies sent, %d stored updates to apply",
                self.channel.name,
                shown,
                queued,
            )
            work = [self.dispatcher.run(), self.outbox.sweep(self.stop, SWEEP_SECONDS)]
            if webhook_url is None:
                work.append(self.poll())
            await run_until_stopped(self.stop, asyncio.create_task(_together(work)))
        finally:
            await reminders.finish(self.stop, job)
            await self.outbox.close()
            if server is not None:
                server.stop()
                await server.close_all_connections()
            await self.channel.close()

    # ----------------------------------------------------------------------------- receiving

    async def poll(self) -> None:
        """Fetch updates, commit them, acknowledge them, hand them on; fetch the next while
        these are applied. Updates the database refuses are kept in hand and stored again
        before anything more is fetched (the platform may never send them again)."""
        unsaved: list[Json] = []
        failures = 0
        behind = True  # what the first fetches bring waited while no process was running
        while not self.stop.is_set():
            if not unsaved:
                try:
                    raws = await until_stopped(self.stop, self.channel.fetch())
                except Unreachable as error:
                    failures += 1
                    delay = error.retry_after or float(min(2 ** (failures - 1), 30))
                    log.warning(
                        "%s: fetching failed (%s); again in %.0f s",
                        self.channel.name,
                        error,
                        delay,
                    )
                    await pause(self.stop, delay)
                    continue
                failures = 0
                if not raws:
                    continue
                unsaved = raws
            try:
                stored = await self.store(unsaved)
            except DATABASE_ERRORS as error:
                log.error("could not store updates: %s", type(error).__name__)
                await pause(self.stop, RETRY_SECONDS)
                continue
            self.channel.fetched(unsaved)
            self.dispatcher.offer(stored, backlog=behind)
            behind = behind and len(unsaved) >= self.channel.batch
            unsaved = []

    async def store(self, raws: Sequence[Json]) -> list[Incoming]:
        """Commit raw updates to the inbox (a redelivered one is kept once); return those
        stored now, read. One without a usable key cannot be stored: it is dropped, logged."""
        kept: list[tuple[Incoming, Json]] = []
        for raw in raws:
            try:
                incoming = self.channel.read(raw)
            except Exception as error:  # a reader's bug must not stop the runner: logged, left
                log.error(
                    "%s: an update could not be read (%s); dropped",
                    self.channel.name,
                    type(error).__name__,
                )
                continue
            if incoming is None:
                log.warning("%s: an update without a usable id was dropped", self.channel.name)
            else:
                kept.append((incoming, raw))
        rows = [
            inbox.Received(i.update_id, i.chat_key, json.dumps(raw, ensure_ascii=False))
            for i, raw in kept
        ]
        new = await inbox.store(
            self.services.sessions, self.channel.name, rows, self.services.clock()
        )
        return [incoming for incoming, _raw in kept if incoming.update_id in new]

    # ----------------------------------------------------------------------------- applying

    async def apply(self, incoming: Incoming, fresh: bool) -> bool:
        """Apply one stored update and show its answer; return True once its row is closed.

        An update no flow takes is closed at once. One whose database stayed busy stays
        pending (the person is told once). One whose flow raised is apologised for once and
        tried again; after ``ATTEMPTS`` failures it is closed unapplied, so that one broken
        update cannot hold up everyone behind it (logged by update id only)."""
        update_id = incoming.update_id
        if incoming.inbound is None:
            log.info("update %s (%s): nothing to apply; closed", update_id, incoming.note or "?")
            if incoming.courtesy == GROUP:
                set_locale(None)  # a group has no language of its own: the default
                await self.channel.tell(incoming, group_line())
            await self._close_unapplied(update_id)
            return True
        try:
            out = await router.handle(self.services, incoming.inbound)
        except router.Busy as busy:
            if update_id not in self._told_busy:  # once: on Zalo every message counts
                self._told_busy.add(update_id)
                await self.channel.tell(incoming, busy.text)
            return False
        except DATABASE_ERRORS:
            raise  # the database is gone: the dispatcher holds the chat
        except Exception:
            return await self._failed(incoming)
        self._told_busy.discard(update_id)
        self._failures.pop(update_id, None)
        if out.redelivered:  # applied before, and answered by whoever applied it
            return True
        if out.wake_reminders:
            self.reminders.wake.set()
        kept = bool(out.replies) or out.notice is not None  # see router: kept with the effect
        await self.outbox.send(incoming, out, fresh, kept)
        return True

    async def _failed(self, incoming: Incoming) -> bool:
        update_id = incoming.update_id
        log.error("update %s failed", update_id, exc_info=True)
        failures = self._failures[update_id] = self._failures.get(update_id, 0) + 1
        if failures == 1:
            set_locale(incoming.inbound.actor.language if incoming.inbound else None)
            await self.channel.tell(
                incoming,
                t(
                    _(
                        "Sorry, something went wrong on our side. Your earlier answers are saved; "
                        "please try again."
                    )
                ),
            )
        if failures < ATTEMPTS:
            return False
        log.error("update %s failed %d times; closing it unapplied", update_id, failures)
        del self._failures[update_id]
        await self._close_unapplied(update_id)
        return True

    async def _close_unapplied(self, update_id: int) -> None:
        async with self.services.sessions() as session:
            await inbox.mark_done(session, self.channel.name, update_id, self.services.clock())
            await session.commit()


def group_line() -> Text:
    """Said in a group chat instead of anything personal."""
    return t(
        _(
            "Hello! hoctap answers each person in their own private chat with it, never in a "
            "group. Please write to it directly."
        )
    )


async def _together(work: list[Coroutine[Any, Any, None]]) -> None:
    """Run these until all end; if one fails, the others are stopped too."""
    tasks = [asyncio.ensure_future(item) for item in work]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run(
    settings: Settings,
    services: Services,
    channel: Channel,
    stop: asyncio.Event,
    webhook_url: str | None = None,
    observe: Observer | None = None,
) -> None:
    """Run ``channel`` until ``stop`` is set: by polling, or at ``webhook_url``."""
    await Runner(settings, services, channel, stop).run(webhook_url, observe)
