"""Sending answers to Zalo: rendering, pauses for the rate limit, and the monthly quota.

A free bot may send 3,000 messages a month (``docs/zalo.md``). When Zalo refuses a send for the
quota, that is logged once (and again only after sends worked in between); the rest of that
answer is dropped and never retried, since every try would be refused the same way. Inbound
messages are the runner's business and go on regardless: nothing a person typed is lost, and
they see the right question once the quota resets. Must not import the database.
"""

from __future__ import annotations

import asyncio
import logging

from bot.channels.zalo import adapter
from bot.channels.zalo.client import (
    Blocked,
    NetworkError,
    QuotaExceeded,
    RateLimited,
    ZaloClient,
    ZaloError,
)
from bot.chat.messages import Outbound, Reply
from bot.runtime.channel import AGAIN, SHOWN, UNDELIVERABLE, Outcome
from bot.runtime.waiting import pause

log = logging.getLogger(__name__)
SEND_ATTEMPTS = 3  # tries of one message refused for the rate or the network
MAX_WAIT = 30.0  # longest pause asked for by a rate limit that is honoured
QUOTA_WAIT = 3600.0  # reminders wait this long, then try again, once the quota is used up


class Sender:
    """Sends answers; a used-up quota is reported once and what it refuses is dropped."""

    def __init__(self, client: ZaloClient, stop: asyncio.Event) -> None:
        self.client, self.stop = client, stop
        self.quota_reached = False

    async def send(self, chat_id: str, out: Outbound) -> str:
        """Send every message of one answer, in order; give up the rest after a refusal.
        Return the runner's outcome (``AGAIN`` when the network or the rate kept failing)."""
        for message in adapter.render(out):
            outcome = await self._deliver(chat_id, message)
            if outcome != SHOWN:
                return outcome
        return SHOWN

    async def _deliver(self, chat_id: str, message: adapter.Outgoing) -> str:
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._post(chat_id, message)
            except QuotaExceeded:
                self._quota_refused()
                return UNDELIVERABLE
            except Blocked:
                log.info("a Zalo chat cannot receive the bot's messages (blocked)")
                return UNDELIVERABLE
            except (RateLimited, NetworkError) as error:
                wait = getattr(error, "retry_after", None) or float(attempt)
                log.warning("Zalo send refused (%s); again in %.0f s", error.code, wait)
                await pause(self.stop, min(wait, MAX_WAIT))
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

    async def _post(self, chat_id: str, message: adapter.Outgoing) -> None:
        if isinstance(message, adapter.Text):
            await self.client.send_message(chat_id, message.text)
            return
        try:
            await self.client.send_photo(
                chat_id, message.content, message.filename, message.caption
            )
        except (QuotaExceeded, Blocked, RateLimited, NetworkError):
            raise
        except ZaloError as error:  # the upload was refused: the caption still says it all
            log.info("Zalo refused the photo (%s); sending its text", error.code)
            for part in adapter.split(f"{message.caption}\n📎 {message.filename}"):
                await self.client.send_message(chat_id, part)

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
        for message in adapter.render(Outbound([reply])):
            if isinstance(message, adapter.Text):
                await client.send_message(chat_id, message.text)
    except QuotaExceeded:
        log.error("Zalo message quota reached: reminders wait and are tried again hourly")
        return Outcome("wait", QUOTA_WAIT)
    except Blocked:
        return Outcome("blocked")
    except RateLimited as error:
        return Outcome("wait", error.retry_after or 1.0)
    except NetworkError:
        return Outcome("retry")
    except ZaloError as error:
        log.warning("Zalo refused a reminder: %s %s", error.code, error.description)
        return Outcome("failed")
    return Outcome("sent")
