"""The commune officer's review in chat: the list waiting for review, one household's result,
and the decisions (recognise with the decision's number and date, return with a comment, refuse,
recognise every passing household of a village after its meeting).

What is typed (a decision number, a comment) is read by ``on_review_text`` while the person is in
the ``review`` flow; the flow's state is the stored conversation, never memory. The rules and the
scope check live in ``bot.services.review``. Must not import any platform library.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from bot.chat.callbacks import Callback
from bot.chat.messages import Button, Reply
from bot.chat.review_callbacks import (
    ALL,
    CITIZEN,
    CITIZENS,
    CONFIRM,
    DECLINE,
    LIST,
    OPEN,
    RECOGNISE,
    REFUSE,
    RETURN,
    pack,
)
from bot.chat.turn import Turn
from bot.i18n import _, format_date, format_number, local_time, ngettext
from bot.rich import Text, bold, lines, t
from bot.services import review, scope, titles
from bot.services.people import Conversation
from bot.storage.models import Unit
from conversations.answers import display
from conversations.model import Question

FLOW = "review"
PAGE = 8  # households listed at once: the rest are reached by deciding the first ones
MAX_VILLAGE_BUTTONS = 4
DECISION = re.compile(
    r"^(?P<number>.+?)(?:[\s,;]+(?P<day>\d{1,2})[/.-](?P<month>\d{1,2})[/.-](?P<year>\d{4}))?$"
)


def parse_decision(text: str, today: dt.date) -> tuple[str, dt.date] | None:
    """ "12/QĐ-UBND 15/12/2025" -> ("12/QĐ-UBND", 15 Dec 2025); no date means today."""
    found = DECISION.match(" ".join(text.split()))
    if found is None or not any(ch.isdigit() for ch in found["number"]):
        return None  # a decision always has a number
    if found["year"] is None:
        return found["number"], today
    try:
        day = dt.date(int(found["year"]), int(found["month"]), int(found["day"]))
    except ValueError:
        return None
    return found["number"], day


async def _communes(turn: Turn) -> list[Unit]:
    held = await scope.units_of(turn.session, turn.person.id, review.REVIEWERS)
    return [unit for unit in held if unit.level == 2]


async def show_pending(turn: Turn) -> None:
    """/review: what waits for the commune's decision, in each commune the officer serves."""
    communes = await _communes(turn)
    if not communes:
        turn.out.add(Reply(t(_("Only commune officers review households."))))
        return
    for commune in communes:
        turn.out.add(await pending_reply(turn, commune))
        citizens = await citizens_waiting(turn, commune)
        if citizens:
            label = t(
                _("Citizens waiting for confirmation: {count}"), count=format_number(citizens)
            )
            button = Button("👤 " + _("See them"), pack(CITIZENS, f"{commune.id}-0"))
            turn.out.add(Reply(label, ((button,),)))


async def pending_reply(turn: Turn, commune: Unit) -> Reply:
    """The first households waiting in a commune, and one button per village to recognise."""
    items = await review.pending_reviews(turn.session, turn.person.id, commune)
    name = commune.name
    if not items:
        return Reply("✅ " + t(_("Nothing is waiting for review in {commune}."), commune=name))
    text = t(
        ngettext(
            "<b>{commune}</b>: {count} household waiting for review.",
            "<b>{commune}</b>: {count} households waiting for review.",
            len(items),
        ),
        commune=name,
        count=format_number(len(items)),
    )
    rows = [(Button(_item_label(item), pack(OPEN, item.assessment_id)),) for item in items[:PAGE]]
    year = turn.services.year()
    villages = {
        item.village_id: item.village for item in items if item.passed and item.year == year
    }
    for village_id, village in list(villages.items())[:MAX_VILLAGE_BUTTONS]:
        label = "🏅 " + _("Recognise all passing in {village}").format(village=village)
        rows.append((Button(label, pack(ALL, village_id)),))
    return Reply(text, tuple(rows), edit=turn.tapped)


def _item_label(item: review.ReviewItem) -> str:
    mark = "✅" if item.passed else "✖"
    score = format_number(item.score or 0, decimals=1)
    return f"{mark} {item.village} · {item.household_code} · {item.head_name} · {score}"


def _changes(
    turn: Turn, item: review.ReviewItem, changes: list[review.AnswerChange]
) -> list[Text | str]:
    """For a resubmission: the comment it was returned with, and each answer changed since."""
    if item.submissions < 2:
        return []
    parts: list[Text | str] = [""]
    if item.comment:
        parts.append(t(_("Returned with the comment: {comment}"), comment=item.comment))
    if not changes:
        parts.append(t(_("No answer was changed since the previous submission.")))
        return parts
    form = turn.services.forms.get(item.form_key, item.form_version)
    known = sorted((c for c in changes if form.has_question(c.question_id)),
                   key=lambda c: form.order(c.question_id))  # fmt: skip
    parts.append(bold(t(_("Changed since the previous submission:"))))
    for change in known:
        question = form.question(change.question_id)
        parts.append(
            t(
                _("Question {number} ({label}): before “{before}”, now “{after}”"),
                number=form.order(change.question_id) + 1,
                label=question.label.get(turn.lang, question.id),
                before=_answer_text(question, change.before, turn.lang),
                after=_answer_text(question, change.after, turn.lang),
            )
        )
    return parts


def _answer_text(question: Question, value: str | None, lang: str) -> str:
    if value is None:
        return _("not answered")
    return display(question, value, lang) or _("skipped")


def _card(item: review.ReviewItem, history: Sequence[Text | str] = ()) -> Reply:
    verdict = _("meets the criteria") if item.passed else _("does not meet the criteria")
    parts: list[Text | str] = [
        "🏠 " + t(_("Household {code} · {name}"), code=item.household_code, name=item.head_name),
        t(_("{unit}, year {year}"), unit=item.village, year=item.year),
        t(
            _("Score: {score} of {maximum}, {verdict}"),
            score=format_number(item.score or 0, decimals=1),
            maximum=format_number(item.max_score or 0),
            verdict=verdict,
        ),
    ]
    parts.extend(history)
    buttons: list[tuple[Button, ...]] = []
    if item.state == "submitted":
        if item.passed:
            buttons.append((Button("🏅 " + _("Recognise"), pack(RECOGNISE, item.assessment_id)),))
        buttons.append((Button("↩ " + _("Return for changes"), pack(RETURN, item.assessment_id)),))
        buttons.append((Button("✖ " + _("Not recognised"), pack(REFUSE, item.assessment_id)),))
    buttons.append((Button("◀ " + _("Waiting for review"), pack(LIST, 0)),))
    return Reply(lines(*parts), tuple(buttons), edit=True)


async def on_review_button(turn: Turn, callback: Callback) -> None:
    """Route ``r:<action>:<id>``; every decision is checked against the officer's commune."""
    action, ident = callback.fields
    if action == LIST:
        await show_pending(turn)
        return
    if action in (CITIZENS, CITIZEN, CONFIRM, DECLINE):
        try:
            await _citizen_act(turn, action, ident)
        except (review.ReviewError, ValueError) as error:
            notice = error.text if isinstance(error, review.ReviewError) else None
            turn.out.notice = notice or t(_("This button is no longer valid."))
            turn.out.alert = notice is not None
        return
    if not ident.isdigit():
        turn.out.notice = t(_("This button is no longer valid."))
        return
    try:
        await _act(turn, action, int(ident))
    except review.ReviewError as error:
        turn.out.notice, turn.out.alert = error.text, True


async def _act(turn: Turn, action: str, ident: int) -> None:
    if action == OPEN:
        item = await review.review_item(turn.session, turn.person.id, ident)
        changes = await review.changes_since_last_submission(turn.session, turn.person.id, ident)
        turn.out.add(_card(item, _changes(turn, item, changes)))
    elif action == REFUSE:
        await review.refuse(turn.session, turn.person.id, ident, "", turn.now)
        turn.out.notice = t(_("Marked as not recognised this year."))
        await show_pending(turn)
    elif action in (RECOGNISE, ALL):
        # Check the scope before asking for a decision number that would then be refused.
        if action == RECOGNISE:
            await review.review_item(turn.session, turn.person.id, ident)
        else:
            await review.reviewable_village(turn.session, turn.person.id, ident)
        turn.conversation = Conversation(FLOW, {"action": action, "id": ident})
        turn.out.add(Reply(_ask_decision(), expects_text=True))
    elif action == RETURN:
        await review.review_item(turn.session, turn.person.id, ident)
        turn.conversation = Conversation(FLOW, {"action": action, "id": ident})
        turn.out.add(Reply(t(_("Type what the village leader should change:")), expects_text=True))


def _ask_decision() -> Text:
    return t(
        _(
            "Type the number and date of the recognition decision, for example "
            "12/QĐ-UBND 15/12/2025. Without a date, today's date is used."
        )
    )


async def on_review_text(turn: Turn, text: str) -> None:
    """A typed decision number (and date), or the comment for a returned assessment."""
    action, ident = turn.conversation.data.get("action"), int(turn.conversation.data.get("id", 0))
    try:
        if action == RETURN:
            await review.return_for_changes(turn.session, turn.person.id, ident, text, turn.now)
            turn.out.add(Reply(t(_("Returned to the village leader with your comment."))))
        elif action in (RECOGNISE, ALL) and not await _decide(turn, action, ident, text):
            return  # asked again; the flow stays where it was
    except review.ReviewError as error:
        turn.out.add(Reply(error.text))
    turn.conversation = Conversation()
    await show_pending(turn)


async def _decide(turn: Turn, action: str, ident: int, text: str) -> bool:
    parsed = parse_decision(text, local_time(turn.now).date())
    if parsed is None:
        turn.out.add(
            Reply(t(_("I could not read that.")) + " " + _ask_decision(), expects_text=True)
        )
        return False
    number, day = parsed
    if action == RECOGNISE:
        await review.recognise(turn.session, turn.person.id, ident, number, day, turn.now)
        message = _("Recognised under decision {number} of {date}.")
        turn.out.add(Reply(t(message, number=number, date=format_date(day, "dd/MM/yyyy"))))
        return True
    count = await review.recognise_all_passing(
        turn.session, turn.person.id, ident, turn.services.year(), number, day, turn.now
    )
    message = ngettext(
        "Recognised {count} household under decision {number}.",
        "Recognised {count} households under decision {number}.",
        count,
    )
    turn.out.add(Reply(t(message, count=format_number(count), number=number)))
    return True


# ----------------------------------------------------------------------------- citizens


async def citizens_waiting(turn: Turn, area: Unit) -> int:
    """How many self-checks in ``area`` wait for this person's confirmation this year."""
    found = await titles.waiting_in(
        turn.session, turn.services.forms, turn.person.id, area, turn.services.year()
    )
    return len(found)


async def show_citizens(turn: Turn, area: Unit, page: int = 0) -> None:
    """The citizens of ``area`` whose self-check meets the criteria and waits for a decision."""
    items = await titles.waiting_in(
        turn.session, turn.services.forms, turn.person.id, area, turn.services.year()
    )
    if not items:
        turn.out.add(
            Reply(
                "✅ " + t(_("No self-check waits for confirmation in {unit}."), unit=area.name),
                edit=turn.tapped,
            )
        )
        return
    text = t(
        ngettext(
            "<b>{unit}</b>: {count} citizen's self-check meets the criteria and waits for "
            "confirmation.",
            "<b>{unit}</b>: {count} citizens' self-checks meet the criteria and wait for "
            "confirmation.",
            len(items),
        ),
        unit=area.name,
        count=format_number(len(items)),
    )
    shown = items[page * PAGE : (page + 1) * PAGE]
    rows: list[tuple[Button, ...]] = [
        (Button(_citizen_label(item), pack(CITIZEN, item.assessment_id)),) for item in shown
    ]
    pager = []
    if page > 0:
        pager.append(Button("◀", pack(CITIZENS, f"{area.id}-{page - 1}")))
    if (page + 1) * PAGE < len(items):
        pager.append(Button("▶", pack(CITIZENS, f"{area.id}-{page + 1}")))
    if pager:
        rows.append(tuple(pager))
    turn.conversation = Conversation("", {"citizens": area.id})
    turn.out.add(Reply(text, tuple(rows), edit=turn.tapped))


def _citizen_label(item: titles.CitizenItem) -> str:
    score = format_number(item.score or 0, decimals=1)
    return f"👤 {item.name} · {item.village} · {score}"


def _citizen_card(item: titles.CitizenItem, back: str) -> Reply:
    text = lines(
        "👤 " + bold(item.name),
        t(_("{unit}, year {year}"), unit=item.village, year=item.year),
        t(
            _("Self-check: {score} of 100 points, meets the criteria by their own estimate."),
            score=format_number(item.score or 0, decimals=1),
        ),
        t(
            _(
                "Confirm the Learning citizen title (QĐ 324/QĐ-KHVN) once you have seen that "
                "what they answered is so."
            )
        ),
    )
    buttons = (
        (Button("🏅 " + _("Confirm the title"), pack(CONFIRM, item.assessment_id)),),
        (Button("✖ " + _("Do not confirm"), pack(DECLINE, item.assessment_id)),),
        (Button("◀ " + _("Waiting for confirmation"), back),),
    )
    return Reply(text, buttons, edit=True)


async def _citizen_act(turn: Turn, action: str, ident: str) -> None:
    """Open, confirm or decline one citizen's self-check, or list them (``CITIZENS``)."""
    if action == CITIZENS:
        area_id, _sep, page = ident.partition("-")
        area = await turn.session.get(Unit, int(area_id)) if area_id.isdigit() else None
        if area is None:
            turn.out.notice = t(_("This button is no longer valid."))
            return
        await show_citizens(turn, area, int(page) if page.isdigit() else 0)
        return
    forms, person = turn.services.forms, turn.person.id
    item = await titles.citizen_item(turn.session, forms, person, int(ident))
    area_id = turn.conversation.data.get("citizens", item.village_id)
    back = pack(CITIZENS, f"{area_id}-0")
    if action == CITIZEN:
        turn.out.add(_citizen_card(item, back))
        return
    if action == CONFIRM:
        await titles.confirm(turn.session, forms, person, item.assessment_id, turn.now)
        turn.out.notice = t(_("Title confirmed: {name}."), name=item.name)
    else:
        await titles.decline(turn.session, forms, person, item.assessment_id, "", turn.now)
        turn.out.notice = t(_("Not confirmed this year: {name}."), name=item.name)
    area = await turn.session.get(Unit, int(area_id))
    if area is not None:
        await show_citizens(turn, area)
