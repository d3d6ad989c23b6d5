"""Sending answers and reminders to Zalo: rendering, trying again, and the usage limit.

What the docs give (see ``client``): 403 is an internal server error of Zalo's, so the message
is tried again (a few times at once, then the runner's ``AGAIN``; a reminder gets
``Outcome("retry")``), exactly as when the network fails; nobody is ever taken for blocked, since
no error code says so. 429 is "quota exceeded": the API usage limit is reached (the docs give no
figures and no time to wait). That is logged once (and again only after sends worked in
between); the rest of that answer is dropped and never retried, since every try would be
refused the same way, while a reminder waits an hour and is tried again. Inbound messages are
the runner's business and go on regardless: nothing a person typed is lost, and they see the
right question once the limit resets. Must not import the database.
"""

from __future__ import annotations

import asyncio
import logging

from bot.channels.zalo import adapter
from bot.channels.zalo.client import QuotaExceeded, Transient, ZaloClient, ZaloError
from bot.chat.messages import Outbound, Reply
from bot.runtime.channel import AGAIN, SHOWN, UNDELIVERABLE, Outcome
from bot.runtime.waiting import pause

log = logging.getLogger(__name__)
SEND_ATTEMPTS = 3  # tries of one message that met a server or network failure
QUOTA_WAIT = 3600.0  # reminders wait this long, then try again, once the quota is used up


class Sender:
    """Sends answers; a used-up quota is reported once and what it refuses is dropped."""

    def __init__(self, client: ZaloClient, stop: asyncio.Event) -> None:
        self.client, self.stop = client, stop
        self.quota_reached = False

    async def send(self, chat_id: str, out: Outbound) -> str:
        """Send every message of one answer, in order; give up the rest after a refusal.
        Return the runner's outcome (``AGAIN`` when the server or the network kept failing)."""
        for text in adapter.render(out):
            outcome = await self._deliver(chat_id, text)
            if outcome != SHOWN:
                return outcome
        return SHOWN

    async def _deliver(self, chat_id: str, text: str) -> str:
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self.client.send_message(chat_id, text)
            except QuotaExceeded:
                self._quota_refused()
                return UNDELIVERABLE
            except Transient as error:
                log.warning("Zalo send failed (%s), attempt %d", error.code, attempt)
                if attempt < SEND_ATTEMPTS:
                    await pause(self.stop, float(attempt))
                continue
            except ZaloError as error:
                log.warning("Zalo refused a message: %s %s", error.code, error.description)
                return UNDELIVERABLE
            if self.quota_reached:
                log.warning("Zalo accepts the bot's messages again")
                self.quota_reached = False
            return SHOWN
        log.warning("gave up a Zalo message after %d attempts", SEND_ATTEMPTS)
        return AGAIN

    def _quota_refused(self) -> None:
        if not self.quota_reached:
            log.error(
                "Zalo message quota reached: replies are not sent until it resets; "
                "messages are still received, stored and applied"
            )
        self.quota_reached = True


async def remind(client: ZaloClient, chat_id: str, reply: Reply) -> Outcome:
    """Send one reminder. Unlike answers, a reminder refused for the quota is kept and queued:
    the channel waits an hour and tries again, until the quota resets."""
    try:
        for text in adapter.render(Outbound([reply])):
            await client.send_message(chat_id, text)
    except QuotaExceeded:
        log.error("Zalo message quota reached: reminders wait and are tried again hourly")
        return Outcome("wait", QUOTA_WAIT)
    except Transient as error:  # a server error (403) or the network: later, as it is
        log.warning("Zalo could not take a reminder (%s); it is tried again later", error.code)
        return Outcome("retry")
    except ZaloError as error:
        log.warning("Zalo refused a reminder: %s %s", error.code, error.description)
        return Outcome("failed")
    return Outcome("sent")
