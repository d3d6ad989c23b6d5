"""Example data for a demonstration: one commune filled with villages, households, assessments,
the commune's review and citizens' self-checks, all made the way real use makes them.

Answers are chosen at random (seeded, so a seed always gives the same commune) and walked
through the real engine (``conversations.engine.advance``) question by question, so skip rules
hold; results are scored by the engine and stored with ``assessing.submit``; the review goes
through ``bot.services.review`` as the commune's officer. Refuses a commune that already has
villages rather than mixing example data into real data. Never commits.
Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import TIMEZONE, _
from bot.rich import Refusal
from bot.services import (
    assessing,
    clans,
    communities,
    figures,
    groups,
    organisations,
    review,
    titles,
    units,
)
from bot.services.context import GDHT
from bot.storage.models import (
    Answer,
    Assessment,
    ClanHousehold,
    Household,
    Identity,
    Person,
    Registration,
    RoleAssignment,
    Unit,
    table_of,
)
from conversations.engine import Input, Prompt, Review, State, advance, evaluate
from conversations.loader import FormRegistry
from conversations.model import Form

OFFICER_LOGIN = "can-bo-xa"
LEADER_LOGIN = "chi-hoi-truong-{number:02d}"
# How the demo's citizens fall into the four groups of Công dân học tập (residents, workers,
# staff, pupils): a rural commune, most of them farmers.
GROUP_WEIGHTS = (60, 20, 10, 10)
VILLAGE_NAMES = (
    "Thôn Đông",
    "Thôn Tây",
    "Thôn Nam",
    "Thôn Bắc",
    "Thôn Trung",
    "Xóm Chùa",
    "Xóm Đình",
    "Xóm Giữa",
    "Thôn Thượng",
    "Thôn Hạ",
    "Thôn Đồng Tâm",
    "Thôn Tân Lập",
    "Thôn An Phú",
    "Xóm Mới",
    "Thôn Phú Xuân",
    "Xóm Bến",
    "Thôn Hòa Bình",
    "Thôn Yên Thịnh",
)
FAMILY = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Trịnh",
)
MIDDLE = {
    "m": ("Văn", "Đức", "Minh", "Hữu", "Quang", "Xuân", "Công", "Thanh"),
    "f": ("Thị", "Thị", "Thu", "Ngọc", "Thanh", "Kim", "Hồng", "Minh"),
}
GIVEN = {
    "m": (
        "An",
        "Bình",
        "Cường",
        "Dũng",
        "Hải",
        "Hùng",
        "Long",
        "Nam",
        "Phong",
        "Quân",
        "Sơn",
        "Thắng",
        "Tuấn",
        "Việt",
        "Khánh",
        "Toàn",
        "Hiếu",
        "Lộc",
    ),
    "f": (
        "Hà",
        "Hạnh",
        "Hoa",
        "Hương",
        "Lan",
        "Linh",
        "Mai",
        "Nga",
        "Phương",
        "Tâm",
        "Thảo",
        "Trang",
        "Vân",
        "Yến",
        "Huệ",
        "Nhung",
        "Loan",
        "Dung",
    ),
}
# Comments an officer writes when returning an assessment: example data, in Vietnamese.
RETURN_COMMENTS = (
    "Đề nghị kiểm tra lại việc đi học của các cháu.",
    "Bổ sung thông tin người lớn tham gia học tập trong năm.",
    "Xác minh lại danh hiệu Công dân học tập của người lớn trong gia đình.",
)


class DemoError(Refusal):
    """The demonstration cannot fill this commune; str() is one line for the person."""


class AlreadyFilled(DemoError):
    """The commune has villages already (a second demo run): nothing is added."""


@dataclass(frozen=True)
class DemoSummary:
    """What the demonstration added."""

    villages: int
    households: int
    assessed: int
    recognised: int
    returned: int
    citizens: int


@dataclass
class _Tally:
    households: int = 0
    assessed: int = 0
    recognised: int = 0
    returned: int = 0
    citizens: int = 0


def vietnamese_name(rng: random.Random) -> str:
    """A plausible full name: family, middle and given name."""
    sex = rng.choice("mf")
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE[sex])} {rng.choice(GIVEN[sex])}"


def _moment(
    rng: random.Random, year: int, first: tuple[int, int], last: tuple[int, int], now: dt.datetime
) -> dt.datetime:
    """A random working-hours moment between two days of the year, never after now."""
    start = dt.datetime(year, *first, 8, tzinfo=TIMEZONE)
    end = dt.datetime(year, *last, 17, tzinfo=TIMEZONE)
    moment = start + (end - start) * rng.random()
    return min(moment, now).astimezone(dt.UTC)


def walk(form: Form, rng: random.Random, care: float, limit: int | None = None) -> dict[str, str]:
    """Answer a form through the engine: the best option with probability `care`, else any.

    Stops after `limit` answers (a draft) or at the review (a complete assessment).
    """
    outcome = advance(form, State(), Input("start"), "vi")
    for _step in range(len(form.questions) * 2):
        reply = outcome.reply
        if isinstance(reply, Review) or not isinstance(reply, Prompt):
            break
        if limit is not None and len(outcome.state.answers) >= limit:
            break
        value = _pick(form, reply, rng, care)
        outcome = advance(form, outcome.state, Input("answer", value, reply.step), "vi")
    return dict(outcome.state.answers)


def _pick(form: Form, prompt: Prompt, rng: random.Random, care: float) -> str:
    if prompt.kind == "number":
        return str(prompt.maximum if rng.random() < care else prompt.minimum)
    if prompt.kind == "text":
        return "…"
    question = form.question(prompt.step)
    points = {option.id: option.points for option in question.options}
    ids = [choice.id for choice in prompt.choices]
    if rng.random() < 0.02 and any(o.exempt for o in question.options):
        return next(o.id for o in question.options if o.exempt)
    ranked = sorted(ids, key=lambda i: -(points.get(i) or (10 if i == "yes" else 0)))
    return ranked[0] if rng.random() < care else rng.choice(ids)


async def _person(session: AsyncSession, name: str, login: str | None, now: dt.datetime) -> Person:
    person = Person(
        display_name=name,
        locale="vi",
        consent_at=now,
        created_at=now,
        consent_purpose="hoctap-assessments",
    )
    session.add(person)
    await session.flush()
    if login is not None:
        session.add(
            Identity(
                person_id=person.id,
                channel="terminal",
                external_id=login,
                chat_id=login,
                created_at=now,
            )
        )
    return person


async def _commune(session: AsyncSession, code: str) -> Unit:
    commune = await session.scalar(select(Unit).where(Unit.code == code))
    if commune is None or commune.level != units.COMMUNE:
        raise DemoError(_("There is no commune with code {code}.").format(code=code))
    filled = await session.scalar(select(Unit.id).where(Unit.parent_id == commune.id).limit(1))
    if filled is not None:
        raise AlreadyFilled(
            _("{commune} already has villages, so no example data was added.").format(
                commune=commune.name
            )
        )
    return commune


async def fill(
    session: AsyncSession,
    forms: FormRegistry,
    commune_code: str,
    year: int,
    seed: int,
    now: dt.datetime,
) -> DemoSummary:
    """Fill an empty commune with example data for the year."""
    rng = random.Random(seed)
    commune = await _commune(session, commune_code)
    officer = await _person(session, vietnamese_name(rng), OFFICER_LOGIN, now)
    session.add(
        RoleAssignment(person_id=officer.id, role="officer", unit_id=commune.id, created_at=now)
    )
    names = rng.sample(VILLAGE_NAMES, rng.randint(10, 15))
    tally = _Tally()
    for number, name in enumerate(names, start=1):
        village = await units.add_village(session, commune.code, name)
        leader = await _person(
            session, vietnamese_name(rng), LEADER_LOGIN.format(number=number), now
        )
        session.add(
            RoleAssignment(person_id=leader.id, role="leader", unit_id=village.id, created_at=now)
        )
        await _fill_village(session, forms, village, leader, year, rng, now, tally)
        await _review_village(session, officer, commune, village, year, rng, now, tally)
        await _citizens(session, forms, village, leader, year, rng, now, tally)
        await _community(session, forms, village, leader, officer, year, rng, now)
    await _learning_units(session, forms, commune, officer, year, rng, now)
    await _clans(session, forms, commune, officer, year, rng, now)
    return DemoSummary(
        len(names),
        tally.households,
        tally.assessed,
        tally.recognised,
        tally.returned,
        tally.citizens,
    )


async def _households(
    session: AsyncSession, village: Unit, year: int, rng: random.Random, now: dt.datetime
) -> list[Household]:
    """60 to 150 households; a few added during the year, a few since removed."""
    rows = []
    for number in range(1, rng.randint(60, 150) + 1):
        late = rng.random() < 0.05
        created = (
            _moment(rng, year, (3, 1), (9, 30), now)
            if late
            else dt.datetime(year - 1, 12, 1, tzinfo=dt.UTC)
        )
        removed = _moment(rng, year, (6, 1), (10, 31), now) if rng.random() < 0.02 else None
        members = rng.randint(2, 7)
        # Most leaders give the working-age members; a few have not yet (the report says so).
        working_age = rng.randint(1, members) if rng.random() < 0.97 else None
        rows.append(
            {
                "village_id": village.id,
                "code": f"H{number:03d}",
                "head_name": vietnamese_name(rng),
                "members": members,
                "working_age": working_age,
                "created_at": created,
                "removed_at": removed,
            }
        )
    await session.execute(insert(table_of(Household)), rows)
    found = await session.scalars(
        select(Household)
        .where(Household.village_id == village.id, Household.removed_at.is_(None))
        .order_by(Household.code)
    )
    return list(found)


async def _fill_village(
    session: AsyncSession,
    forms: FormRegistry,
    village: Unit,
    leader: Person,
    year: int,
    rng: random.Random,
    now: dt.datetime,
    tally: _Tally,
) -> None:
    form = forms.get(GDHT)
    households = await _households(session, village, year, rng, now)
    tally.households += len(households)
    registered = [h for h in households if rng.random() < 0.9]
    session.add_all(
        Registration(
            household_id=h.id, year=year, registered_at=_moment(rng, year, (1, 15), (3, 31), now)
        )
        for h in registered
    )
    for household in registered:
        roll = rng.random()
        if roll < 0.93:
            care = 0.95 if rng.random() < 0.65 else 0.5  # about 70 % meet the criteria
            when = _moment(rng, year, (4, 1), (10, 31), now)
            limit = None if roll < 0.88 else 3  # the rest are drafts left half done
            await _assess(session, form, household, leader, year, care, limit, when, rng)
            tally.assessed += limit is None


async def _assess(
    session: AsyncSession,
    form: Form,
    household: Household,
    leader: Person,
    year: int,
    care: float,
    limit: int | None,
    when: dt.datetime,
    rng: random.Random,
) -> Assessment:
    assessment = await assessing.open_household_assessment(
        session, form, household, year, leader.id, when
    )
    answers = walk(form, rng, care, limit)
    await _store(session, assessment, answers, when)
    if limit is None:
        assessing.submit(assessment, evaluate(form, answers, "vi"), when)
    return assessment


async def _store(
    session: AsyncSession, assessment: Assessment, answers: dict[str, str], when: dt.datetime
) -> None:
    if answers:
        await session.execute(
            insert(table_of(Answer)),
            [
                {
                    "assessment_id": assessment.id,
                    "question_id": qid,
                    "value": value,
                    "answered_at": when,
                }
                for qid, value in answers.items()
            ],
        )
    assessment.updated_at = when


async def _review_village(
    session: AsyncSession,
    officer: Person,
    commune: Unit,
    village: Unit,
    year: int,
    rng: random.Random,
    now: dt.datetime,
    tally: _Tally,
) -> None:
    """Most villages have held their meeting: a few returned or refused, the passing ones
    recognised by one decision of the commune."""
    if rng.random() < 0.2:
        return  # this village's meeting has not taken place yet
    pending = await review.pending_reviews(session, officer.id, commune, year)
    mine = [item for item in pending if item.village_id == village.id]
    returned = rng.sample(mine, min(len(mine), rng.randint(0, 3)))
    for item in returned:
        comment = rng.choice(RETURN_COMMENTS)
        await review.return_for_changes(session, officer.id, item.assessment_id, comment, now)
    tally.returned += len(returned)
    for item in mine:
        if not item.passed and item not in returned and rng.random() < 0.5:
            await review.refuse(session, officer.id, item.assessment_id, "", now)
    decided = _moment(rng, year, (11, 1), (12, 10), now).astimezone(TIMEZONE).date()
    number = f"{rng.randint(10, 250)}/QĐ-UBND"
    tally.recognised += await review.recognise_all_passing(
        session, officer.id, village.id, year, number, decided, now
    )


async def _community(
    session: AsyncSession,
    forms: FormRegistry,
    village: Unit,
    leader: Person,
    officer: Person,
    year: int,
    rng: random.Random,
    now: dt.datetime,
) -> None:
    """Most branch leaders have assessed their village for Cộng đồng học tập (its figures
    counted from the households' and citizens' results above); the commune has recognised
    most of those that meet the criteria."""
    if rng.random() < 0.25:
        return  # not assessed yet
    when = _moment(rng, year, (11, 15), (12, 10), now)
    assessment = await communities.open_assessment(session, forms, village, year, leader.id, when)
    await _decided(session, forms, assessment, leader, officer, 0.85, year, when, rng, now)


async def _decided(
    session: AsyncSession,
    forms: FormRegistry,
    assessment: Assessment,
    assessor: Person,
    officer: Person,
    care: float,
    year: int,
    when: dt.datetime,
    rng: random.Random,
    now: dt.datetime,
) -> None:
    """A village's, clan's or unit's own assessment answered (its figures filled first) and
    submitted; the commune recognised most of those that met the criteria."""
    form = forms.get(assessment.form_key, assessment.form_version)
    await figures.fill(session, form, assessment, assessor.id, when)
    await _store(session, assessment, walk(form, rng, care), when)
    answers = await assessing.stored_answers(session, assessment.id)
    assessing.submit(assessment, evaluate(form, answers, "vi"), when)
    await session.flush()
    if assessment.passed and rng.random() < 0.8:
        decided = _moment(rng, year, (12, 1), (12, 10), now).astimezone(TIMEZONE).date()
        number = f"{rng.randint(10, 250)}/QĐ-UBND"
        await figures.recognise(session, forms, officer.id, assessment.id, number, decided, now)


CLAN_NAMES = ("Họ Nguyễn Văn", "Họ Trần Đình", "Họ Lê Văn", "Họ Phạm Quang", "Họ Đỗ Đức")


async def _clans(
    session: AsyncSession,
    forms: FormRegistry,
    commune: Unit,
    officer: Person,
    year: int,
    rng: random.Random,
    now: dt.datetime,
) -> None:
    """The commune's big clans, their households in several villages; most assessed, the
    commune recognised most of those that met the criteria."""
    found = [await clans.add(session, officer.id, commune, name, now) for name in CLAN_NAMES]
    households = await session.scalars(
        select(Household.id)
        .join(Unit, Unit.id == Household.village_id)
        .where(Unit.parent_id == commune.id, Household.removed_at.is_(None))
        .order_by(Household.id)
    )
    rows = [
        {"household_id": household, "clan_id": rng.choice(found).id, "added_at": now}
        for household in households
        if rng.random() < 0.4
    ]
    if rows:
        await session.execute(insert(table_of(ClanHousehold)), rows)
    for clan in found:
        if rng.random() < 0.2:
            continue  # not assessed yet
        when = _moment(rng, year, (11, 15), (12, 10), now)
        assessment = await clans.open_assessment(session, forms, clan, year, officer.id, when)
        await _decided(session, forms, assessment, officer, officer, 0.85, year, when, rng, now)


UNIT_NAMES = (
    ("school", "Trường Mầm non {commune}"),
    ("school", "Trường Tiểu học {commune}"),
    ("school", "Trường THCS {commune}"),
    ("agency", "Trạm Y tế {commune}"),
    ("agency", "Ủy ban nhân dân {commune}"),
    ("cooperative", "Hợp tác xã Nông nghiệp {commune}"),
    ("enterprise", "Công ty TNHH May Thành Công"),
)


async def _learning_units(
    session: AsyncSession,
    forms: FormRegistry,
    commune: Unit,
    officer: Person,
    year: int,
    rng: random.Random,
    now: dt.datetime,
) -> None:
    """The commune's schools, agencies, cooperative and an enterprise; most assessed
    themselves (their heads), and the commune recognised most of those that met the mark."""
    place = commune.name.split(" ", 1)[-1]
    for kind, name in UNIT_NAMES:
        staff = rng.randint(8, 60)
        unit = await organisations.add(
            session, officer.id, commune, kind, name.format(commune=place), staff, now
        )
        if rng.random() < 0.15:
            continue  # not assessed yet
        when = _moment(rng, year, (10, 1), (12, 5), now)
        assessment = await organisations.open_assessment(
            session, forms, unit, year, officer.id, when
        )
        await _decided(session, forms, assessment, officer, officer, 0.8, year, when, rng, now)


async def _citizens(
    session: AsyncSession,
    forms: FormRegistry,
    village: Unit,
    leader: Person,
    year: int,
    rng: random.Random,
    now: dt.datetime,
    tally: _Tally,
) -> None:
    """Citizens of the village who checked themselves against Công dân học tập, each with the
    form of their group (most are rural residents); the branch leader has confirmed the title
    of most of those who meet the criteria."""
    for _number in range(rng.randint(8, 25)):
        when = _moment(rng, year, (2, 1), (11, 30), now)
        person = await _person(session, vietnamese_name(rng), None, when)
        person.home_unit_id = village.id  # counted in the village the citizen lives in
        group = rng.choices(groups.GROUPS, weights=GROUP_WEIGHTS)[0]
        person.citizen_group = group.id
        form = forms.get(group.form_key)
        assessment = await assessing.open_own_assessment(
            session, form, person.id, year, when, unit_id=village.id
        )
        answers = walk(form, rng, 0.95 if rng.random() < 0.72 else 0.5)  # about 60 % pass
        await _store(session, assessment, answers, when)
        assessing.submit(assessment, evaluate(form, answers, "vi"), when)
        await session.flush()
        if assessment.passed and rng.random() < 0.7:
            await titles.confirm(session, forms, leader.id, assessment.id, now)
        tally.citizens += 1
