"""Turn the engine's prompts, reviews and results into replies people read, in their language.

Texts come from the catalogs (framework words) and the form file (questions, options, advice).
Buttons carry packed ids (``a:<assessment>:<step>:<value>``), never labels.
Must not import any platform library or the database.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.chat.callbacks import ANSWER, COMMUNITY, pack
from bot.chat.messages import Button, Reply
from bot.i18n import _, format_number
from bot.rich import Text, bold, italic, lines, t
from conversations.engine import Choice, Problem, Prompt, Result, Review

BACK, SKIP, REVIEW, SUBMIT, EDIT = "<", ">", "r", "!", "e."
REVIEW_STEP = "review"
PAUSE = pack("m", "pause")
SHORT_LABEL = 14  # characters: two such options fit side by side on a small phone


def problem_text(problem: Problem) -> Text:
    """What was wrong with the last input, and what is expected instead."""
    p = {k: _fmt(v) for k, v in problem.params.items()}
    texts: Mapping[str, str] = {
        # TRANSLATORS: the person typed something that is none of the offered choices.
        "unknown_choice": _(
            "I did not understand that. Tap a button, or type a number from 1 to {count}."
        ),
        "not_a_number": _("Please type a whole number from {minimum} to {maximum}."),
        "out_of_range": _(
            "That number is outside the range: type a number from {minimum} to {maximum}."
        ),
        "empty": _("You did not type anything. Please answer the question below."),
        "not_text": _(
            "I can read only typed text and taps, not photos, stickers or voice messages. "
            "Please answer the question below."
        ),
        "unknown_command": _(
            "I do not know that command. Your answers are saved; here is your question again."
        ),
        "too_long": _("That answer is too long: at most {maximum} characters."),
        # TRANSLATORS: a short note for a button of a question answered before (a double tap).
        "stale": _("That question is already answered. Please answer the latest question."),
        "at_review": _("Every question is answered. Check the answers and tap Submit."),
        "required": _("This question needs an answer; it cannot be skipped."),
        "no_previous": _("This is the first question."),
        "cannot_edit": _("That answer cannot be changed now."),
        "incomplete": _("{count} questions still need an answer."),
        "unknown_input": _("That did not work. Please try again."),
    }
    template = texts.get(problem.code, _("That did not work. Please try again."))
    return t(template, **{"count": "", "minimum": "", "maximum": "", **p})


def prompt_reply(
    prompt: Prompt, assessment_id: int, header: Text | None = None, edit: bool = False
) -> Reply:
    """One question: context, progress, text, hint, problem, choices and navigation."""
    parts: list[Text | str] = [header] if header else []
    parts.append(
        t(_("Question {index} of {total}"), index=prompt.index, total=prompt.total)
        + " "
        + progress_bar(prompt.index - 1, prompt.total)
    )
    if prompt.section_title:
        parts.append(bold(prompt.section_title))
    parts.append(prompt.text)
    # An option whose button says it short is written out whole here.
    parts.extend(f"• {c.label}" for c in prompt.choices if _shortened(c))
    if prompt.kind == "number" and prompt.minimum is not None and prompt.maximum is not None:
        parts.append(
            t(
                _("Type a number from {minimum} to {maximum}."),
                minimum=_fmt(prompt.minimum),
                maximum=_fmt(prompt.maximum),
            )
        )
    elif prompt.kind == "text":
        parts.append(t(_("Type your answer.")))
    if prompt.help:
        parts.append("💡 " + prompt.help)
    if prompt.current:
        parts.append(t(_("Current answer: {answer}"), answer=prompt.current))
    if prompt.problem:
        parts.append("⚠️ " + problem_text(prompt.problem))
    rows = _choice_rows(prompt, assessment_id)
    nav = []
    if prompt.can_back:
        nav.append(Button("◀ " + _("Back"), pack(ANSWER, assessment_id, prompt.step, BACK)))
    if prompt.can_skip:
        nav.append(Button(_("Skip") + " ▶", pack(ANSWER, assessment_id, prompt.step, SKIP)))
    nav.append(Button("⏸ " + _("Stop for now"), PAUSE))
    typed = prompt.kind in ("number", "text")
    return Reply(lines(*parts), (*rows, tuple(nav)), edit=edit, expects_text=typed)


def _choice_rows(prompt: Prompt, assessment_id: int) -> tuple[tuple[Button, ...], ...]:
    buttons = [
        Button(c.button or c.label, pack(ANSWER, assessment_id, prompt.step, c.id))
        for c in prompt.choices
    ]
    if buttons and all(len(b.label) <= SHORT_LABEL for b in buttons):
        return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    return tuple((b,) for b in buttons)


def _shortened(choice: Choice) -> bool:
    return bool(choice.button) and choice.button != choice.label


def review_reply(
    review: Review, assessment_id: int, header: Text | None = None, edit: bool = False
) -> Reply:
    """Every answer on one screen, with a button to change each and one to submit."""
    parts: list[Text | str] = [header] if header else []
    parts.append(bold(t(_("Check the answers before submitting"))))
    for number, item in enumerate(review.items, start=1):
        answer = (
            item.answer
            if item.answer is not None
            else (_("skipped") if item.status == "skipped" else _("not answered"))
        )
        parts.append(t("{number}. {label}: {answer}", number=number, label=item.label,
                       answer=italic(answer)))  # fmt: skip
        if item.figure:  # the bot's own count: confirmed by submitting, never typed
            parts.append("   📊 " + t(_("counted by hoctap from this year's results")))
    if review.problem:
        parts.append("⚠️ " + problem_text(review.problem))
    edits = [
        Button(
            _("Change {number}").format(number=n),
            pack(ANSWER, assessment_id, REVIEW_STEP, EDIT + item.question_id),
        )
        for n, item in enumerate(review.items, start=1)
        if not item.figure
    ]
    rows = [tuple(edits[i : i + 4]) for i in range(0, len(edits), 4)]
    rows.insert(
        0, (Button("✅ " + _("Submit"), pack(ANSWER, assessment_id, REVIEW_STEP, SUBMIT)),)
    )
    rows.append((Button("⏸ " + _("Stop for now"), PAUSE),))
    return Reply(lines(*parts), tuple(rows), edit=edit)


def community_button(village_id: int) -> Button:
    """The button that opens a village's own Cộng đồng học tập assessment
    (``bot/chat/communities.py``)."""
    return Button("🏘 " + _("Learning community of the village"), pack(COMMUNITY, "go", village_id))


def rating_name(rating: str | None) -> str:
    """TT 22/2020's rating of a learning unit, in words (``organisations.rating``)."""
    names = {"good": _("rated Good"), "fair": _("rated Fair"), "average": _("rated Average")}
    return names.get(rating or "", _("not achieved"))


def verdict(subject: str, state: str, meets: bool) -> str:
    """What a result means for its title: meeting the criteria is not the title; a household is
    recognised by the commune, a citizen's title confirmed by the branch or the commune."""
    if subject == "person":
        decided = {
            "recognised": "🏅 " + _("title confirmed"),
            "not_recognised": _("not confirmed this year"),
        }
        waiting = "✅ " + _("meets the criteria — waiting for confirmation")
    else:
        decided = {
            "recognised": "🏅 " + _("recognised"),
            "not_recognised": _("not recognised this year"),
            "returned": _("returned for changes"),
        }
        waiting = "✅ " + _("meets the criteria — waiting for the commune's review")
    if state in decided:
        return decided[state]
    return waiting if meets else _("does not meet the criteria yet")


def result_text(result: Result, title: Text | str, says: str) -> Text:
    """The result, what it means (``says``: see ``verdict``), the score by section and, for
    each rule not met, why and what to improve."""
    parts: list[Text | str] = [
        t(
            _("<b>{title}</b>: {total} of {max} points — {verdict}"),
            title=title,
            total=_fmt(result.total),
            max=_fmt(result.max_total),
            verdict=says,
        )
    ]
    if result.level is not None:
        parts.append(t(_("Level reached: {level}"), level=result.level))
    for section in result.sections:
        parts.append(
            t(
                _("• {section}: {points}/{max}"),
                section=section.title,
                points=_fmt(section.points),
                max=_fmt(section.available),
            )
        )
    if result.failures:
        parts.append("")
        parts.append(bold(t(_("What to improve"))))
    for failure in result.failures:
        parts.append("⚠️ " + failure_text(failure.code, failure.params))
        if failure.advice:
            parts.append("   👉 " + failure.advice)
    return lines(*parts)


def failure_text(code: str, params: Mapping[str, object]) -> Text:
    """Why one rule of the form was not met."""
    p = {k: _fmt(v) for k, v in params.items()}
    texts = {
        "total_below_pass_mark": _(
            "The total is {total} points; at least {pass_mark} are needed."
        ),
        "section_below_minimum": _("{section}: {points} points; at least {minimum} are needed."),
        "item_below_minimum": _("{question}: {points} points; at least {minimum} are needed."),
        "must_pass_not_met": _("Required: {question}."),
        "level_condition_not_met": _("Level {level} needs: {condition}."),
    }
    template = texts.get(code, _("A rule of the criteria set is not met."))
    defaults = dict.fromkeys(
        ("total", "pass_mark", "section", "points", "minimum", "question", "level", "condition"),
        "",
    )
    return t(template, **{**defaults, **p})


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """A bar of filled and empty blocks, readable on any phone font."""
    filled = round(width * done / total) if total else 0
    return "▓" * filled + "░" * (width - filled)


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(value, decimals=1)
    return str(value)
