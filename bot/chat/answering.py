"""Walking an assessment: a tapped answer or typed text goes through the engine, is stored, and
the next question (or the review, or the result) comes back.

Who may touch an assessment: its own person (a self-check), a leader of the household's
village, or, for a village's own assessment, its leader or its commune's officer. A village's
figures are counted again before each step (``bot/services/communities.py``). Must not import
any platform library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import account, presenting
from bot.chat.callbacks import HOUSEHOLD, Callback, pack
from bot.chat.menus import menu_reply
from bot.chat.messages import Button, Reply
from bot.chat.turn import Turn
from bot.i18n import _
from bot.rich import Text, lines, t
from bot.services import assessing, audit, clans, communities, figures, organisations
from bot.services.context import CDHT_FORMS
from bot.services.people import Conversation, villages_led
from bot.storage.models import Assessment, Clan, Household, Organisation, Unit
from conversations.engine import Input, Outcome, Problem, Prompt, Result, Review
from conversations.model import Form
from conversations.text import fold

FLOW = "assess"


async def begin(turn: Turn, assessment: Assessment) -> None:
    """Show where an assessment stands: its current question, its review, or its result."""
    if assessment.state not in assessing.OPEN_STATES:
        await show_result(turn, assessment)
        return
    await _step(turn, assessment, Input("start"))


async def on_button(turn: Turn, callback: Callback) -> None:
    """An answer, back, skip, edit or submit tapped under a question."""
    assessment_id, step, value = callback.fields
    locked = await _allowed(turn, int(assessment_id)) if assessment_id.isdigit() else None
    if locked is None:
        turn.out.notice = t(_("This assessment is not yours to change."))
        return
    if locked.assessment.state not in assessing.OPEN_STATES:
        turn.out.notice = t(_("This assessment was already submitted."))
        await show_result(turn, locked.assessment)
        return
    await _step(turn, locked.assessment, _input(step, value), answers=locked.answers)


async def on_text(turn: Turn, text: str) -> None:
    """Typed text while a question is open: the engine matches it as it matches buttons."""
    locked = await _allowed(turn, int(turn.conversation.data.get("id", 0)))
    if locked is None or locked.assessment.state not in assessing.OPEN_STATES:
        turn.conversation = Conversation()
        turn.out.add(await menu_reply(turn))
        return
    inp = Input("answer", value=text)
    await _step(turn, locked.assessment, inp, typed=True, answers=locked.answers)


async def again(turn: Turn, problem: str) -> bool:
    """Show the open question again with ``problem`` above its choices ("not_text": a photo,
    sticker or voice message; "unknown_command"); False when no assessment is open."""
    locked = await _allowed(turn, int(turn.conversation.data.get("id", 0)))
    if locked is None or locked.assessment.state not in assessing.OPEN_STATES:
        return False
    await _step(
        turn, locked.assessment, Input("start"), answers=locked.answers, problem=Problem(problem)
    )
    return True


def _by_prefix(reply: Prompt | Review | Result, typed: str) -> Input | None:
    """The one choice whose label starts with what was typed, as a tap on it; else None.

    People type the start of a long label ("thuong xuyen" for "Thường xuyên, hằng ngày"); the
    engine accepts only whole labels, so a unique whole-word prefix is read here as that choice.
    An ambiguous prefix ("có" for two "Có, …" options) stays a problem.
    """
    if not isinstance(reply, Prompt) or reply.problem is None:
        return None
    if reply.problem.code != "unknown_choice":
        return None
    words = fold(typed).split()
    if not words:
        return None
    found = [c for c in reply.choices if fold(c.label).split()[: len(words)] == words]
    if len(found) != 1:
        return None
    return Input("answer", value=found[0].id, question=reply.step)


def _input(step: str, value: str) -> Input:
    if value == presenting.BACK:
        return Input("back", question=step)
    if value == presenting.SKIP:
        return Input("skip", question=step)
    if value == presenting.SUBMIT:
        return Input("submit")
    if value == presenting.REVIEW:
        return Input("review")
    if value.startswith(presenting.EDIT):
        return Input("edit", value=value.removeprefix(presenting.EDIT))
    if step == presenting.REVIEW_STEP:
        return Input("answer", value=value)
    return Input("answer", value=value, question=step)


async def _step(
    turn: Turn,
    assessment: Assessment,
    inp: Input,
    typed: bool = False,
    answers: Mapping[str, str] | None = None,
    problem: Problem | None = None,
) -> None:
    form = await assessing.form_of(turn.session, turn.services.forms, assessment)
    if await figures.fill(turn.session, form, assessment, turn.person.id, turn.now):
        answers = None  # the figures just stored are read with the rest
    outcome = await assessing.apply(
        turn.session, assessment, form, inp, turn.lang, turn.now, answers, by=turn.person.id
    )
    retry = _by_prefix(outcome.reply, inp.value) if typed else None
    if retry is not None:
        outcome = await assessing.apply(
            turn.session, assessment, form, retry, turn.lang, turn.now, by=turn.person.id
        )
    if problem is not None and isinstance(outcome.reply, Prompt | Review):
        outcome = replace(outcome, reply=replace(outcome.reply, problem=problem))
    reply = outcome.reply
    turn.conversation = Conversation(FLOW, {"id": assessment.id})
    if isinstance(reply, Prompt | Review) and reply.problem and reply.problem.code == "stale":
        # An old button, or a second tap of one: the newest message already shows the current
        # step (a tap edits it in place), so a short note is all; re-sending it would clutter.
        turn.out.notice = presenting.problem_text(reply.problem)
        return
    header = await _header(turn.session, assessment, form.title.get(turn.lang, form.key))
    turn.out.add(_render(outcome, assessment, form, header, edit=turn.tapped))
    if isinstance(reply, Result) and assessment.subject == "person" and not assessment.unit_id:
        turn.out.add(account.no_village_reply())
    if isinstance(reply, Result):
        await audit.record(
            turn.session,
            turn.person.id,
            "assessment.submitted",
            "assessment",
            assessment.id,
            turn.now,
            assessment.unit_id,
        )
        turn.conversation = Conversation()
        turn.out.add(await menu_reply(turn))


def _render(
    outcome: Outcome, assessment: Assessment, form: Form, header: Text, edit: bool
) -> Reply:
    reply = outcome.reply
    if isinstance(reply, Prompt):
        return presenting.prompt_reply(reply, assessment.id, header, edit=edit)
    if isinstance(reply, Review):
        return presenting.review_reply(reply, assessment.id, header, edit=edit)
    says = presenting.verdict(assessment.subject, assessment.state, reply.recognised)
    text = t(_("Submitted. Thank you!")) + "\n\n" + presenting.result_text(reply, header, says)
    notes = [*_rating_note(form, assessment), *_estimate_note(assessment)]
    return Reply(lines(text, *notes), edit=edit)


def _rating_note(form: Form, assessment: Assessment) -> list[Text]:
    """For a learning unit: its rating under TT 22/2020 (Tốt, Khá, Trung bình)."""
    if assessment.subject != "organisation":
        return []
    rated = organisations.rating(form, assessment.score or 0, bool(assessment.passed))
    return ["🏫 " + t(_("Rating (TT 22/2020): {rating}"), rating=presenting.rating_name(rated))]


def _estimate_note(assessment: Assessment) -> list[Text]:
    """For a citizen's self-check: it is their own estimate, and the title needs confirming."""
    if assessment.subject != "person" or assessment.form_key not in CDHT_FORMS:
        return []
    return [
        t(""),
        "ℹ️ "
        + t(
            _(
                "This is your own estimate against QĐ 324/QĐ-KHVN (25/10/2023). The title is "
                "yours once your village's branch leader or the commune confirms it."
            )
        ),
    ]


async def show_result(turn: Turn, assessment: Assessment) -> None:
    """The stored result of a submitted assessment, re-worded in the person's language."""
    result = await assessing.result_of(turn.session, turn.services.forms, assessment, turn.lang)
    form = turn.services.forms.get(assessment.form_key, assessment.form_version)
    header = await _header(turn.session, assessment, form.title.get(turn.lang, form.key))
    back: tuple[tuple[Button, ...], ...] = ()
    if assessment.household_id is not None:  # the tapped list or card is replaced: a way back
        to_list = pack(HOUSEHOLD, "list", f"{assessment.unit_id}-0")
        back = ((Button("◀ " + _("Households"), to_list),),)
    says = presenting.verdict(assessment.subject, assessment.state, bool(assessment.passed))
    notes = [*_rating_note(form, assessment), *_estimate_note(assessment)]
    text = lines(presenting.result_text(result, header, says), *notes)
    turn.out.add(Reply(text, back, edit=turn.tapped))
    turn.conversation = Conversation()


async def _header(session: AsyncSession, assessment: Assessment, title: str) -> Text:
    household = (
        await session.get(Household, assessment.household_id)
        if assessment.household_id is not None
        else None
    )
    if assessment.clan_id is not None:
        clan = await session.get(Clan, assessment.clan_id)
        return "👪 " + t("{clan} · {title}", clan=clan.name if clan else "", title=title)
    if assessment.organisation_id is not None:
        unit = await session.get(Organisation, assessment.organisation_id)
        return "🏫 " + t("{unit} · {title}", unit=unit.name if unit else "", title=title)
    if assessment.subject == "village" and assessment.unit_id is not None:
        village = await session.get(Unit, assessment.unit_id)
        return "🏘 " + t(
            "{village} · {title}", village=village.name if village else "", title=title
        )
    if household is None:
        return t("📝 {title}", title=title)
    return "🏠 " + t(_("Household {code} · {name}"), code=household.code, name=household.head_name)


async def _allowed(turn: Turn, assessment_id: int) -> assessing.Locked | None:
    """The assessment, locked for change, if this person may touch it; otherwise None."""
    locked = await assessing.lock(turn.session, assessment_id)
    if locked is None:
        return None
    assessment = locked.assessment
    if assessment.subject == "person":
        return locked if assessment.person_id == turn.person.id else None
    if assessment.subject == "organisation" and assessment.organisation_id is not None:
        unit = await turn.session.get(Organisation, assessment.organisation_id)
        mine = unit is not None and await organisations.may_assess(
            turn.session, turn.person.id, unit
        )
        return locked if mine else None
    if assessment.subject == "clan" and assessment.clan_id is not None:
        clan = await turn.session.get(Clan, assessment.clan_id)
        mine = clan is not None and await clans.may_assess(turn.session, turn.person.id, clan)
        return locked if mine else None
    if assessment.subject == "village":
        village = await turn.session.get(Unit, assessment.unit_id)
        mine = village is not None and await communities.may_assess(
            turn.session, turn.person.id, village
        )
        return locked if mine else None
    villages = {v.id for v in await villages_led(turn.session, turn.person.id)}
    return locked if assessment.unit_id in villages else None
