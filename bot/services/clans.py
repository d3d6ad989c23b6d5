"""Clans (Dòng họ học tập): a commune's clans, their member households (in any of its villages),
their heads, their assessment and its figure.

A commune officer (or the administrator) adds a clan and invites its head with a one-time code;
a village's branch leader says which clan each of the village's households belongs to (one
clan per household). The head or the officer assesses the clan; its figure, the share of its
member households recognised Gia đình học tập, is counted over every village
(``bot/services/figures.py`` keeps it current); the commune reviews it with the other
submissions. The report counts a clan once in the commune, and once in each village where it
has households. Functions never commit. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import _
from bot.rich import Refusal
from bot.services import audit, heads, scope
from bot.services.context import DHHT, GDHT
from bot.services.review import find_unit
from bot.storage import queries
from bot.storage.models import Assessment, Clan, ClanHousehold, Household, Invite, Unit
from conversations.loader import FormRegistry

MANAGERS = heads.MANAGERS
COMMUNE = 2
NAME_MAX = 200
HEAD = heads.HEAD


class ClanError(Refusal):
    """A refused change of a clan; the message is for the person."""


async def commune_of(session: AsyncSession, actor_id: int | None, ref: str | int | Unit) -> Unit:
    """A commune this person manages clans of; ``ClanError`` otherwise."""
    commune = await find_unit(session, ref)
    if commune.level != COMMUNE or not commune.active:
        raise ClanError(
            _("A clan belongs to a commune; {code} is not one.").format(code=commune.code)
        )
    if actor_id is not None and not await scope.may(session, actor_id, commune, MANAGERS):
        raise ClanError(_("You can only manage the clans of your own commune."))
    return commune


async def add(
    session: AsyncSession, actor_id: int | None, commune_ref: str | int | Unit, name: str,
    now: dt.datetime,
) -> Clan:  # fmt: skip
    """Add a clan (its name, as people say it: "Họ Nguyễn Văn") to a commune."""
    commune = await commune_of(session, actor_id, commune_ref)
    cleaned = " ".join(name.split())
    if not cleaned or len(cleaned) > NAME_MAX:
        raise ClanError(_("Give the clan's name (1 to {maximum} characters).").format(
            maximum=NAME_MAX))  # fmt: skip
    clan = Clan(commune_id=commune.id, name=cleaned, created_at=now)
    session.add(clan)
    await session.flush()
    await audit.record(session, actor_id, "clan.added", "clan", clan.id, now, commune.id)
    return clan


async def get(session: AsyncSession, clan_id: int) -> Clan:
    """A clan that is still there; ``ClanError`` otherwise."""
    found = await session.get(Clan, clan_id)
    if found is None or found.removed_at is not None:
        raise ClanError(_("There is no clan {id}.").format(id=clan_id))
    return found


async def of_commune(session: AsyncSession, commune: Unit) -> list[Clan]:
    """A commune's clans, by name."""
    rows = await session.scalars(
        select(Clan)
        .where(Clan.commune_id == commune.id, Clan.removed_at.is_(None))
        .order_by(Clan.name, Clan.id)
    )
    return list(rows)


async def headed_by(session: AsyncSession, person_id: int) -> list[Clan]:
    """The clans this person is the head of."""
    return await heads.headed_by(session, Clan, person_id)


async def clan_of(session: AsyncSession, household: Household) -> Clan | None:
    """The household's clan, if it has one."""
    return await session.scalar(
        select(Clan)
        .join(ClanHousehold, ClanHousehold.clan_id == Clan.id)
        .where(ClanHousehold.household_id == household.id, Clan.removed_at.is_(None))
    )


async def set_clan(
    session: AsyncSession, actor_id: int, household: Household, clan: Clan | None,
    now: dt.datetime,
) -> None:  # fmt: skip
    """Say which clan a household belongs to (None: none); the clan must be of the household's
    commune. The caller checks the person may change the household."""
    village = await session.get(Unit, household.village_id)
    assert village is not None  # a foreign key
    if clan is not None and clan.commune_id != village.parent_id:
        raise ClanError(_("That clan is not one of this commune's."))
    await session.execute(delete(ClanHousehold).where(ClanHousehold.household_id == household.id))
    if clan is not None:
        session.add(ClanHousehold(household_id=household.id, clan_id=clan.id, added_at=now))
    await audit.record(session, actor_id, "household.clan_set", "household", household.id, now,
                       village.id, detail=str(clan.id) if clan else "")  # fmt: skip


async def members(session: AsyncSession, clan: Clan) -> dict[str, int]:
    """The clan's households in each village, by the village's name."""
    rows = await session.execute(
        select(Unit.name, func.count())
        .select_from(ClanHousehold)
        .join(Household, Household.id == ClanHousehold.household_id)
        .join(Unit, Unit.id == Household.village_id)
        .where(ClanHousehold.clan_id == clan.id, Household.removed_at.is_(None))
        .group_by(Unit.name)
        .order_by(Unit.name)
    )
    return {name: int(count) for name, count in rows}


async def figures(session: AsyncSession, clan: Clan, year: int) -> dict[str, int]:
    """The clan's figure: its member households recognised Gia đình học tập this year, as a
    whole percentage rounded down, of its member households in scope."""
    h, a = Household, Assessment
    in_scope = and_(h.removed_at.is_(None), h.created_at < queries.year_end(year))
    recognised = (
        select(a.id)
        .where(a.household_id == h.id, a.year == year, a.form_key == GDHT, a.state == "recognised")
        .exists()
    )
    total, won = (
        await session.execute(
            select(func.count(), func.count().filter(recognised))
            .select_from(ClanHousehold)
            .join(h, h.id == ClanHousehold.household_id)
            .where(ClanHousehold.clan_id == clan.id, in_scope)
        )
    ).one()
    return {"family_share": int(won) * 100 // int(total) if total else 0}


async def may_assess(session: AsyncSession, person_id: int, clan: Clan) -> bool:
    """True for its head and its commune's officer (and administrators)."""
    return await heads.may_assess(session, person_id, clan)


async def invite_head(
    session: AsyncSession, actor_id: int | None, clan_id: int, now: dt.datetime
) -> Invite:
    """A one-time code that makes whoever uses it the head."""
    clan = await get(session, clan_id)
    commune = await commune_of(session, actor_id, clan.commune_id)
    return await heads.invite(session, actor_id, commune, clan, now)


async def open_assessment(
    session: AsyncSession, forms: FormRegistry, clan: Clan, year: int, by: int, now: dt.datetime
) -> Assessment:
    """The clan's assessment of the year (the newest), or a new draft of the newest form."""
    found = await session.scalar(
        select(Assessment)
        .where(Assessment.clan_id == clan.id, Assessment.year == year, Assessment.form_key == DHHT)
        .order_by(Assessment.id.desc())
        .limit(1)
    )
    if found is not None:
        return found
    assessment = Assessment(
        form_key=DHHT, form_version=forms.get(DHHT).version, year=year, subject="clan",
        clan_id=clan.id, unit_id=clan.commune_id, created_by=by, state="draft", created_at=now,
        updated_at=now,
    )  # fmt: skip
    session.add(assessment)
    await session.flush()
    return assessment
