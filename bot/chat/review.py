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
from collections.abc import Callable, Sequence
from dataclasses import replace

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
    VILLAGE,
    pack,
)
from bot.chat.turn import Turn
from bot.i18n import Words, _, format_date, format_number, local_time, ngettext
from bot.rich import Text, bold, lines, t
from bot.services import figures, review, scope, titles
from bot.services.people import Conversation
from bot.services.words import words_of
from bot.storage.models import Unit
from conversations.answers import display
from conversations.model import Question

FLOW = "review"
PAGE = 8  # villages or households listed at once; ◀ ▶ page through the rest
COMMUNE = 2  # the unit level whose own list holds its learning units
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


async def pending_reply(turn: Turn, commune: Unit, page: int = 0) -> Reply:
    """The villages of a commune with households waiting, with their counts, ``PAGE`` at a
    time (a commune with one such village goes straight to its households), and the citizens
    waiting for confirmation: one message, so the numbers typed on Zalo or the terminal are
    its own."""
    reply = await _households_pending(turn, commune, page)
    citizens = await citizens_waiting(turn, commune)
    if not citizens:
        return reply
    label = t(_("Citizens waiting for confirmation: {count}"), count=format_number(citizens))
    button = Button("👤 " + _("See them"), pack(CITIZENS, f"{commune.id}-0"))
    return replace(reply, text=lines(reply.text, "", label), buttons=(*reply.buttons, (button,)))


async def _households_pending(turn: Turn, commune: Unit, page: int) -> Reply:
    items = await review.pending_reviews(turn.session, turn.person.id, commune)
    name = commune.name
    if not items:
        return Reply(
            "✅ " + t(_("Nothing is waiting for review in {commune}."), commune=name),
            edit=turn.tapped,
        )
    said = words_of(commune)
    villages: dict[int, list[review.ReviewItem]] = {}
    for item in items:
        villages.setdefault(item.village_id, []).append(item)
    if len(villages) == 1:
        [(village_id, waiting)] = villages.items()
        return _village_reply(turn, village_id, waiting, 0, None, said)
    text = t(
        ngettext(
            "<b>{commune}</b>: {count} household waiting for review.",
            "<b>{commune}</b>: {count} households waiting for review.",
            len(items),
        ),
        commune=name,
        count=format_number(len(items)),
    )
    text = lines(
        text,
        t(
            ngettext(
                "In {count} {village_word}. Choose one:",
                "In {count} {villages_word}. Choose one:",
                len(villages),
            ),
            count=format_number(len(villages)),
            **said.placeholders(),
        ),
    )
    groups = list(villages.values())
    page = _page_within(page, len(groups))
    rows: list[tuple[Button, ...]] = [
        (Button(_village_label(group), pack(VILLAGE, f"{group[0].village_id}-0")),)
        for group in groups[page * PAGE : (page + 1) * PAGE]
    ]
    rows.extend(_pager(page, len(groups), lambda to: pack(LIST, f"{commune.id}-{to}")))
    return Reply(text, tuple(rows), edit=turn.tapped)


async def show_village(turn: Turn, village_id: int, page: int) -> None:
    """One village's households waiting for review, ``PAGE`` at a time."""
    village = await review.reviewable_village(turn.session, turn.person.id, village_id)
    # A commune's own list is its learning units' assessments.
    commune = (
        village
        if village.level == COMMUNE
        else await turn.session.get(Unit, village.parent_id)
        if village.parent_id
        else None
    )
    everywhere = await review.pending_reviews(turn.session, turn.person.id, commune or village)
    waiting = [item for item in everywhere if item.village_id == village_id]
    # "◀ Villages" only when there are others to go back to.
    back = (
        commune.id
        if commune and len(waiting) < len(everywhere) and commune.id != village_id
        else None
    )
    said = words_of(commune)
    if not waiting:
        notice = t(_("Nothing is waiting for review in {commune}."), commune=village.name)
        buttons = ((_back_button(back, said),),) if back else ()
        turn.out.add(Reply("✅ " + notice, buttons, edit=turn.tapped))
        return
    turn.out.add(_village_reply(turn, village_id, waiting, page, back, said))


def _village_reply(
    turn: Turn,
    village_id: int,
    waiting: list[review.ReviewItem],
    page: int,
    commune_id: int | None,
    said: Words,
) -> Reply:
    text = t(
        ngettext(
            "<b>{village}</b>: {count} household waiting for review.",
            "<b>{village}</b>: {count} households waiting for review.",
            len(waiting),
        ),
        village=waiting[0].village,
        count=format_number(len(waiting)),
    )
    page = _page_within(page, len(waiting))
    shown = waiting[page * PAGE : (page + 1) * PAGE]
    rows: list[tuple[Button, ...]] = [
        (Button(_item_label(item), pack(OPEN, item.assessment_id)),) for item in shown
    ]
    rows.extend(_pager(page, len(waiting), lambda to: pack(VILLAGE, f"{village_id}-{to}")))
    year = turn.services.year()
    if any(item.passed and item.year == year for item in waiting):
        rows.append((Button("🏅 " + _("Recognise all passing"), pack(ALL, village_id)),))
    if commune_id is not None:
        rows.append((_back_button(commune_id, said),))
    return Reply(text, tuple(rows), edit=turn.tapped)


def _back_button(commune_id: int, said: Words) -> Button:
    label = "◀ " + _("Back to the {villages_word}").format(**said.placeholders())
    return Button(label, pack(LIST, f"{commune_id}-0"))


def _page_within(page: int, count: int) -> int:
    """``page``, or the last one when the list got shorter since the button was drawn."""
    return max(0, min(page, (count - 1) // PAGE))


def _pager(page: int, count: int, data: Callable[[int], str]) -> list[tuple[Button, ...]]:
    """◀ and ▶ with the page they lead to, when the list is longer than a page."""
    pages = (count + PAGE - 1) // PAGE
    row = []
    if page > 0:
        row.append(Button(f"◀ {page}/{pages}", data(page - 1)))
    if page + 1 < pages:
        row.append(Button(f"{page + 2}/{pages} ▶", data(page + 1)))
    return [tuple(row)] if row else []


def _village_label(group: list[review.ReviewItem]) -> str:
    return f"🏘 {group[0].village} · {format_number(len(group))}"


def _item_label(item: review.ReviewItem) -> str:
    mark = "✅" if item.passed else "✖"
    score = format_number(item.score or 0, decimals=1)
    if item.subject == "village":  # the village's own assessment, first in its list
        title = _("Learning community")
        return f"{mark} 🏘 {title} · {score}"
    if item.subject == "organisation":  # a learning unit, listed under its commune
        return f"{mark} 🏫 {item.head_name} · {score}"
    if item.subject == "clan":  # a clan, listed under its commune
        return f"{mark} 👪 {item.head_name} · {score}"
    # The village is the list's own heading: the label keeps to what tells households apart.
    return f"{mark} {item.household_code} · {item.head_name} · {score}"


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
    heading = (
        "🏘 " + t(_("Learning community: {village}"), village=item.village)
        if item.subject == "village"
        else "🏫 " + t(_("Learning unit: {unit}"), unit=item.head_name)
        if item.subject == "organisation"
        else "👪 " + t(_("Learning clan: {clan}"), clan=item.head_name)
        if item.subject == "clan"
        else "🏠 "
        + t(_("Household {code} · {name}"), code=item.household_code, name=item.head_name)
    )
    parts: list[Text | str] = [
        heading,
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
    back = pack(VILLAGE, f"{item.village_id}-0")
    buttons.append((Button("◀ " + _("Waiting for review"), back),))
    return Reply(lines(*parts), tuple(buttons), edit=True)


async def on_review_button(turn: Turn, callback: Callback) -> None:
    """Route ``r:<action>:<id>``; every decision is checked against the officer's commune."""
    action, ident = callback.fields
    if action in (LIST, VILLAGE):
        unit, _sep, page = ident.partition("-")
        try:
            await _show_list(turn, action, int(unit), int(page or 0))
        except (review.ReviewError, ValueError) as error:
            notice = error.text if isinstance(error, review.ReviewError) else None
            turn.out.notice = notice or t(_("This button is no longer valid."))
            turn.out.alert = notice is not None
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


async def _show_list(turn: Turn, action: str, unit_id: int, page: int) -> None:
    """A page of the villages waiting (``LIST``; unit 0: every commune) or of one village's
    households (``VILLAGE``)."""
    if action == VILLAGE:
        await show_village(turn, unit_id, page)
        return
    commune = await turn.session.get(Unit, unit_id) if unit_id else None
    if commune is None:
        await show_pending(turn)
        return
    turn.out.add(await pending_reply(turn, commune, page))


async def _act(turn: Turn, action: str, ident: int) -> None:
    if action == OPEN:
        item = await review.review_item(turn.session, turn.person.id, ident)
        changes = await review.changes_since_last_submission(turn.session, turn.person.id, ident)
        turn.out.add(_card(item, _changes(turn, item, changes)))
    elif action == REFUSE:
        item = await _decidable(turn, ident, "submitted")
        await review.refuse(turn.session, turn.person.id, ident, "", turn.now)
        turn.out.notice = t(_("Marked as not recognised this year."))
        await show_village(turn, item.village_id, 0)
    elif action == RECOGNISE:
        # Checked before asking for a decision number that would then be refused.
        await _decidable(turn, ident, "submitted")
        turn.conversation = Conversation(FLOW, {"action": action, "id": ident})
        turn.out.add(Reply(_ask_decision(), expects_text=True))
    elif action == ALL:
        village = await review.reviewable_village(turn.session, turn.person.id, ident)
        year = turn.services.year()
        waiting = await review.pending_reviews(turn.session, turn.person.id, village, year)
        if not any(item.passed and item.subject == "household" for item in waiting):
            raise review.ReviewError(
                t(
                    _("No household of {village} meets the criteria and waits."),
                    village=village.name,
                )
            )
        turn.conversation = Conversation(FLOW, {"action": action, "id": ident})
        turn.out.add(Reply(_ask_decision(), expects_text=True))
    elif action == RETURN:
        await _decidable(turn, ident, "submitted", "not_recognised")
        turn.conversation = Conversation(FLOW, {"action": action, "id": ident})
        turn.out.add(Reply(t(_("Type what the village leader should change:")), expects_text=True))


async def _decidable(turn: Turn, ident: int, *states: str) -> review.ReviewItem:
    """The assessment a decision button is for, still waiting for that decision; when it was
    decided meanwhile (a stale button), its card as it is now and the refusal as an alert."""
    item = await review.review_item(turn.session, turn.person.id, ident)
    try:
        review.require(item, *states)
    except review.ReviewError:
        turn.out.add(_card(item))
        raise
    return item


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
    except review.TypedTextError as error:  # too long, or empty: type it again
        turn.out.add(Reply(error.text, expects_text=True))
        return
    except review.ReviewError as error:
        turn.out.add(Reply(error.text))
    turn.conversation = Conversation()
    # Back to the village the decision was in, to go on with its next household.
    try:
        if action == ALL:
            village_id = ident
        else:
            village_id = (await review.review_item(turn.session, turn.person.id, ident)).village_id
        await show_village(turn, village_id, 0)
    except review.ReviewError:
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
        # A village's figures are counted again first (a household recognised since).
        _done, changes = await figures.recognise(
            turn.session, turn.services.forms, turn.person.id, ident, number, day, turn.now
        )
        message = _("Recognised under decision {number} of {date}.")
        turn.out.add(Reply(t(message, number=number, date=format_date(day))))
        if changes:
            said = ", ".join(f"{c.before or '—'}% → {c.after}%" for c in changes)
            turn.out.add(Reply(t(_("Counted again before recognising: {changes}."), changes=said)))
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
