"""The Zalo Official Account adapter the runner drives: webhook events in, ``message/cs`` out.

- **Inbound** comes by webhook only (an OA has no polling). Each call is checked against its
  ``X-ZEvent-Signature`` header, ``mac=sha256(app_id + raw body + timestamp + OA secret
  key)``, the OA secret key being the one the app's webhook settings show; a wrong signature,
  or one on an event older than the inbox keeps its rows (so that a replayed copy could no
  longer be recognised), is refused (403) and logged without its body.
- **Tokens**: every call takes its access token from ``TokenKeeper`` (``bot/services/tokens.py``),
  which refreshes it ahead of expiry, once, under a database lock. A token Zalo calls expired
  (-216) anyway is renewed once and the call made again.
- **Refusals**: a person silent for over 7 days (-230) or no longer following (-213) cannot be
  written to: an answer is given up, a reminder waits for their next message (-230) or is
  closed as blocked (-213). A used-up monthly quota (-211) is logged once; reminders then wait
  for the next month. With no usable token at all, answers stay kept and go once an
  administrator has authorised the app again. A message refused for anything else that has
  buttons is sent again as its numbered text alone (the buttons template is the least
  confirmed part of the API); a network failure or -32 (too many calls) is tried twice more,
  a second and then two apart.
- **Names**: events carry none; the first event of a sender this process has not met looks
  their Zalo name up (``user/detail``), so that it is stored with them when they agree.
- **Upkeep**: while the channel is open, the token's expiry is looked at every hour, so a
  quiet OA still renews it (a refresh token unused for three months dies).

Must not import the database or the chat flows.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from bot.channels.zalo_oa import adapter
from bot.channels.zalo_oa.api import (
    IMAGE_LIMIT,
    NetworkError,
    NoInteraction,
    NotFollower,
    OaClient,
    OaError,
    OutOfQuota,
    TokenExpired,
)
from bot.chat.messages import Outbound, Reply
from bot.config import Settings, SettingsError
from bot.i18n import _
from bot.rich import Text
from bot.runtime.channel import (
    AGAIN,
    SHOWN,
    UNDELIVERABLE,
    Incoming,
    Json,
    Outcome,
    Refused,
    Unreachable,
)
from bot.services.tokens import (
    LINK,
    REPAIR,
    TokenDead,
    TokenKeeper,
    Tokens,
    TokensUnavailable,
)

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-ZEvent-Signature"
AHEAD_OF_US = 300_000  # milliseconds an event's time may be ahead of this machine's clock
SEND_ATTEMPTS = 3
RETRY_PAUSE = 1.0  # seconds before the second try of a send, twice that before the third
UPKEEP_SECONDS = 3600.0  # how often the token's expiry is looked at while nothing is sent
NAMES_KEPT = 10_000  # senders whose Zalo name is kept in memory
PARTS_KEPT = 1_000  # answers whose sent part is remembered, to resume after it
CLOSE_SECONDS = 2.0  # how long a stop waits for the name lookups on their way
T = TypeVar("T")


class ZaloOaChannel:
    """A commune's Zalo Official Account, by webhook."""

    name = adapter.CHANNEL
    keyed = True  # the numbered text works everywhere; buttons only where they fit
    batch = 1

    def __init__(
        self,
        settings: Settings,
        keeper: TokenKeeper,
        client: OaClient,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if settings.zalo_oa_webhook_key is None:
            raise SettingsError(
                _(
                    "HOCTAP_ZALO_OA_WEBHOOK_KEY: set the OA secret key of the app's webhook "
                    "settings"
                )
            )
        self.webhook_answer: Json = {"message": "Success"}
        self.app_id = settings.zalo_oa_app_id
        self._webhook_key = settings.zalo_oa_webhook_key.value
        self.keeper, self.client, self.wall_clock = keeper, client, wall_clock
        self.max_age_ms = settings.inbox_retention_days * 86_400_000
        self.quota_reached = False
        self._upkeep: asyncio.Task[None] | None = None
        self.names: OrderedDict[str, str] = OrderedDict()  # Zalo names of recent senders
        self._looking: dict[str, asyncio.Task[None]] = {}
        self._parts: OrderedDict[int, int] = OrderedDict()  # answers kept half-sent: parts sent

    # ------------------------------------------------------------------------- the runner's

    async def open(self, webhook_url: str | None, secret: str | None) -> None:
        if webhook_url is None:
            raise SettingsError(
                _(
                    "A Zalo Official Account sends its events by webhook only: run with "
                    "--webhook URL, and set that URL in the app's webhook settings"
                )
            )
        try:
            await self.keeper.access(self._refresh)
        except TokenDead:
            log.error(
                "zalo-oa: no usable authorisation; events are stored and applied, answers "
                "wait. Run %s, open the page it prints, agree, then run %s",
                LINK,
                REPAIR,
            )
        except OaError as error:  # Zalo unreachable: the first send tries again
            log.warning("zalo-oa: the token could not be refreshed now (%s)", error.code)
        except TokensUnavailable as error:  # the database is busy: the first send tries again
            log.warning("zalo-oa: the tokens could not be read now (%s)", error)
        self._upkeep = asyncio.create_task(self._keep_fresh())
        log.info("zalo-oa: the app's webhook URL must be %s", webhook_url)

    async def close(self) -> None:
        """Let name lookups on their way finish (a moment: cancelled past it), then stop."""
        if self._looking:
            await asyncio.wait(list(self._looking.values()), timeout=CLOSE_SECONDS)
        for task in [self._upkeep, *self._looking.values()]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.client.aclose()

    async def _keep_fresh(self) -> None:
        """Renew the token ahead of expiry even when nothing is sent: a refresh token unused
        for three months dies, and an OA can be quiet that long."""
        while True:
            await asyncio.sleep(UPKEEP_SECONDS)
            try:
                await self.keeper.access(self._refresh)
            except TokenDead:  # said when it died; repaired by authorising again
                continue
            except Exception as error:  # upkeep only: the next send tries again
                log.warning("zalo-oa: token upkeep failed (%s)", type(error).__name__)

    def read(self, raw: Json) -> Incoming | None:
        update_id = adapter.update_id_of(raw)
        person = adapter.person_of(raw)
        if update_id is None or person is None:
            return None
        inbound = adapter.inbound_of(raw, update_id, self.names.get(person, ""))
        return Incoming(update_id, person, inbound, str(raw.get("event_name") or ""))

    async def fetch(self) -> list[Json]:
        raise Unreachable("a Zalo OA has no polling")

    def fetched(self, raws: list[Json]) -> None:
        """Nothing to acknowledge: the webhook's 200 is the acknowledgement."""

    def webhook_updates(self, headers: Mapping[str, str], body: bytes) -> list[Json]:
        try:
            event = json.loads(body)
        except ValueError:
            raise Refused(400, "not JSON") from None
        if not isinstance(event, dict):
            raise Refused(400, "not an event")
        stamp = str(event.get("timestamp") or "")
        given = headers.get(SIGNATURE_HEADER, "").strip().removeprefix("mac=")
        expected = signature(self.app_id, body, stamp, self._webhook_key)
        if not hmac.compare_digest(given.lower().encode(), expected.encode()):
            raise Refused(403, "wrong signature")
        if str(event.get("app_id") or self.app_id) != self.app_id:
            raise Refused(403, "an event of another app")
        moment = int(stamp) if stamp.isdigit() else 0
        now = int(self.wall_clock() * 1000)
        if not now - self.max_age_ms <= moment <= now + AHEAD_OF_US:
            raise Refused(403, "stale signature")
        person = adapter.person_of(event)
        if person is None:  # the OA's own, receipts, groups: nobody's
            log.info("zalo-oa: event %s left", str(event.get("event_name"))[:64])
            return []
        if person not in self.names and person not in self._looking:
            self._looking[person] = asyncio.create_task(self._look_up(person))
        return [event]

    async def _look_up(self, person: str) -> None:
        """Learn a new sender's Zalo name (events carry none), in memory only: it is stored
        with the person, if they agree, like a Telegram name."""
        try:
            name = await self._with_token(lambda token: self.client.display_name(token, person))
        except Exception as error:  # a name is a nicety: the id stands in, asked again later
            log.info("zalo-oa: a name could not be looked up (%s)", type(error).__name__)
            return
        finally:
            self._looking.pop(person, None)
        self.names[person] = name[:200]
        while len(self.names) > NAMES_KEPT:
            self.names.popitem(last=False)

    async def show(self, incoming: Incoming, out: Outbound, fresh: bool) -> str:
        return await self._send_all(incoming.chat_key, out, incoming.update_id)

    async def tell(self, incoming: Incoming, text: Text) -> None:
        try:
            await self._send_all(incoming.chat_key, Outbound([Reply(text)]))
        except Exception:  # best effort, never raises
            log.warning("zalo-oa: a short notice could not be sent", exc_info=True)

    async def remind(self, chat_id: str, reply: Reply) -> Outcome:
        try:
            for message in adapter.render(Outbound([reply])):
                await self._deliver(chat_id, message)
        except NoInteraction:
            return Outcome("held")
        except NotFollower:
            return Outcome("blocked")
        except OutOfQuota:
            return Outcome("quota")
        except (NetworkError, TokensUnavailable):
            return Outcome("retry")
        except TokenDead:
            return Outcome("wait", 600.0)
        except OaError as error:
            log.warning("zalo-oa refused a reminder: %s %s", error.code, error.description)
            return Outcome("failed")
        return Outcome("sent")

    def invite_link(self, code: str) -> str | None:
        return None  # an OA link carries no code: /join CODE is typed

    # ------------------------------------------------------------------------- sending

    async def _send_all(self, user_id: str, out: Outbound, update_id: int | None = None) -> str:
        """Every message of one answer, in order; the rest is given up after a refusal. An
        answer kept to be sent again (``AGAIN``) resumes, in this process, after the messages
        of it that already went (``update_id`` names it)."""
        messages = adapter.render(out)
        done = self._parts.pop(update_id, 0) if update_id is not None else 0
        for index, message in enumerate(messages[done:], start=done):
            outcome = await self._send_one(user_id, message)
            if outcome == AGAIN and update_id is not None and index:
                self._parts[update_id] = index
                while len(self._parts) > PARTS_KEPT:
                    self._parts.popitem(last=False)
            if outcome != SHOWN:
                return outcome
        return SHOWN

    async def _send_one(self, user_id: str, message: adapter.Outgoing) -> str:
        """One message, tried again after a network failure: ``SHOWN``, ``AGAIN`` (later) or
        ``UNDELIVERABLE``."""
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                await self._deliver(user_id, message)
            except (NoInteraction, NotFollower) as error:
                log.info("zalo-oa: a person cannot be written to now (%s)", error.code)
                return UNDELIVERABLE
            except OutOfQuota:
                if not self.quota_reached:
                    log.error(
                        "zalo-oa: the OA's monthly message quota is used up; answers are "
                        "not sent until it resets; messages are still stored and applied"
                    )
                self.quota_reached = True
                return UNDELIVERABLE
            except TokenDead:
                return AGAIN  # kept: sent once the app is authorised again
            except TokensUnavailable:
                log.warning("zalo-oa: the tokens could not be read now; the answer waits")
                return AGAIN  # kept: sent by the next sweep
            except NetworkError as error:
                log.warning("zalo-oa: send failed (%s), attempt %d", error.code, attempt)
                if attempt < SEND_ATTEMPTS:
                    await asyncio.sleep(RETRY_PAUSE * attempt)
                continue
            except OaError as error:
                log.warning("zalo-oa refused a message: %s %s", error.code, error.description)
                return UNDELIVERABLE
            if self.quota_reached:
                log.warning("zalo-oa: the OA's messages are accepted again")
                self.quota_reached = False
            return SHOWN
        return AGAIN

    async def _deliver(self, user_id: str, message: adapter.Outgoing) -> None:
        """Send one message; one Zalo refuses for anything but the person, the quota or the
        token goes again without its buttons (the numbered text says it all)."""
        try:
            await self._deliver_as_is(user_id, message)
        except (NoInteraction, NotFollower, OutOfQuota, TokenExpired, NetworkError):
            raise
        except OaError as error:
            if not (isinstance(message, adapter.Message) and message.buttons):
                raise
            log.warning("zalo-oa refused buttons (%s); sent as text alone", error.code)
            await self._deliver_as_is(user_id, adapter.Message(message.text))

    async def _deliver_as_is(self, user_id: str, message: adapter.Outgoing) -> None:
        if isinstance(message, adapter.Message):
            body = message.body()
            await self._with_token(lambda token: self.client.send(token, user_id, body))
            return
        if len(message.content) > IMAGE_LIMIT:
            log.info("zalo-oa: the chart is over 1 MB; not sent")
            return
        ident = await self._with_token(
            lambda token: self.client.upload_image(token, message.content, message.filename)
        )
        body = {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "attachment_id": ident}],
                },
            }
        }
        await self._with_token(lambda token: self.client.send(token, user_id, body))

    async def _with_token(self, call: Callable[[str], Awaitable[T]]) -> T:
        """Make the call with a valid token; once more with a renewed one if Zalo calls it
        expired (-216)."""
        token = await self.keeper.access(self._refresh)
        try:
            return await call(token)
        except TokenExpired:
            self.keeper.forget()
            token = await self.keeper.renew(self._refresh, stale=token)
            return await call(token)

    async def _refresh(self, refresh_token: str) -> Tokens:
        return await self.client.refresh(refresh_token, self.keeper.clock())


def signature(app_id: str, body: bytes, timestamp: str, key: str) -> str:
    """``sha256(app_id + raw body + timestamp + OA secret key)``, in lowercase hex."""
    joined = app_id.encode() + body + timestamp.encode() + key.encode()
    return hashlib.sha256(joined).hexdigest()
