"""The official geography: 34 provinces and 3,321 communes, loaded once however often it runs,
with paths that make every subtree one LIKE, and corrections applied in place."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased

from bot.services.units import add_village
from bot.storage.geography import GeographySummary, load_geography
from bot.storage.models import Unit

Sessions = async_sessionmaker[AsyncSession]


async def _load(session_factory: Sessions) -> GeographySummary:
    async with session_factory() as session:
        summary = await load_geography(session)
        await session.commit()
    return summary


async def test_loading_twice_gives_34_provinces_and_3321_communes(
    session_factory: Sessions, session: AsyncSession
) -> None:
    first = await _load(session_factory)
    second = await _load(session_factory)

    assert (first.provinces_added, first.communes_added, first.updated) == (34, 3321, 0)
    assert (second.provinces_added, second.communes_added, second.updated) == (0, 0, 0)
    kinds = Counter((await session.execute(select(Unit.level, Unit.kind))).all())
    assert kinds == {
        (1, "province"): 28,
        (1, "city"): 6,
        (2, "commune"): 2621,
        (2, "ward"): 687,
        (2, "special_zone"): 13,
    }


async def test_every_path_is_the_parent_path_plus_the_own_id(
    geography: None, session: AsyncSession
) -> None:
    parent = aliased(Unit)
    rows = (
        await session.execute(
            select(Unit.id, Unit.path, Unit.depth, parent.path).outerjoin(
                parent, parent.id == Unit.parent_id
            )
        )
    ).all()
    for unit_id, path, depth, parent_path in rows:
        assert path == f"{parent_path or '/'}{unit_id}/"
        assert depth == path.count("/") - 1


async def test_a_subtree_is_one_like_on_the_path(geography: None, session: AsyncSession) -> None:
    hanoi = await session.scalar(select(Unit).where(Unit.code == "01"))
    assert hanoi is not None
    in_hanoi = select(func.count()).where(Unit.path.startswith(hanoi.path), Unit.level == 2)
    direct = select(func.count()).where(Unit.parent_id == hanoi.id)
    assert await session.scalar(in_hanoi) == await session.scalar(direct) == 126


async def test_a_changed_commune_is_put_back_with_its_villages(
    geography: None, session_factory: Sessions
) -> None:
    async with session_factory() as session:
        village = await add_village(session, "00070", "Tổ 1")
        commune = await session.scalar(select(Unit).where(Unit.code == "00070"))
        elsewhere = await session.scalar(select(Unit).where(Unit.code == "04"))
        assert commune is not None
        assert elsewhere is not None
        original_path = village.path
        # A wrong parent and name, as an older edition of the data might have left them.
        commune.name, commune.parent_id = "Phường Cũ", elsewhere.id
        await session.commit()

    assert (await _load(session_factory)).updated == 1

    async with session_factory() as session:
        commune = await session.scalar(select(Unit).where(Unit.code == "00070"))
        moved = await session.scalar(select(Unit).where(Unit.id == village.id))
    assert commune is not None
    assert moved is not None
    assert commune.name == "Phường Hoàn Kiếm"
    assert moved.path == original_path == f"{commune.path}{village.id}/"
