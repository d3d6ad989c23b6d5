"""A channel's OAuth tokens (Zalo OA): kept encrypted in the database, refreshed once, by one
process at a time.

A Zalo OA access token lives about 25 hours; its refresh token lives about 3 months and can be
spent **once**: two workers refreshing at the same moment would each spend it, and the one
whose answer came second would hold a token Zalo has already replaced, locking the bot out.
So a refresh takes the channel's row under a lock (``SELECT … FOR UPDATE`` on PostgreSQL,
``BEGIN IMMEDIATE`` on SQLite) and, holding it, looks again: if another process refreshed
meanwhile, its new token is used and nothing is spent. The platform call is made with the lock
held (a second or so, once a day) and the new pair committed with it.

The tokens are encrypted with a key derived from the app's secret key, which lives only in the
environment, so a copy of the database alone does not give them away; they never reach a log
or a repr. When the platform refuses the refresh token (expired, or spent by a process that
died before committing the new one), the row is marked dead, the administrators are told with
the one command that repairs it, and every call says so until it is run.

Must not import any platform library.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage.db import DatabaseUnavailable
from bot.storage.models import ChannelToken

log = logging.getLogger(__name__)
AHEAD = dt.timedelta(hours=1)  # an access token is renewed this long before it expires
LINK = "hoctap zalo-oa link"  # prints the OA's authorisation page
REPAIR = "hoctap zalo-oa authorize CODE"  # with the code= that page sends back
DATABASE_ERRORS = (SQLAlchemyError, DatabaseUnavailable, OSError)


@dataclass(frozen=True)
class Tokens:
    """An access token and the refresh token that replaces it, with their expiry."""

    access: str = field(repr=False)
    access_expires_at: dt.datetime
    refresh: str = field(repr=False)
    refresh_expires_at: dt.datetime


class TokenDead(Exception):
    """No usable token: none was ever stored, or the refresh token was refused. Repaired only
    by authorising the app again."""


class TokensUnavailable(Exception):
    """The database holding the tokens could not be read now (busy, or unreachable): the
    call is tried again later, nothing is lost."""


class RefreshRefused(Exception):
    """The platform refused the refresh token (raised by the refresher)."""


Refresher = Callable[[str], Awaitable[Tokens]]  # a refresh token -> the new pair


def cipher(secret: str) -> Fernet:
    """The key the tokens are encrypted with, derived from the app's secret key."""
    digest = hashlib.sha256(b"hoctap channel tokens\0" + secret.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


async def store(
    session: AsyncSession, channel: str, tokens: Tokens, crypt: Fernet, now: dt.datetime
) -> None:
    """Keep a new pair (after an authorisation or a refresh); a dead mark is lifted. The caller
    commits."""
    row = await session.get(ChannelToken, channel, with_for_update=True)
    if row is None:
        row = ChannelToken(channel=channel)
        session.add(row)
    row.access_token = crypt.encrypt(tokens.access.encode()).decode()
    row.refresh_token = crypt.encrypt(tokens.refresh.encode()).decode()
    row.access_expires_at, row.refresh_expires_at = (
        tokens.access_expires_at,
        tokens.refresh_expires_at,
    )
    row.updated_at, row.dead_at = now, None


async def status(session: AsyncSession, channel: str) -> ChannelToken | None:
    """The stored row, for ``hoctap zalo-oa status`` (its tokens stay encrypted)."""
    return await session.get(ChannelToken, channel)


class TokenKeeper:
    """Hands out a valid access token, refreshing it ahead of expiry under the database lock.

    ``on_dead`` is called (once per process) when the refresh token turns out dead, to tell
    the administrators; it gets the session of the transaction that marks it."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channel: str,
        secret: str,
        clock: Callable[[], dt.datetime],
        on_dead: Callable[[AsyncSession, dt.datetime], Awaitable[None]] | None = None,
    ) -> None:
        self.sessions, self.channel, self.clock = sessions, channel, clock
        self.crypt = cipher(secret)
        self.on_dead = on_dead
        self._current: Tokens | None = None
        self.refreshes = 0  # refresh tokens this process spent

    async def access(self, refresher: Refresher) -> str:
        """A valid access token: the one in hand, the stored one, or a fresh one."""
        now = self.clock()
        if self._current is not None and self._current.access_expires_at - AHEAD > now:
            return self._current.access
        return await self.renew(refresher, stale=None)

    async def renew(self, refresher: Refresher, stale: str | None) -> str:
        """Read the stored token under the lock; refresh it when it is near its expiry or is
        ``stale`` (the platform just refused it), unless another process already did. A
        database that cannot be reached (or stays locked) raises ``TokensUnavailable``."""
        try:
            return await self._renew(refresher, stale)
        except DATABASE_ERRORS as error:
            raise TokensUnavailable(type(error).__name__) from error

    async def _renew(self, refresher: Refresher, stale: str | None) -> str:
        async with self.sessions() as session:
            row = await session.scalar(
                select(ChannelToken)
                .where(ChannelToken.channel == self.channel)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
            now = self.clock()
            if row is None or row.dead_at is not None:
                await session.commit()
                raise TokenDead(self.channel)
            try:
                held = self._read(row)
            except InvalidToken:  # the secret key changed: these can no longer be read
                await self._dead(session, row, now, "the stored tokens cannot be decrypted")
                raise TokenDead(self.channel) from None
            if held.access != stale and held.access_expires_at - AHEAD > now:
                await session.commit()  # fresh enough, or just refreshed by another process
                self._current = held
                return held.access
            try:
                fresh = await refresher(held.refresh)
            except RefreshRefused as refused:
                await self._dead(session, row, now, str(refused))
                raise TokenDead(self.channel) from None
            self.refreshes += 1
            await store(session, self.channel, fresh, self.crypt, now)
            await session.commit()
        log.info(
            "%s: access token refreshed; it expires at %s",
            self.channel,
            fresh.access_expires_at.isoformat(),
        )
        self._current = fresh
        return fresh.access

    def forget(self) -> None:
        """The token in hand was refused: read it again (or refresh) at the next call."""
        self._current = None

    def _read(self, row: ChannelToken) -> Tokens:
        return Tokens(
            self.crypt.decrypt(row.access_token.encode()).decode(),
            row.access_expires_at,
            self.crypt.decrypt(row.refresh_token.encode()).decode(),
            row.refresh_expires_at,
        )

    async def _dead(
        self, session: AsyncSession, row: ChannelToken, now: dt.datetime, why: str
    ) -> None:
        row.dead_at = now
        if self.on_dead is not None:
            await self.on_dead(session, now)
        await session.commit()
        log.error(
            "%s: the authorisation can no longer be used (%s). Nothing can be sent until an "
            "administrator "
            "authorises the app again: run %s, open the page it prints, agree, then run %s",
            self.channel,
            why[:200],
            LINK,
            REPAIR,
        )
