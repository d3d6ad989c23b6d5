"""The router's own rules: typed keys on channels without buttons, remembered in the database;
work retried on a new connection when the server dropped the old one."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import NullPool

from bot.chat import router
from bot.chat.messages import Actor, Inbound, Outbound
from bot.services.context import Services
from bot.services.reports import build_report
from bot.services.units import add_village
from bot.storage import inbox
from bot.storage.models import Person
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
ZALO = Actor("zalo", "z1", "z1", "Lan", None)


def services(sessions: async_sessionmaker[AsyncSession]) -> Services:
    """A fresh set of services, as a restarted process (or another worker) would build."""
    return Services(sessions=sessions, forms=load_forms(), clock=lambda: NOW)


async def say(sessions: async_sessionmaker[AsyncSession], text: str) -> str:
    out = await router.handle(services(sessions), Inbound(ZALO, text=text, keyed=True))
    return "\n".join(reply.text.html() for reply in out.replies)


async def test_a_typed_number_is_the_listed_choice_even_after_a_restart(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    first = await router.handle(
        services(session_factory), Inbound(ZALO, command="start", keyed=True)
    )
    assert first.replies[-1].keys() == ["1", "2", "3"]  # agree, do not agree, language
    assert "đồng ý" in await say(session_factory, "1")  # agreed: the menu follows
    assert "Bạn thuộc nhóm nào?" in await say(session_factory, "1")  # menu item 1: self-check
    assert "Câu 1/10" in await say(session_factory, "2")  # group 2: người lao động
    assert "Câu 2/10" in await say(session_factory, "2")  # option 2 of question 1
    assert "Câu 1/10" in await say(session_factory, "6")  # after the options: ◀ back


async def test_a_key_that_is_not_listed_is_typed_text(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    await router.handle(
        services(session_factory),
        Inbound(ZALO, command="form", keyed=True, argument="cong-dan-hoc-tap"),
    )
    assert "Bạn có đồng ý không?" in await say(session_factory, "9")  # no consent yet


async def test_a_citizen_who_names_their_village_counts_in_its_report(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> None:
    async with session_factory() as session:
        village = await add_village(session, "00070", "Thôn Đông")
        await session.commit()
    await router.handle(services(session_factory), Inbound(ZALO, command="start", keyed=True))
    await say(session_factory, "1")  # agree
    reply = await router.handle(
        services(session_factory),
        Inbound(ZALO, command="village", argument=village.code, keyed=True),
    )
    assert "Thôn Đông" in reply.replies[0].text.html()
    await say(session_factory, "1")  # menu: the self-check
    await say(session_factory, "1")  # the group: người dân trong xã
    for _question in range(10):
        await say(session_factory, "1")
    assert "đạt tiêu chí — chờ xác nhận" in await say(session_factory, "1")  # submitted
    async with session_factory() as session:
        report = await build_report(session, "00070", 2026, NOW)
    assert (report.total.checked, report.total.certified) == (1, 1)


async def test_a_stored_update_is_applied_once_from_the_first_contact_on(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    # The update is claimed in the query that finds the person (PostgreSQL) or just before it.
    telegram, first = await _started_on_telegram(session_factory, "t1")
    assert "Xin chào" in first.replies[0].text.html()  # a new person, greeted
    again = Inbound(telegram, command="start", update_id=1)
    assert (await router.handle(services(session_factory), again)).replies == []  # done already
    assert "đồng ý" in await _consent(session_factory, telegram, first)
    async with session_factory() as session:
        assert await inbox.waiting(session, "telegram") == []


@pytest.mark.postgresql
@pytest.mark.parametrize("first_commits", [False, True], ids=["rolls back", "commits"])
async def test_an_update_another_worker_holds_is_applied_once_after_it_with_the_person_as_now(
    session_factory: async_sessionmaker[AsyncSession], first_commits: bool
) -> None:
    # PostgreSQL's row locks (SQLite lets one transaction write at a time): a second worker
    # applying the same update waits for the first, then applies it if the first gave up,
    # reading the person after that wait, not before; or applies nothing if the first
    # committed it.
    telegram, first = await _started_on_telegram(session_factory, "t2")
    await _consent(session_factory, telegram, first)  # stored from now on
    await inbox.store(session_factory, "telegram", [inbox.Received(3, "t2", "{}")], NOW)
    async with session_factory() as first_worker:
        assert await inbox.claim(first_worker, "telegram", 3, NOW)  # holds update 3
        help_ = Inbound(telegram, command="help", update_id=3)
        second_worker = asyncio.create_task(router.handle(services(session_factory), help_))
        await asyncio.sleep(0.5)
        assert not second_worker.done()  # waiting for the first worker
        async with session_factory() as elsewhere:  # meanwhile the person switches to English
            await elsewhere.execute(update(Person).values(locale="en"))
            await elsewhere.commit()
        await (first_worker.commit() if first_commits else first_worker.rollback())
    out = await second_worker
    if first_commits:
        assert out.replies == []  # applied by the first worker, not twice
    else:
        assert "How to use hoctap" in out.replies[0].text.html()
    async with session_factory() as session:
        assert await inbox.waiting(session, "telegram") == []


@pytest.mark.postgresql
async def test_a_connection_the_server_dropped_is_replaced_and_nothing_is_lost(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # Connections are not pinged before use, so a restarted server's dropped
    # connections are found by the first statement, and the work is run again on a new one.
    telegram, first = await _started_on_telegram(session_factory, "t3")
    await _drop_connections(engine)
    assert "đồng ý" in await _consent(session_factory, telegram, first)
    await _drop_connections(engine)
    assert await inbox.store(session_factory, "zalo", [inbox.Received(7, "z1", "{}")], NOW) == {7}
    async with session_factory() as session:
        assert await inbox.waiting(session, "telegram") == []
        assert await inbox.waiting(session, "zalo") == [inbox.Waiting(7, "z1")]


@pytest.mark.postgresql
async def test_a_message_with_no_inbox_row_is_not_tried_again_on_a_dropped_connection(
    engine: AsyncEngine, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    # The connection may have dropped during the COMMIT, after the step was stored, and with no
    # inbox row to tell, a second try could apply it twice: the error is shown instead.
    await router.handle(services(session_factory), Inbound(ZALO, command="start", keyed=True))
    await _drop_connections(engine)
    with pytest.raises(DBAPIError):
        await say(session_factory, "1")
    assert "đồng ý" in await say(session_factory, "1")  # on a new connection


async def _started_on_telegram(
    sessions: async_sessionmaker[AsyncSession], user: str
) -> tuple[Actor, Outbound]:
    """A new Telegram user with updates 1 and 2 stored, after /start (update 1) was applied."""
    telegram = Actor("telegram", user, user, "Hà", "vi")
    stored = [inbox.Received(1, user, "{}"), inbox.Received(2, user, "{}")]
    await inbox.store(sessions, "telegram", stored, NOW)
    start = Inbound(telegram, command="start", update_id=1)
    return telegram, await router.handle(services(sessions), start)


async def _consent(
    sessions: async_sessionmaker[AsyncSession], telegram: Actor, started: Outbound
) -> str:
    """Tap "I agree" under the greeting (update 2); the first reply's text."""
    agree = started.replies[-1].buttons[0][0].data
    out = await router.handle(services(sessions), Inbound(telegram, choice=agree, update_id=2))
    return out.replies[0].text.html()


async def _drop_connections(engine: AsyncEngine) -> None:
    """End every other connection to the test database, as a server restart would."""
    admin = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with admin.connect() as connection:
            ended = await connection.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin.dispose()
    assert ended  # the pooled connection was there to drop


async def test_control_characters_in_a_name_or_a_text_are_dropped_on_every_database(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    """PostgreSQL refuses a NUL in text that SQLite keeps: neither ever sees one."""
    odd = Actor("zalo", "z9", "z9", "Lan\x00 \x1b[31mHà\x7f", None)
    start = Inbound(odd, command="start", keyed=True)
    assert start.actor.name == "Lan [31mHà"
    await router.handle(services(session_factory), start)
    agreed = await router.handle(services(session_factory), Inbound(odd, text="1\x00", keyed=True))
    assert "đồng ý" in "\n".join(reply.text.html() for reply in agreed.replies)
    async with session_factory() as session:
        names = list(await session.scalars(select(Person.display_name)))
    assert names == ["Lan [31mHà"]
