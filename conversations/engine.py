"""The conversation engine: one pure, deterministic step from (form, state, input) to an outcome.

``advance`` never does I/O and never keeps anything between calls: the service stores what
``Outcome.changed`` says and passes the stored state back next time. Position = ``state.cursor``
(set by back and edit) or else the first applicable question still needing an answer, or the
review once every applicable question is answered or skipped.

Problem codes (``Prompt.problem`` / ``Review.problem``; the step and the state do not move):

    unknown_choice   {count}              typed text matches no option (choices are 1..count)
    not_a_number     {minimum, maximum}   a number question got something else
    out_of_range     {minimum, maximum}   the number is outside the question's range
    empty            {}                   nothing but spaces was typed
    too_long         {maximum}            a text answer is longer than maximum characters
    stale            {}                   the answer or skip names a question that is not the
                                          current step (an old button, or one already passed)
    at_review        {}                   an answer or skip arrived while the review is shown
    required         {}                   skip of a question that must be answered
    no_previous      {}                   back at the first question
    cannot_edit      {question?}          edit of a question that is hidden, unknown or not yet
                                          reached; ``question`` is its label when it exists
    incomplete       {count}              submit while ``count`` required answers are missing
                                          (their ids are in ``Review.missing``)
    unknown_input    {kind}               ``Input.kind`` is none of the known kinds

Failure codes (``Result.failures``; ``advice`` is the form's ``improve`` text in the language):

    total_below_pass_mark    {total, pass_mark, max_total, weakest?}   ``weakest`` is the label
                             of the item furthest from full marks; the advice is that item's
    section_below_minimum    {section, points, minimum}
    item_below_minimum       {question, points, minimum}
    must_pass_not_met        {question}
    level_condition_not_met  {level, condition}   a condition of the next level is not met;
                             listed even when recognised, as advice for the next level

Params carry numbers and already-localised labels. Must not import the bot, the database, any
platform library or gettext.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from conversations.answers import display, parse_answer
from conversations.model import Form, Question
from conversations.scoring import (
    SKIPPED,
    Failure,
    ItemScore,
    Result,
    SectionScore,
    evaluate,
    pick_language,
    visible,
)
from conversations.steps import (
    Choice,
    Input,
    Outcome,
    Problem,
    Prompt,
    Review,
    ReviewItem,
    State,
)

__all__ = [
    "SKIPPED",
    "Choice",
    "Failure",
    "Input",
    "ItemScore",
    "Outcome",
    "Problem",
    "Prompt",
    "Result",
    "Review",
    "ReviewItem",
    "SectionScore",
    "State",
    "advance",
    "evaluate",
]


@dataclass(frozen=True)
class _View:
    """The applicable questions for the current answers, and where the person stands."""

    form: Form
    state: State
    lang: str
    shown: list[Question]
    index: dict[str, int]
    first_open: int | None  # first applicable question still needing an answer

    @property
    def position(self) -> Question | None:
        cursor = self.state.cursor
        if cursor is not None and self.reachable(cursor):
            return self.form.question(cursor)
        return None if self.first_open is None else self.shown[self.first_open]

    def reachable(self, qid: str) -> bool:
        """Return whether ``qid`` applies and is not past an unanswered question."""
        where = self.index.get(qid)
        return where is not None and (self.first_open is None or where <= self.first_open)


def advance(form: Form, state: State, inp: Input, lang: str = "vi") -> Outcome:
    """Apply one input and return the new state, the reply and the answers to write."""
    view = _view(form, state, pick_language(form, lang))
    handler = _HANDLERS.get(inp.kind)
    if handler is None:
        return _stay(view, Problem("unknown_input", {"kind": inp.kind}))
    return handler(view, inp)


def _view(form: Form, state: State, lang: str) -> _View:
    shown, _ = visible(form, state.answers)
    # A figure is the bot's to fill, never asked: one missing is missing at the review.
    first_open = next(
        (i for i, q in enumerate(shown) if _open(q, state.answers) and not q.figure), None
    )
    return _View(form, state, lang, shown, {q.id: i for i, q in enumerate(shown)}, first_open)


def _open(question: Question, answers: Mapping[str, str]) -> bool:
    answer = answers.get(question.id)
    return answer is None or (answer == SKIPPED and question.required)


def _on_start(view: _View, inp: Input) -> Outcome:
    return Outcome(view.state, _reply(view, None))


def _on_answer(view: _View, inp: Input) -> Outcome:
    question = view.position
    problem = _check_step(question, inp)
    if problem is not None or question is None:
        return _stay(view, problem or Problem("at_review"))
    parsed = parse_answer(question, inp.value, view.lang)
    if isinstance(parsed, Problem):
        return _stay(view, parsed)
    return _store(view, question.id, parsed)


def _on_skip(view: _View, inp: Input) -> Outcome:
    question = view.position
    problem = _check_step(question, inp)
    if problem is not None or question is None:
        return _stay(view, problem or Problem("at_review"))
    if question.required:
        return _stay(view, Problem("required"))
    return _store(view, question.id, SKIPPED)


def _check_step(question: Question | None, inp: Input) -> Problem | None:
    """Refuse an answer meant for another step: an old button must not overwrite this one."""
    if inp.question is not None and (question is None or inp.question != question.id):
        return Problem("stale")
    return None


def _on_back(view: _View, inp: Input) -> Outcome:
    current = view.position
    where = len(view.shown) if current is None else view.index[current.id]
    earlier = [q for q in view.shown[:where] if not q.figure]  # figures are the bot's to fill
    if not earlier:
        return _stay(view, Problem("no_previous"))
    return _move(view, earlier[-1].id)


def _on_edit(view: _View, inp: Input) -> Outcome:
    qid = inp.value.strip()
    if not view.reachable(qid) or view.form.question(qid).figure:
        params: dict[str, str | int | float] = {}
        if view.form.has_question(qid):
            params["question"] = view.form.question(qid).label[view.lang]
        return _stay(view, Problem("cannot_edit", params))
    return _move(view, qid)


def _on_review(view: _View, inp: Input) -> Outcome:
    return Outcome(view.state, _review(view, None))


def _on_submit(view: _View, inp: Input) -> Outcome:
    missing = _missing(view)
    if missing:
        return Outcome(view.state, _review(view, Problem("incomplete", {"count": len(missing)})))
    return Outcome(view.state, evaluate(view.form, view.state.answers, view.lang))


_HANDLERS: dict[str, Callable[[_View, Input], Outcome]] = {
    "start": _on_start,
    "answer": _on_answer,
    "back": _on_back,
    "skip": _on_skip,
    "review": _on_review,
    "edit": _on_edit,
    "submit": _on_submit,
}


def _stay(view: _View, problem: Problem) -> Outcome:
    """Answer bad input with the same step and the problem; the state does not change."""
    return Outcome(view.state, _reply(view, problem))


def _move(view: _View, qid: str) -> Outcome:
    state = State(view.state.answers, cursor=qid)
    return Outcome(
        state, _prompt(_view(view.form, state, view.lang), view.form.question(qid), None)
    )


def _store(view: _View, qid: str, value: str) -> Outcome:
    """Record an answer, drop the answers it hides, and move to the next open question."""
    answers = dict(view.state.answers)
    changed: dict[str, str | None] = {}
    if answers.get(qid) != value:
        answers[qid] = value
        changed[qid] = value
    shown, _ = visible(view.form, answers)
    applicable = {q.id for q in shown}
    for hidden in [k for k in answers if view.form.has_question(k) and k not in applicable]:
        del answers[hidden]
        changed[hidden] = None
    state = State(answers, cursor=None)
    return Outcome(state, _reply(_view(view.form, state, view.lang), None), changed)


def _reply(view: _View, problem: Problem | None) -> Prompt | Review:
    question = view.position
    return _review(view, problem) if question is None else _prompt(view, question, problem)


def _prompt(view: _View, question: Question, problem: Problem | None) -> Prompt:
    lang, where = view.lang, view.index[question.id]
    number = question.kind == "number"
    return Prompt(
        step=question.id,
        section_title=view.form.section(question.section).title[lang],
        text=question.text[lang],
        help=question.help[lang],
        kind=question.kind,
        choices=tuple(
            Choice(o.id, o.label[lang], n, o.short.get(lang, ""))
            for n, o in enumerate(question.options, 1)
        ),
        index=where + 1,
        total=_expected_total(view),
        current=display(question, view.state.answers.get(question.id), lang),
        problem=problem,
        can_back=any(not q.figure for q in view.shown[:where]),
        can_skip=not question.required,
        minimum=question.minimum if number else None,
        maximum=question.maximum if number else None,
    )


def _expected_total(view: _View) -> int:
    """Count the applicable questions plus those a still-open answer may reveal.

    Without the second part, "1 of 9" would jump to "2 of 12" once a skip rule opens up.
    """
    undecided = {q.id for q in view.shown if q.id not in view.state.answers}
    count = len(view.shown)
    for question in view.form.questions:
        if question.id in view.index or question.when is None:
            continue
        if any(name in undecided for name in question.when.names()):
            undecided.add(question.id)
            count += 1
    return count


def _review(view: _View, problem: Problem | None) -> Review:
    items = []
    for question in view.shown:
        answer = view.state.answers.get(question.id)
        status = "missing" if answer is None else "skipped" if answer == SKIPPED else "answered"
        shown = display(question, answer, view.lang)
        items.append(
            ReviewItem(
                question.id, question.label[view.lang], shown, status, bool(question.figure)
            )
        )
    return Review(
        items=tuple(items),
        answered=sum(1 for item in items if item.status == "answered"),
        total=len(items),
        missing=_missing(view),
        problem=problem,
    )


def _missing(view: _View) -> tuple[str, ...]:
    answers = view.state.answers
    return tuple(q.id for q in view.shown if q.required and answers.get(q.id, SKIPPED) == SKIPPED)
