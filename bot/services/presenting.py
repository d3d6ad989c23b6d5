"""Turn the engine's prompts, reviews and results into replies people read, in their language.

Texts come from the catalogs (framework words) and the form file (questions, options, advice).
Buttons carry packed ids (``a:<assessment>:<step>:<value>``), never labels.
Must not import any platform library or the database.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.i18n import _, format_number
from bot.services.callbacks import ANSWER, pack
from bot.services.messages import Button, Reply
from conversations.engine import Problem, Prompt, Result, Review

BACK, SKIP, REVIEW, SUBMIT, EDIT = "<", ">", "r", "!", "e."
REVIEW_STEP = "review"
PAUSE = pack("m", "pause")
SHORT_LABEL = 14  # characters: two such options fit side by side on a small phone


def problem_text(problem: Problem) -> str:
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
    return template.format(**{"count": "", "minimum": "", "maximum": "", **p})


def prompt_reply(
    prompt: Prompt, assessment_id: int, header: str = "", edit: bool = False
) -> Reply:
    """One question: context, progress, text, hint, problem, choices and navigation."""
    lines = [header] if header else []
    lines.append(
        _("Question {index} of {total}").format(index=prompt.index, total=prompt.total)
        + " "
        + progress_bar(prompt.index - 1, prompt.total)
    )
    if prompt.section_title:
        lines.append(f"<b>{escape(prompt.section_title)}</b>")
    lines.append(escape(prompt.text))
    if prompt.kind == "number" and prompt.minimum is not None and prompt.maximum is not None:
        lines.append(
            _("Type a number from {minimum} to {maximum}.").format(
                minimum=_fmt(prompt.minimum), maximum=_fmt(prompt.maximum)
            )
        )
    elif prompt.kind == "text":
        lines.append(_("Type your answer."))
    if prompt.help:
        lines.append("💡 " + escape(prompt.help))
    if prompt.current:
        lines.append(_("Current answer: {answer}").format(answer=escape(prompt.current)))
    if prompt.problem:
        lines.append("⚠️ " + problem_text(prompt.problem))
    rows = _choice_rows(prompt, assessment_id)
    nav = []
    if prompt.can_back:
        nav.append(Button("◀ " + _("Back"), pack(ANSWER, assessment_id, prompt.step, BACK)))
    if prompt.can_skip:
        nav.append(Button(_("Skip") + " ▶", pack(ANSWER, assessment_id, prompt.step, SKIP)))
    nav.append(Button("⏸ " + _("Stop for now"), PAUSE))
    typed = prompt.kind in ("number", "text")
    return Reply("\n".join(lines), (*rows, tuple(nav)), edit=edit, expects_text=typed)


def _choice_rows(prompt: Prompt, assessment_id: int) -> tuple[tuple[Button, ...], ...]:
    buttons = [
        Button(c.label, pack(ANSWER, assessment_id, prompt.step, c.id)) for c in prompt.choices
    ]
    if buttons and all(len(b.label) <= SHORT_LABEL for b in buttons):
        return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))
    return tuple((b,) for b in buttons)


def review_reply(
    review: Review, assessment_id: int, header: str = "", edit: bool = False
) -> Reply:
    """Every answer on one screen, with a button to change each and one to submit."""
    lines = [header] if header else []
    lines.append("<b>" + _("Check the answers before submitting") + "</b>")
    for number, item in enumerate(review.items, start=1):
        answer = (
            item.answer
            if item.answer is not None
            else (_("skipped") if item.status == "skipped" else _("not answered"))
        )
        lines.append(f"{number}. {escape(item.label)}: <i>{escape(answer)}</i>")
    if review.problem:
        lines.append("⚠️ " + problem_text(review.problem))
    edits = [
        Button(
            _("Change {number}").format(number=n),
            pack(ANSWER, assessment_id, REVIEW_STEP, EDIT + item.question_id),
        )
        for n, item in enumerate(review.items, start=1)
    ]
    rows = [tuple(edits[i : i + 4]) for i in range(0, len(edits), 4)]
    rows.insert(
        0, (Button("✅ " + _("Submit"), pack(ANSWER, assessment_id, REVIEW_STEP, SUBMIT)),)
    )
    rows.append((Button("⏸ " + _("Stop for now"), PAUSE),))
    return Reply("\n".join(lines), tuple(rows), edit=edit)


def result_text(result: Result, title: str) -> str:
    """The result, the score by section and, for each rule not met, why and what to improve."""
    verdict = _("RECOGNISED") if result.recognised else _("not yet recognised")
    lines = [
        _("<b>{title}</b>: {total} of {max} points — {verdict}").format(
            title=escape(title),
            total=_fmt(result.total),
            max=_fmt(result.max_total),
            verdict=("✅ " if result.recognised else "") + verdict,
        )
    ]
    if result.level is not None:
        lines.append(_("Level reached: {level}").format(level=result.level))
    for section in result.sections:
        lines.append(
            _("• {section}: {points}/{max}").format(
                section=escape(section.title),
                points=_fmt(section.points),
                max=_fmt(section.available),
            )
        )
    if result.failures:
        lines.append("")
        lines.append("<b>" + _("What to improve") + "</b>")
    for failure in result.failures:
        lines.append("⚠️ " + failure_text(failure.code, failure.params))
        if failure.advice:
            lines.append("   👉 " + escape(failure.advice))
    return "\n".join(lines)


def failure_text(code: str, params: Mapping[str, object]) -> str:
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
    return template.format(**{**defaults, **p})


def progress_bar(done: int, total: int, width: int = 10) -> str:
    """A bar of filled and empty blocks, readable on any phone font."""
    filled = round(width * done / total) if total else 0
    return "▓" * filled + "░" * (width - filled)


def escape(text: str) -> str:
    """Escape text for the HTML the channels render (Telegram's parse mode, plain elsewhere)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return format_number(value, decimals=1)
    return escape(str(value))
