"""A channel's OAuth tokens (Zalo OA) on real database files (and PostgreSQL when set): kept
encrypted, refreshed ahead of expiry exactly once even by two processes at the same moment,
renewed when the platform refuses one, and marked dead (with the administrators told) when the
refresh token is refused or can no longer be decrypted, but never for a glitch of the platform's
OAuth or a busy database (those only delay). Also the pauses a used-up monthly
quota leaves: when the quota resets, and the hold that keeps every process waiting for it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.zalo_oa.api import NetworkError, OaClient
from bot.i18n import TIMEZONE
from bot.services.reminders import quota_resets
from bot.services.tokens import (
    AHEAD,
    RefreshRefused,
    TokenDead,
    TokenKeeper,
    Tokens,
    TokensUnavailable,
    cipher,
    store,
)
from bot.storage import leases
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.models import ChannelToken
from tests.support.fake_zalo_oa import APP_ID, SECRET_KEY, FakeZaloOa

CHANNEL, SECRET = "zalo-oa", "the app's secret key"
NOW = dt.datetime(2026, 3, 10, 8, 0, tzinfo=dt.UTC)


def pair(n: int, expires_in: dt.timedelta) -> Tokens:
    return Tokens(f"access-{n}", NOW + expires_in, f"refresh-{n}", NOW + dt.timedelta(days=90))


class Zalo:
    """The platform's OAuth as far as a refresh goes: each refresh token is spent by its use,
    and a spent one is refused."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay, self.calls, self.spent = delay, 0, set[str]()

    async def refresh(self, refresh_token: str) -> Tokens:
        self.calls += 1
        if refresh_token in self.spent:
            raise RefreshRefused("-14014 the refresh token was used")
        self.spent.add(refresh_token)
        await asyncio.sleep(self.delay)  # the call takes a while, the lock held
        return pair(len(self.spent), dt.timedelta(hours=25))


def keeper(sessions: async_sessionmaker[AsyncSession], secret: str = SECRET) -> TokenKeeper:
    return TokenKeeper(sessions, CHANNEL, secret, lambda: NOW)


async def stored(sessions: async_sessionmaker[AsyncSession], tokens: Tokens) -> None:
    async with sessions() as session:
        await store(session, CHANNEL, tokens, cipher(SECRET), NOW)
        await session.commit()


async def row_of(sessions: async_sessionmaker[AsyncSession]) -> ChannelToken:
    async with sessions() as session:
        row = await session.get(ChannelToken, CHANNEL)
    assert row is not None
    return row


async def test_a_token_is_used_as_stored_until_near_expiry_then_refreshed_once(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await stored(session_factory, pair(0, AHEAD + dt.timedelta(minutes=1)))
    zalo = Zalo()
    assert await keeper(session_factory).access(zalo.refresh) == "access-0"
    assert zalo.calls == 0
    row = await row_of(session_factory)
    assert "access-0" not in row.access_token and "refresh-0" not in row.refresh_token
    assert "access-0" not in repr(pair(0, AHEAD)) and "refresh-0" not in repr(pair(0, AHEAD))

    await stored(session_factory, pair(0, AHEAD))  # within the hour: renewed ahead of expiry
    first = keeper(session_factory)
    assert await first.access(zalo.refresh) == "access-1"
    assert await first.access(zalo.refresh) == "access-1"  # the one in hand
    assert await keeper(session_factory).access(zalo.refresh) == "access-1"  # the stored one
    assert (zalo.calls, first.refreshes, zalo.spent) == (1, 1, {"refresh-0"})
    row = await row_of(session_factory)
    assert row.access_expires_at == NOW + dt.timedelta(hours=25)
    assert cipher(SECRET).decrypt(row.refresh_token.encode()) == b"refresh-1"
    assert "refresh-1" not in row.refresh_token


async def test_two_processes_refreshing_at_once_spend_the_refresh_token_once(
    database_url: str, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    await stored(session_factory, pair(0, dt.timedelta(minutes=10)))
    elsewhere = create_engine(database_url)  # another process: its own engine and connections
    try:
        zalo = Zalo(delay=0.2)
        theirs = make_sessionmaker(elsewhere)
        keepers = [
            keeper(session_factory),
            keeper(theirs),
            keeper(session_factory),
            keeper(theirs),
        ]
        handed = await asyncio.gather(*(each.access(zalo.refresh) for each in keepers))
    finally:
        await elsewhere.dispose()
    assert handed == ["access-1"] * 4
    assert zalo.calls == 1 and sum(each.refreshes for each in keepers) == 1


async def test_a_refused_token_is_renewed_unless_another_worker_already_did(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await stored(session_factory, pair(0, dt.timedelta(hours=20)))
    zalo, first, second = Zalo(), keeper(session_factory), keeper(session_factory)
    assert await first.access(zalo.refresh) == await second.access(zalo.refresh) == "access-0"
    assert await first.renew(zalo.refresh, stale="access-0") == "access-1"
    assert await second.renew(zalo.refresh, stale="access-0") == "access-1"
    assert zalo.calls == 1


async def test_a_refused_refresh_token_marks_the_row_dead_until_authorised_again(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    told: list[tuple[AsyncSession, dt.datetime]] = []

    async def on_dead(session: AsyncSession, now: dt.datetime) -> None:
        told.append((session, now))

    await stored(session_factory, pair(0, dt.timedelta(minutes=5)))
    zalo = Zalo()
    zalo.spent.add("refresh-0")  # spent by a process that died before committing its pair
    dying = TokenKeeper(session_factory, CHANNEL, SECRET, lambda: NOW, on_dead)
    with pytest.raises(TokenDead):
        await dying.access(zalo.refresh)
    assert (await row_of(session_factory)).dead_at == NOW
    assert len(told) == 1 and isinstance(told[0][0], AsyncSession) and told[0][1] == NOW
    for someone in (dying, keeper(session_factory)):
        with pytest.raises(TokenDead):
            await someone.access(zalo.refresh)
    assert zalo.calls == 1 and len(told) == 1
    await stored(session_factory, pair(7, dt.timedelta(hours=25)))  # authorised again
    assert (await row_of(session_factory)).dead_at is None
    assert await dying.access(zalo.refresh) == "access-7"


async def test_no_stored_token_or_one_of_another_secret_is_dead(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    zalo, told = Zalo(), list[dt.datetime]()

    async def on_dead(_session: AsyncSession, now: dt.datetime) -> None:
        told.append(now)

    with pytest.raises(TokenDead):
        await keeper(session_factory).access(zalo.refresh)
    await stored(session_factory, pair(0, dt.timedelta(hours=20)))
    changed = TokenKeeper(session_factory, CHANNEL, "a new secret key", lambda: NOW, on_dead)
    with pytest.raises(TokenDead):
        await changed.access(zalo.refresh)
    assert (await row_of(session_factory)).dead_at == NOW and told == [NOW]
    assert zalo.calls == 0


# --------------------------------------------------------------------------- monthly quota


def utc(*when: int) -> dt.datetime:
    return dt.datetime(*when, tzinfo=dt.UTC)


def vn(*when: int) -> dt.datetime:
    return dt.datetime(*when, tzinfo=TIMEZONE).astimezone(dt.UTC)


async def test_a_glitch_of_zalo_s_oauth_is_not_a_refusal_and_a_lifetime_is_never_too_short(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    async with FakeZaloOa(clock=NOW.timestamp) as oa:
        access, refresh, _seconds = oa.issue_tokens()
        await stored(session_factory, Tokens(access, NOW, refresh, NOW + dt.timedelta(days=90)))
        client = OaClient(APP_ID, SECRET_KEY, oa.url, oa.url, trust_env=False)
        held = keeper(session_factory)

        async def refresh_with(token: str) -> Tokens:
            return await client.refresh(token, NOW)

        try:
            oa.oauth_glitches = [(429, "Too Many Requests"), (200, "<html>proxy</html>")]
            for _glitch in range(2):  # neither spent the token nor killed the authorisation
                with pytest.raises(NetworkError):
                    await held.access(refresh_with)
            assert (await row_of(session_factory)).dead_at is None
            oa.expires_in = None  # an answer without its lifetime: the documented 25 hours
            fresh = await held.access(refresh_with)
            assert (await row_of(session_factory)).access_expires_at == NOW + dt.timedelta(
                hours=25
            )
            assert await held.access(refresh_with) == fresh  # not refreshed at every call
            assert oa.refreshes == 1
        finally:
            await client.aclose()


async def test_a_busy_database_makes_the_tokens_unavailable_for_now_not_dead(
    sqlite_url: str,
) -> None:
    engine = create_engine(sqlite_url, busy_timeout_ms=50)
    other = create_engine(sqlite_url)
    try:
        await upgrade(engine)
        sessions = make_sessionmaker(engine)
        await stored(sessions, pair(0, dt.timedelta(minutes=5)))
        async with other.begin() as holder:  # another process holds the write lock
            await holder.exec_driver_sql("SELECT 1")
            with pytest.raises(TokensUnavailable):
                await keeper(sessions).access(Zalo().refresh)
        assert await keeper(sessions).access(Zalo().refresh) == "access-1"  # and then it works
    finally:
        await other.dispose()
        await engine.dispose()


@pytest.mark.parametrize(
    ("now", "resets"),
    [
        (vn(2026, 3, 15, 10), utc(2026, 3, 31, 17)),  # 1 April 00:00 in Vietnam (UTC+7)
        (vn(2026, 11, 30, 23), utc(2026, 11, 30, 17)),
        (vn(2026, 12, 31, 23, 59), utc(2026, 12, 31, 17)),  # 1 January 2027
        (utc(2026, 1, 31, 20), utc(2026, 2, 28, 17)),  # already February in Vietnam
    ],
    ids=["march", "november", "december", "utc-behind"],
)
def test_a_monthly_quota_resets_on_the_first_of_the_next_month_in_vietnam(
    now: dt.datetime, resets: dt.datetime
) -> None:
    found = quota_resets(now)
    assert found == resets and found.utcoffset() == dt.timedelta(0)
    assert found.astimezone(TIMEZONE).time() == dt.time(0)


async def test_a_hold_lasts_until_its_latest_end_then_is_gone(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    name, soon, later = "quota:zalo-oa", NOW + dt.timedelta(days=1), NOW + dt.timedelta(days=20)
    async with session_factory() as session:
        assert await leases.held_until(session, name, NOW) is None
        for until in (soon, later, soon):  # several processes: the latest end stays
            await leases.hold(session, name, until)
            await session.commit()
    async with session_factory() as session:
        assert await leases.held_until(session, name, NOW) == later
        assert await leases.held_until(session, name, later - dt.timedelta(seconds=1)) == later
        assert await leases.held_until(session, name, later) is None
        assert await leases.held_until(session, "quota:telegram", NOW) is None
