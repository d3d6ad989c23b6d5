"""Citizens doing the Công dân học tập self-check, as updates queued on a fake Bot API.

Owns the scripted load the durability tests replay: each citizen's intended answers, the updates
that give them (typed numbers, typed labels, taps, a few mistyped answers), and reading back
what the database holds per citizen. Tap data is built with the bot's own ``pack`` from the
assessment id the database (or the bot's last message) shows, as a phone would.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.callbacks import ANSWER, CONSENT, GROUP, pack
from bot.chat.presenting import REVIEW_STEP, SUBMIT
from bot.services.context import CDHT
from bot.storage.models import Answer, Assessment, ChatState, Identity, InboxUpdate, Person
from conversations.engine import evaluate
from conversations.loader import load_forms
from conversations.model import Form
from tests.support.fake_telegram import ANSWER_METHODS, FakeBotApi, FakeMessage, FakeUser

REPLY_WAIT = 10.0  # seconds a walking citizen waits for the bot's answer before going on
MISTYPED = "không rõ"  # fits no option: the bot re-asks and nothing moves
FIRST_USER_ID = 700_000
# Taps are made on bot messages the load builds itself, each with an id of its own counting down
# from here (far above the ids the fake gives the bot's real messages): a tap on a new message
# is never taken for a second tap of the last one.
_TAPPED_TOP = 10**9

Enqueue = Callable[[], int]  # queues one update on the fake, returns its update id


def self_check_form() -> Form:
    """The shipped Công dân học tập form, as the bot loads it."""
    return load_forms().get(CDHT)


@dataclass
class Citizen:
    """One person, what they mean to answer, and how far their updates are queued."""

    number: int
    user: FakeUser
    answers: dict[str, str]  # question id -> option id, the end state they mean to reach
    assessment_id: int | None = None
    finished_queueing: bool = False
    update_ids: list[int] = field(default_factory=list)
    unanswered: list[int] = field(default_factory=list)  # updates whose reply never came

    @property
    def external_id(self) -> str:
        return str(self.user.id)


def citizens(api: FakeBotApi, form: Form, count: int) -> list[Citizen]:
    """``count`` citizens whose answers to consecutive questions always differ.

    So an update applied twice or lost shifts a typed answer onto the wrong question, and the
    stored answers no longer equal the intended ones.
    """
    people = []
    for number in range(count):
        user = api.user(FIRST_USER_ID + number, f"Dân {number}", "vi", last_name="Nguyễn")
        answers = {
            question.id: question.options[(number * 7 + index * 3) % len(question.options)].id
            for index, question in enumerate(form.questions)
        }
        people.append(Citizen(number, user, answers))
    return people


class Script:
    """Builds each citizen's updates; each tap is on a bot message of its own in their chat."""

    def __init__(self, api: FakeBotApi, form: Form) -> None:
        self.api = api
        self.form = form
        self._tapped = 0

    def text(self, citizen: Citizen, text: str) -> Enqueue:
        return lambda: self._track(citizen, self.api.send_text(citizen.user, text))

    def tap(self, citizen: Citizen, data: str) -> Enqueue:
        return lambda: self._track(citizen, self.api.press(citizen.user, self._on(citizen), data))

    def opening(self, citizen: Citizen) -> list[Enqueue]:
        """Greeting, consent, the self-check, and the first two answers typed as numbers."""
        first, second = self.form.questions[:2]
        return [
            self.text(citizen, "/start"),
            self.tap(citizen, pack(CONSENT, "yes", "vi", "")),
            self.text(citizen, "/selfcheck"),
            self.tap(citizen, pack(GROUP, "resident", "s")),  # the group, asked once
            self.text(citizen, self._number(first.id, citizen.answers[first.id])),
            self.text(citizen, self._number(second.id, citizen.answers[second.id])),
        ]

    def rest(self, citizen: Citizen) -> list[Enqueue]:
        """The other answers (taps, numbers, labels, some mistyped first), then Submit."""
        assert citizen.assessment_id is not None
        steps = []
        for index, question in enumerate(self.form.questions[2:], start=2):
            option = citizen.answers[question.id]
            way = (citizen.number + index) % 3
            if (citizen.number + index) % 7 == 0:
                steps.append(self.text(citizen, MISTYPED))
            if way == 0:
                data = pack(ANSWER, citizen.assessment_id, question.id, option)
                steps.append(self.tap(citizen, data))
            elif way == 1:
                steps.append(self.text(citizen, self._number(question.id, option)))
            else:
                label = next(o.label["vi"] for o in question.options if o.id == option)
                steps.append(self.text(citizen, label))
        steps.append(self.tap(citizen, pack(ANSWER, citizen.assessment_id, REVIEW_STEP, SUBMIT)))
        return steps

    def _number(self, question_id: str, option_id: str) -> str:
        options = self.form.question(question_id).options
        return str(next(n for n, o in enumerate(options, start=1) if o.id == option_id))

    def _on(self, citizen: Citizen) -> FakeMessage:
        """A message of the bot's in this chat with the button being tapped."""
        self._tapped += 1
        return FakeMessage(
            chat=citizen.user.chat_dict(),
            message_id=_TAPPED_TOP - self._tapped,
            sender=self.api.bot_user(),
            date=int(time.time()),
            text="…",
        )

    @staticmethod
    def _track(citizen: Citizen, update_id: int) -> int:
        citizen.update_ids.append(update_id)
        return update_id


def interleave(queues: Sequence[Sequence[Enqueue]]) -> int:
    """Queue one update of each list in turn (chats interleave as in real traffic)."""
    queued = 0
    for round_ in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if round_ < len(queue):
                queue[round_]()
                queued += 1
    return queued


async def assessment_ids(
    sessions: async_sessionmaker[AsyncSession], people: Iterable[Citizen]
) -> dict[str, int]:
    """The self-check each citizen has opened so far, by Telegram user id."""
    wanted = [c.external_id for c in people]
    async with sessions() as session:
        rows = await session.execute(
            select(Identity.external_id, Assessment.id)
            .join(Assessment, Assessment.person_id == Identity.person_id)
            .where(Identity.channel == "telegram", Identity.external_id.in_(wanted))
            .where(Assessment.subject == "person")
        )
        found = {external_id: aid for external_id, aid in rows}
        await session.commit()
    return found


@dataclass(frozen=True)
class Outcome:
    """What the database holds for one citizen, in terms that do not depend on row ids."""

    people: int
    consented: bool
    assessments: tuple[tuple[str, str, float | None, bool | None], ...]  # form, state, score, pass
    answers: tuple[tuple[str, str], ...]
    flow: str | None


async def outcomes(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Outcome]:
    """Every Telegram user's stored end state."""
    async with sessions() as session:
        identities = (
            await session.execute(
                select(Identity.external_id, Identity.person_id).where(
                    Identity.channel == "telegram"
                )
            )
        ).all()
        result = {}
        for external_id, person_id in identities:
            result[external_id] = await _outcome(session, external_id, person_id)
        await session.commit()
    return result


async def _outcome(session: AsyncSession, external_id: str, person_id: int) -> Outcome:
    people = await session.scalar(
        select(func.count())
        .select_from(Identity)
        .where(Identity.channel == "telegram", Identity.external_id == external_id)
    )
    person = await session.get(Person, person_id)
    assert person is not None
    assessments = (
        await session.scalars(
            select(Assessment).where(Assessment.person_id == person_id).order_by(Assessment.id)
        )
    ).all()
    answers = await session.execute(
        select(Answer.question_id, Answer.value)
        .join(Assessment, Assessment.id == Answer.assessment_id)
        .where(Assessment.person_id == person_id)
        .order_by(Answer.question_id)
    )
    state = await session.get(ChatState, person_id)
    return Outcome(
        people=people or 0,
        consented=person.consent_at is not None,
        assessments=tuple((a.form_key, a.state, a.score, a.passed) for a in assessments),
        answers=tuple((qid, value) for qid, value in answers),
        flow=state.flow if state is not None else None,
    )


def expected(form: Form, citizen: Citizen) -> Outcome:
    """The end state of one citizen whose every update took effect once, in order."""
    result = evaluate(form, citizen.answers)
    return Outcome(
        people=1,
        consented=True,
        assessments=((form.key, "submitted", result.total, result.recognised),),
        answers=tuple(sorted(citizen.answers.items())),
        flow="",
    )


async def pending_count(sessions: async_sessionmaker[AsyncSession]) -> int:
    """How many stored updates the bot has not applied yet."""
    async with sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(InboxUpdate)
            .where(InboxUpdate.channel == "telegram", InboxUpdate.done_at.is_(None))
        )
        await session.commit()
    return count or 0


async def done_update_ids(sessions: async_sessionmaker[AsyncSession]) -> set[int]:
    """Update ids whose inbox row is marked done."""
    async with sessions() as session:
        rows = await session.scalars(
            select(InboxUpdate.update_id).where(
                InboxUpdate.channel == "telegram", InboxUpdate.done_at.is_not(None)
            )
        )
        done = set(rows)
        await session.commit()
    return done


Deliver = Callable[[int], Awaitable[None]]  # hands one queued update to the bot


async def walk(api: FakeBotApi, form: Form, citizen: Citizen, deliver: Deliver) -> None:
    """Go through the self-check as a person does: each step once the last one was answered.

    Taps are made on the bot's real messages; the assessment id comes from their buttons.
    """
    user = citizen.user

    async def step(queue: Callable[[], int]) -> None:
        mark = len(api.calls)
        update_id = queue()
        citizen.update_ids.append(update_id)
        await deliver(update_id)

        def answered() -> bool:
            return any(
                c.ok and c.method in ANSWER_METHODS and c.chat_id == user.id
                for c in api.calls[mark:]
            )

        try:
            await api.wait_until(answered, REPLY_WAIT, describe=f"a reply to {update_id}")
        except AssertionError:
            # A reply can be lost after the effect committed (a failed send is not retried);
            # a person would carry on, and the stored data is what the tests compare.
            citizen.unanswered.append(update_id)

    def tap(data: str) -> Callable[[], int]:
        prefix = data.split(":")[0] + ":"

        def press() -> int:
            message = _newest_with(api, user.id, prefix)
            assert message is not None, f"no button {data} in chat {user.id}"
            return api.press(user, message, data)

        return press

    def text(words: str) -> Callable[[], int]:
        return lambda: api.send_text(user, words)

    await step(text("/start"))
    await step(tap(pack(CONSENT, "yes", "vi", "")))
    await step(text("/selfcheck"))
    for _again in range(3):  # its reply lost after the commit: ask again, as a person would
        if _newest_with(api, user.id, GROUP + ":") is not None:
            break
        await step(text("/selfcheck"))
    await step(tap(pack(GROUP, "resident", "s")))
    for index, question in enumerate(form.questions):
        option = citizen.answers[question.id]
        number = next(n for n, o in enumerate(question.options, start=1) if o.id == option)
        if (citizen.number + index) % 5 == 0:
            await step(text(MISTYPED))
        if (citizen.number + index) % 2 == 0:
            aid = await _assessment_on_screen(api, user.id)
            await step(tap(pack(ANSWER, aid, question.id, option)))
        else:
            await step(text(str(number)))
    aid = await _assessment_on_screen(api, user.id)
    await step(tap(pack(ANSWER, aid, REVIEW_STEP, SUBMIT)))


def _newest_with(api: FakeBotApi, chat_id: int, prefix: str) -> FakeMessage | None:
    """The bot's newest message in the chat with a button whose data starts with ``prefix``."""
    for message in reversed(api.messages_to(chat_id)):
        if any(data.startswith(prefix) for row in message.buttons for _label, data in row):
            return message
    return None


async def _assessment_on_screen(api: FakeBotApi, chat_id: int) -> int:
    """The assessment id the question's buttons carry (``a:<id>:<step>:<value>``), once shown.

    A reply can lag one step behind with two workers, so the question may not be there yet.
    """
    prefix = f"{ANSWER}:"
    message = await api.wait_until(
        lambda: _newest_with(api, chat_id, prefix), describe=f"a question in chat {chat_id}"
    )
    assert message is not None
    data = next(d for row in message.buttons for _label, d in row if d.startswith(prefix))
    return int(data.split(":")[1])
