"""Personal data: what /mydata shows, and erasure that keeps only anonymous outcomes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.messages import Actor
from bot.services import assessing, privacy
from bot.services.context import CDHT, GDHT
from bot.services.people import ensure_person
from bot.services.units import add_village
from bot.storage.models import Answer, Assessment, Household, Identity, Person
from conversations.engine import Input
from conversations.loader import load_forms

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
FORMS = load_forms()


async def finished_self_check(session: AsyncSession, person: Person) -> Assessment:
    form = FORMS.get(CDHT)
    assessment = await assessing.open_own_assessment(session, form, person.id, 2026, NOW)
    for _question in range(10):
        await assessing.apply(
            session, assessment, form, Input("answer", "1"), "vi", NOW, by=person.id
        )
    await assessing.apply(session, assessment, form, Input("submit"), "vi", NOW, by=person.id)
    return assessment


async def test_mydata_lists_what_is_kept(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> None:
    async with session_factory() as session:
        citizen = await ensure_person(session, Actor("telegram", "7", "7", "Lan"), NOW)
        await finished_self_check(session, citizen)
        data = await privacy.personal_data(session, citizen)
        assert (data.name, data.channels, data.self_checks, data.answers) == (
            "Lan",
            ["telegram (7)"],
            1,
            10,
        )


async def test_erasing_a_citizen_keeps_only_the_anonymous_outcome(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> None:
    async with session_factory() as session:
        citizen = await ensure_person(session, Actor("telegram", "7", "7", "Lan"), NOW)
        assessment = await finished_self_check(session, citizen)
        await privacy.erase_person(session, citizen, NOW)
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0
        assert await session.scalar(select(func.count()).select_from(Identity)) == 0
        kept = await session.get(Assessment, assessment.id)
        assert kept is not None
        assert (kept.state, kept.passed, kept.score, kept.result) == ("submitted", True, 100, None)
        erased = await session.get(Person, citizen.id)
        assert erased is not None
        assert (erased.display_name, erased.consent_at, erased.erased_at) == ("", None, NOW)
        again = await ensure_person(session, Actor("telegram", "7", "7", "Lan"), NOW)
        assert again.id != citizen.id


async def test_removing_a_household_drops_name_and_answers_not_the_count(
    session_factory: async_sessionmaker[AsyncSession], geography: None
) -> None:
    async with session_factory() as session:
        leader = await ensure_person(session, Actor("telegram", "8", "8", "Hùng"), NOW)
        village = await add_village(session, "00070", "Thôn Đông")
        household = Household(
            village_id=village.id,
            code="H001",
            head_name="Nguyễn Văn An",
            members=4,
            created_at=NOW,
        )
        session.add(household)
        await session.flush()
        form = FORMS.get(GDHT)
        assessment = await assessing.open_household_assessment(
            session, form, household, 2026, leader.id, NOW
        )
        answer = Input("answer", "1")
        await assessing.apply(session, assessment, form, answer, "vi", NOW, by=leader.id)
        await privacy.remove_household(session, leader.id, household, NOW)
        await session.commit()
        assert household.head_name == ""
        assert household.removed_at == NOW
        assert await session.scalar(select(func.count()).select_from(Answer)) == 0
        assert await session.scalar(select(func.count()).select_from(Assessment)) == 1
