"""Answer history: an answer changed before recognition keeps its earlier value once, written
with the change; the officer reviewing a resubmission sees what changed since the previous
submission; totals count the resubmission once; a recognised result cannot change; /mydata
counts the kept values and erasure removes them."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import answering
from bot.chat import review as review_chat
from bot.chat.callbacks import ANSWER, pack, unpack
from bot.chat.messages import Actor, Inbound, Outbound
from bot.chat.review_callbacks import OPEN
from bot.chat.review_callbacks import pack as review_pack
from bot.chat.turn import Turn
from bot.i18n import use_locale
from bot.services import assessing, privacy, review
from bot.services.context import GDHT, Services
from bot.services.people import Conversation
from bot.services.units import add_village
from bot.storage.models import (
    Answer,
    AnswerRevision,
    Assessment,
    Household,
    Person,
    RoleAssignment,
    Unit,
)
from bot.storage.queries import child_counts
from conversations.engine import Input, Prompt, Review
from conversations.loader import load_forms

pytestmark = pytest.mark.usefixtures("geography")

HOAN_KIEM = "00070"
YEAR = 2025
DRAFTED = dt.datetime(2025, 10, 1, 2, 0, tzinfo=dt.UTC)
RETURNED = dt.datetime(2025, 10, 5, 2, 0, tzinfo=dt.UTC)
EDITED = dt.datetime(2025, 10, 6, 2, 0, tzinfo=dt.UTC)
DECIDED = dt.datetime(2025, 10, 20, 2, 0, tzinfo=dt.UTC)
FORMS = load_forms()
FORM = FORMS.get(GDHT)


class Village:
    """A village of Hoàn Kiếm with one household, its leader and the commune's officer."""

    def __init__(self, session: AsyncSession, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.session = session
        self.services = Services(sessions, FORMS, clock=lambda: DECIDED)

    async def build(self) -> Village:
        self.unit = await add_village(self.session, HOAN_KIEM, "Thôn Đông")
        commune = await self.session.scalar(select(Unit).where(Unit.code == HOAN_KIEM))
        assert commune is not None
        self.leader = await self._person("Trưởng thôn", "leader", self.unit.id)
        self.officer = await self._person("Cán bộ xã", "officer", commune.id)
        self.household = Household(
            village_id=self.unit.id,
            code="H001",
            head_name="Nguyễn Văn An",
            members=4,
            created_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
        )
        self.session.add(self.household)
        await self.session.flush()
        self.assessment = await assessing.open_household_assessment(
            self.session, FORM, self.household, YEAR, self.leader.id, DRAFTED
        )
        return self

    async def _person(self, name: str, role: str, unit_id: int) -> Person:
        person = Person(display_name=name, consent_at=DRAFTED)
        self.session.add(person)
        await self.session.flush()
        self.session.add(RoleAssignment(person_id=person.id, role=role, unit_id=unit_id))
        return person

    async def step(self, inp: Input, now: dt.datetime) -> Prompt | Review:
        outcome = await assessing.apply(
            self.session, self.assessment, FORM, inp, "vi", now, by=self.leader.id
        )
        assert isinstance(outcome.reply, Prompt | Review), outcome.reply
        return outcome.reply

    async def answer_everything_yes(self, now: dt.datetime) -> None:
        reply = await self.step(Input("start"), now)
        while isinstance(reply, Prompt):
            best = "yes" if reply.kind == "yesno" else reply.choices[0].id
            reply = await self.step(Input("answer", best, reply.step), now)

    async def change(self, qid: str, value: str, now: dt.datetime) -> None:
        """At the review screen: edit one answer, then walk on to the review again."""
        reply = await self.step(Input("edit", value=qid), now)
        reply = await self.step(Input("answer", value, qid), now)
        while isinstance(reply, Prompt):  # questions an edit made visible again
            reply = await self.step(Input("answer", reply.choices[0].id, reply.step), now)

    async def submit(self, now: dt.datetime) -> None:
        await assessing.apply(
            self.session, self.assessment, FORM, Input("submit"), "vi", now, by=self.leader.id
        )
        assert self.assessment.state == "submitted"

    async def revisions(self) -> list[tuple[str, str, int]]:
        rows = await self.session.execute(
            select(
                AnswerRevision.question_id, AnswerRevision.value, AnswerRevision.submission_round
            ).order_by(AnswerRevision.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]

    async def answers(self) -> dict[str, str]:
        return await assessing.stored_answers(self.session, self.assessment.id)

    def turn(self, person: Person, choice: str, conversation: Conversation) -> Turn:
        actor = Actor("terminal", person.display_name, person.display_name)
        inbound = Inbound(actor, choice=choice)
        return Turn(self.session, self.services, person, inbound, DECIDED, conversation,
                    Outbound())  # type: ignore[arg-type]  # fmt: skip


@pytest.fixture
async def village(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> Village:
    built = await Village(session, session_factory).build()
    await session.commit()
    return built


async def _returned_edited_resubmitted(v: Village) -> None:
    """Drafted (one answer changed there too), returned, edited, resubmitted."""
    await v.answer_everything_yes(DRAFTED)
    await v.change("c4b", "no", DRAFTED)  # a change in the first draft: round 0
    await v.submit(DRAFTED)
    await review.return_for_changes(
        v.session, v.officer.id, v.assessment.id, "Xem lại mục 2 và 3", RETURNED
    )
    await v.change("c2b", "no", EDITED)
    await v.change("c3a", "no", EDITED)
    await v.change("c3a", "yes", EDITED)  # and back: its values are kept, nothing changed
    await v.change("c2b", "no", EDITED)  # the same value again: nothing to keep
    await v.change("tre-em", "no", EDITED)  # hides criterion 1: its three answers are cleared
    await v.submit(EDITED)
    await v.session.commit()


async def test_every_earlier_value_is_kept_once_with_who_and_when(village: Village) -> None:
    await _returned_edited_resubmitted(village)
    assert await village.revisions() == [
        ("c4b", "yes", 0),
        ("c2b", "yes", 1),
        ("c3a", "yes", 1),
        ("c3a", "no", 1),
        ("tre-em", "yes", 1),
        ("c1a", "day-du", 1),
        ("c1b", "yes", 1),
        ("c1c", "yes", 1),
    ]
    kept = (await village.session.scalars(select(AnswerRevision))).all()
    assert {(r.replaced_by, r.replaced_at) for r in kept if r.submission_round == 1} == {
        (village.leader.id, EDITED)
    }
    given_later = [(r.question_id, r.value) for r in kept if r.answered_at == EDITED]
    assert given_later == [("c3a", "no")]  # every other kept value was given in the draft
    now = await village.answers()
    assert (now["c2b"], now["c3a"], now["tre-em"], now["c4b"]) == ("no", "yes", "no", "no")
    assert "c1a" not in now
    assert village.assessment.submissions == 2


async def test_the_officer_sees_what_changed_since_the_previous_submission(
    village: Village,
) -> None:
    await _returned_edited_resubmitted(village)
    changes = await review.changes_since_last_submission(
        village.session, village.officer.id, village.assessment.id
    )
    assert sorted(changes, key=lambda c: FORM.order(c.question_id)) == [
        review.AnswerChange("tre-em", "yes", "no"),
        review.AnswerChange("c1a", "day-du", None),
        review.AnswerChange("c1b", "yes", None),
        review.AnswerChange("c1c", "yes", None),
        review.AnswerChange("c2b", "yes", "no"),
    ]  # not c3a (changed and changed back), not c4b (changed before the first submission)
    turn = village.turn(village.officer, review_pack(OPEN, village.assessment.id), Conversation())
    await review_chat.on_review_button(turn, unpack(turn.inbound.choice or ""))
    card = turn.out.replies[0].text.html().split("\n")
    assert "Đã trả lại kèm ý kiến: Xem lại mục 2 và 3" in card
    changed = card[card.index("<b>Đã sửa so với lần gửi trước:</b>") + 1 :]
    assert changed[0] == "Câu 1 (Có con cháu tuổi đi học): trước “Có”, nay “Không”"
    assert changed[1] == (
        "Câu 2 (Con cháu đi học đầy đủ): trước “Có, các cháu đều đi học”, nay “chưa trả lời”"
    )
    assert changed[-1] == "Câu 6 (Người lớn có đi học): trước “Có”, nay “Không”"
    assert len(changed) == 5


async def test_a_resubmission_without_changes_says_so_and_a_first_one_shows_nothing(
    village: Village,
) -> None:
    await village.answer_everything_yes(DRAFTED)
    await village.submit(DRAFTED)
    first = village.turn(village.officer, "", Conversation())
    with use_locale("en"):
        await review_chat.on_review_button(first, unpack(review_pack(OPEN, village.assessment.id)))
    assert "previous submission" not in first.out.replies[0].text.html()
    await review.return_for_changes(
        village.session, village.officer.id, village.assessment.id, "Kiểm tra lại", RETURNED
    )
    await village.step(Input("start"), EDITED)
    await village.submit(EDITED)
    again = village.turn(village.officer, "", Conversation())
    with use_locale("en"):
        await review_chat.on_review_button(again, unpack(review_pack(OPEN, village.assessment.id)))
    assert (
        "No answer was changed since the previous submission." in again.out.replies[0].text.html()
    )


async def test_only_the_communes_officer_sees_the_changes(village: Village) -> None:
    await _returned_edited_resubmitted(village)
    with pytest.raises(review.ReviewError):
        await review.changes_since_last_submission(
            village.session, village.leader.id, village.assessment.id
        )


async def test_totals_count_the_resubmission_once(village: Village) -> None:
    await _returned_edited_resubmitted(village)
    [row] = await child_counts(village.session, village.unit, YEAR, [GDHT], [])
    assert (row.counts.households, row.counts.assessed, row.counts.pending) == (1, 1, 1)
    assert row.counts.returned == 0


async def test_a_recognised_result_cannot_be_edited(village: Village) -> None:
    await village.answer_everything_yes(DRAFTED)
    await village.submit(DRAFTED)
    await review.recognise(
        village.session, village.officer.id, village.assessment.id, "9/QĐ-UBND",
        DECIDED.date(), DECIDED,
    )  # fmt: skip
    await village.session.commit()
    before = (await village.answers(), await village.revisions())
    [counted] = await child_counts(village.session, village.unit, YEAR, [GDHT], [])
    with pytest.raises(assessing.AssessmentLocked):
        await village.step(Input("edit", value="c2b"), DECIDED)
    # A tap on an old button under a question, as the chat would send it.
    data = pack(ANSWER, village.assessment.id, "c2b", "no")
    turn = village.turn(village.leader, data, Conversation(answering.FLOW))
    with use_locale("en"):
        await answering.on_button(turn, unpack(data))
    assert str(turn.out.notice) == "This assessment was already submitted."
    await village.session.commit()
    assert (await village.answers(), await village.revisions()) == before
    assert village.assessment.state == "recognised"
    assert await child_counts(village.session, village.unit, YEAR, [GDHT], []) == [counted]
    assert counted.counts.recognised == 1


async def test_mydata_counts_the_kept_values_and_erasure_removes_them(
    village: Village,
) -> None:
    await _returned_edited_resubmitted(village)
    citizen = Person(display_name="Lan", consent_at=DRAFTED)
    village.session.add(citizen)
    await village.session.flush()
    form = FORMS.get("cong-dan-hoc-tap")
    own = await assessing.open_own_assessment(village.session, form, citizen.id, YEAR, DRAFTED)
    for inp in (Input("answer", "thuong-xuyen", "cs1"), Input("back", question="cs2"),
                Input("answer", "kha", "cs1")):  # fmt: skip
        await assessing.apply(village.session, own, form, inp, "vi", EDITED, by=citizen.id)

    mine = await privacy.personal_data(village.session, citizen)
    assert (mine.answers, mine.revisions, mine.household_changes) == (1, 1, 0)
    leaders = await privacy.personal_data(village.session, village.leader)
    assert (leaders.revisions, leaders.household_changes) == (0, 8)

    await privacy.erase_person(village.session, citizen, EDITED)
    assert await _kept(village.session, own.id) == 0
    assert await _kept(village.session, village.assessment.id) == 8  # the household's stay
    await privacy.remove_household(village.session, village.leader.id, village.household, EDITED)
    await village.session.commit()
    assert await village.session.scalar(select(func.count()).select_from(AnswerRevision)) == 0
    assert await village.session.scalar(select(func.count()).select_from(Answer)) == 0
    assert await village.session.get(Assessment, village.assessment.id) is not None


async def _kept(session: AsyncSession, assessment_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(AnswerRevision)
        .where(AnswerRevision.assessment_id == assessment_id)
    )
    return count or 0
