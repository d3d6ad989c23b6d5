"""The Zalo Bot Platform adapter the runner drives: long polling or a webhook, numbered text.

What Zalo allows shapes three things the runner does the same for every channel:

- polling: Zalo's getUpdates has no offset and no acknowledgement (see ``client``): an event it
  hands out is gone. The runner commits it before the next fetch; while the database refuses
  it, it is kept in hand and stored again before anything more is fetched. Only a process
  killed between receiving an event and committing it loses it: Zalo's own docs recommend the
  webhook for production for that reason.
- the inbox key: Zalo sends no update id, so it is derived from the message (``adapter``); a
  redelivered event has the same key and is stored once.
- groups: a message in a group chat (``chat_type`` GROUP; the bot hears only those that
  mention it or reply to it) is never applied: it holds nobody's answers. The first one of
  each group this process meets gets the runner's one polite line (``courtesy=GROUP``), sent
  to the group; later ones get nothing, so the bot never floods a group. The groups met are
  kept in memory, at most ``GROUPS_KEPT`` (the oldest forgotten first): after a restart a group
  may hear the line once more.

What the person can type next ("2" for the second choice) is kept with the conversation in the
transaction of the effect, by the router (the channel is ``keyed``). Must not import the
database or the chat flows.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Mapping

from bot.channels.zalo import adapter
from bot.channels.zalo.client import POLL_TIMEOUT, Unauthorized, ZaloClient, ZaloError
from bot.channels.zalo.sender import Sender, remind
from bot.chat.messages import Outbound, Reply
from bot.config import Settings, SettingsError
from bot.rich import Text
from bot.runtime.channel import GROUP, Incoming, Json, Outcome, Refused, Unreachable

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Bot-Api-Secret-Token"
GROUPS_KEPT = 10_000  # groups remembered as told (a few hundred bytes each)


class ZaloChannel:
    """The Zalo Bot Platform, by long polling or webhook."""

    name = adapter.CHANNEL
    keyed = True
    batch = 1  # getUpdates hands out one event per call

    def __init__(self, settings: Settings) -> None:
        self.webhook_answer: Json = {"message": "Success"}
        if settings.zalo_token is None:
            raise SettingsError("HOCTAP_ZALO_TOKEN: set the token from Zalo Bot Creator")
        self.client = ZaloClient(settings.zalo_token.value, settings.zalo_base_url)
        self._closing = asyncio.Event()
        self.sender = Sender(self.client, self._closing)
        self._secret = ""
        # group chat id -> the update that got the courtesy (read again, it gets it again)
        self._groups: dict[str, int] = {}

    async def open(self, webhook_url: str | None, secret: str | None) -> None:
        await self.client.get_me()  # checks the token
        if webhook_url is None:
            await self.client.delete_webhook()  # getUpdates does not work while a webhook is set
            return
        if not 8 <= len(secret or "") <= 256:
            raise SettingsError("HOCTAP_WEBHOOK_SECRET: Zalo needs 8 to 256 characters")
        self._secret = secret or ""
        await self.client.set_webhook(webhook_url, self._secret)

    async def close(self) -> None:
        self._closing.set()
        await self.client.aclose()

    def read(self, raw: Json) -> Incoming | None:
        event = adapter.event_of(raw)
        if event is None:
            return None
        update_id = adapter.update_id_of(event)
        if not adapter.is_private(event):  # stored and closed: no personal answer in a group
            chat_key = adapter.chat_key_of(event)
            courtesy = self._courtesy(chat_key, update_id)
            return Incoming(update_id, chat_key, None, "message in a group", courtesy=courtesy)
        inbound = adapter.inbound_of(event, update_id)
        return Incoming(
            update_id, adapter.chat_key_of(event), inbound, event.get("event_name", "")
        )

    def _courtesy(self, group: str, update_id: int) -> str:
        """``GROUP`` for the first message of a group this process meets, "" for later ones."""
        first = self._groups.get(group)
        if first is None:
            if len(self._groups) >= GROUPS_KEPT:
                del self._groups[next(iter(self._groups))]  # the one met longest ago
            self._groups[group] = first = update_id
        return GROUP if first == update_id else ""

    async def fetch(self) -> list[Json]:
        try:
            body = await self.client.get_update(POLL_TIMEOUT)
        except Unauthorized:
            raise
        except ZaloError as error:  # no documented time to wait: the runner's growing pause
            raise Unreachable(str(error.code)) from error
        return _events(body)

    def fetched(self, raws: list[Json]) -> None:
        """Nothing to acknowledge: Zalo hands each event out once."""

    def webhook_updates(self, headers: Mapping[str, str], body: bytes) -> list[Json]:
        given = headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret.encode()):
            raise Refused(403, "wrong secret")
        try:
            found = json.loads(body)
        except ValueError:
            raise Refused(400, "not JSON") from None
        # Not a message to answer (another kind of event): acknowledged and left.
        return _events(found)

    async def show(self, incoming: Incoming, out: Outbound, fresh: bool) -> str:
        return await self.sender.send(incoming.chat_key, out)

    async def tell(self, incoming: Incoming, text: Text) -> None:
        await self.sender.send(incoming.chat_key, Outbound([Reply(text)]))

    async def remind(self, chat_id: str, reply: Reply) -> Outcome:
        return await remind(self.client, chat_id, reply)

    def invite_link(self, code: str) -> str | None:
        return None  # a Zalo bot has no link that carries a code: /join CODE is typed


def _events(body: object) -> list[Json]:
    """The event a body holds, if it is a message to answer; anything else is left, with a
    log line that names its kind and never its content."""
    event = adapter.event_of(body)
    if event is None:
        if body not in (None, {}, {"ok": True}):  # an empty poll is no event to speak of
            log.warning("zalo: an event left unanswered (%s)", adapter.kind_of(body))
        return []
    return [event]
