"""One turn of a conversation: everything a flow needs while handling one inbound message."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat.messages import Inbound, Outbound
from bot.services.context import Services
from bot.services.people import Conversation
from bot.storage.models import Person


@dataclass
class Turn:
    """The open session, the person, where they stand, and the answer being built."""

    session: AsyncSession
    services: Services
    person: Person
    inbound: Inbound
    now: dt.datetime
    conversation: Conversation
    out: Outbound

    @property
    def lang(self) -> str:
        return self.person.locale or "vi"

    @property
    def tapped(self) -> bool:
        """True when the message came from a button, so the reply may edit that message."""
        return self.inbound.choice is not None
