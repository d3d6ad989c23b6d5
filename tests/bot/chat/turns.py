"""People talking to the bot through the router, turn by turn, for the chat tests of the titles
(villages, clans, learning units): a consented person on the terminal channel, with a role."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import router
from bot.chat.messages import Actor, Inbound, Outbound
from bot.services.context import Services
from bot.services.people import grant
from bot.storage.models import Identity, Person, Unit
from conversations.loader import load_forms

NOW = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)  # 10:00 in Vietnam, year 2026
Sessions = async_sessionmaker[AsyncSession]


class Someone:
    """One person's side of the chat: what they send, and the last answer."""

    def __init__(self, sessions: Sessions, login: str) -> None:
        self.sessions, self.actor = sessions, Actor("terminal", login, login, login, "vi")
        self.last = Outbound()

    async def send(self, **what: object) -> Outbound:
        services = Services(self.sessions, load_forms(), clock=lambda: NOW)
        self.last = await router.handle(services, Inbound(self.actor, **what))  # type: ignore[arg-type]
        return self.last

    async def tap(self, data: str) -> Outbound:
        return await self.send(choice=data)

    async def type(self, text: str) -> Outbound:
        return await self.send(text=text)

    def text(self) -> str:
        return "\n".join(reply.text.plain() for reply in self.last.replies)

    def buttons(self) -> list[str]:
        return [b.data for reply in self.last.replies for row in reply.buttons for b in row]

    def labels(self) -> list[str]:
        return [b.label for reply in self.last.replies for row in reply.buttons for b in row]


async def someone(
    sessions: Sessions, login: str, role: str | None = None, unit: Unit | None = None
) -> Someone:
    """A person who agreed, on the terminal, holding ``role`` over ``unit`` if given."""
    async with sessions() as session:
        person = Person(display_name=login, locale="vi", consent_at=NOW, created_at=NOW)
        session.add(person)
        await session.flush()
        session.add(Identity(person_id=person.id, channel="terminal", external_id=login,
                             chat_id=login, created_at=NOW))  # fmt: skip
        if role is not None and unit is not None:
            await grant(session, person.id, role, unit.id, NOW)
        await session.commit()
    return Someone(sessions, login)
