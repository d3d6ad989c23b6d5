"""Onboarding by invite codes, and the lines each role cannot cross."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.messages import Actor
from bot.i18n import use_locale
from bot.services import invites, scope
from bot.services.people import ensure_person, grant, roles_of, villages_led
from bot.services.units import add_village, merge_villages
from bot.storage.models import AuditEntry, Person, Unit

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
COMMUNE, OTHER_COMMUNE = "00070", "00004"


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Match refusals by their English msgids (the Vietnamese texts are the catalog's)."""
    with use_locale("en"):
        yield


async def person(session: AsyncSession, user: str) -> Person:
    return await ensure_person(session, Actor("telegram", user, user, f"Người {user}"), NOW)


async def unit(session: AsyncSession, code: str) -> Unit:
    found = await session.scalar(select(Unit).where(Unit.code == code))
    assert found is not None
    return found


@pytest.fixture
async def area(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> dict[str, str]:
    """Two villages in one commune, one in another, and an officer of the first commune."""
    async with session_factory() as session:
        east = await add_village(session, COMMUNE, "Thôn Đông")
        west = await add_village(session, COMMUNE, "Thôn Tây")
        far = await add_village(session, OTHER_COMMUNE, "Thôn Xa")
        officer = await person(session, "100")
        await grant(session, officer.id, "officer", (await unit(session, COMMUNE)).id, NOW)
        await session.commit()
        return {"east": east.code, "west": west.code, "far": far.code}


async def test_an_invite_works_once_and_gives_the_role(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        invite = await invites.create(session, None, "leader", area["east"], NOW)
        leader = await person(session, "200")
        joined = await invites.join(session, leader, invite.code.lower(), NOW)
        assert joined.code == area["east"]
        assert await roles_of(session, leader.id) == {"leader"}
        with pytest.raises(invites.InviteError, match="already used this code"):
            await invites.join(session, leader, invite.code, NOW)
        other = await person(session, "201")
        with pytest.raises(invites.InviteError, match="already used or withdrawn"):
            await invites.join(session, other, invite.code, NOW)
        assert await roles_of(session, other.id) == set()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("ZZZZ9999", "not right"),
        ("", "not right"),
        ("abc", "not right"),
    ],
)
async def test_a_mistyped_code_is_refused(
    session_factory: async_sessionmaker[AsyncSession],
    area: dict[str, str],
    typed: str,
    message: str,
) -> None:
    async with session_factory() as session:
        with pytest.raises(invites.InviteError, match=message):
            await invites.join(session, await person(session, "300"), typed, NOW)


async def test_an_expired_or_revoked_code_is_refused(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        old = await invites.create(session, None, "leader", area["east"], NOW, days=14)
        late = NOW + dt.timedelta(days=14, seconds=1)
        with pytest.raises(invites.InviteError, match="expired"):
            await invites.join(session, await person(session, "400"), old.code, late)
        withdrawn = await invites.create(session, None, "leader", area["west"], NOW)
        await invites.revoke(session, None, withdrawn.code, NOW)
        with pytest.raises(invites.InviteError, match="withdrawn"):
            await invites.join(session, await person(session, "401"), withdrawn.code, NOW)


async def test_an_officer_invites_only_for_villages_of_their_commune(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        officer = await person(session, "100")
        made = await invites.create(session, officer.id, "leader", area["west"], NOW)
        assert made.role == "leader"
        with pytest.raises(invites.InviteError, match="your own area"):
            await invites.create(session, officer.id, "leader", area["far"], NOW)
        with pytest.raises(invites.InviteError, match="your own area"):
            await invites.create(session, officer.id, "officer", OTHER_COMMUNE, NOW)
        leader = await person(session, "500")
        with pytest.raises(invites.InviteError, match="your own area"):
            await invites.create(session, leader.id, "leader", area["east"], NOW)


async def test_a_role_must_fit_the_level_of_its_unit(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        with pytest.raises(invites.InviteError, match="right level"):
            await invites.create(session, None, "officer", area["east"], NOW)
        with pytest.raises(invites.InviteError, match="right level"):
            await invites.create(session, None, "leader", "01", NOW)
        with pytest.raises(invites.InviteError, match="no unit"):
            await invites.create(session, None, "leader", "nope", NOW)


async def test_scope_follows_the_unit_tree(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        officer = await person(session, "100")
        assert await scope.may(
            session, officer.id, await unit(session, area["east"]), ("officer",)
        )
        assert not await scope.may(
            session, officer.id, await unit(session, area["far"]), ("officer",)
        )
        assert not await scope.may(
            session, officer.id, await unit(session, OTHER_COMMUNE), ("officer",)
        )


async def test_every_invite_and_join_leaves_a_trail(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        invite = await invites.create(session, None, "leader", area["east"], NOW)
        await invites.join(session, await person(session, "600"), invite.code, NOW)
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["invite.created", "role.joined"]


async def test_a_leader_of_a_merged_village_no_longer_reaches_its_households(
    session_factory: async_sessionmaker[AsyncSession], area: dict[str, str]
) -> None:
    async with session_factory() as session:
        leader = await person(session, "700")
        await grant(session, leader.id, "leader", (await unit(session, area["east"])).id, NOW)
        assert [v.code for v in await villages_led(session, leader.id)] == [area["east"]]
        await merge_villages(session, area["east"], area["west"])
        assert await villages_led(session, leader.id) == []
        assert not await scope.may(
            session, leader.id, await unit(session, area["west"]), ("leader",)
        )
