"""Which questions apply to a set of answers, and the judged result of a finished assessment.

Exempt answers and questions hidden by skip rules leave the maximum: the form's points are
scaled, ``judged = points / available * max_points``, and the pass mark is applied to the judged
total, so a household is never penalised for an item the criteria exempt it from. Section floors
scale the same way; per-item floors do not (an item that counts is judged on its own scale).
Failure codes are listed in ``conversations.engine``. Must not import the bot, the database,
any platform library or gettext: labels and advice come from the form in the requested language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conversations.expr import Value
from conversations.model import YES, Form, Question

# Stored for an optional question the person chose to skip, so the position moves on. Typed text
# is stripped and empty text is refused, so no real answer can ever equal it.
SKIPPED = ""
_EPSILON = 1e-9  # points are sums of a few decimals; compare with a hair of tolerance

Params = Mapping[str, str | int | float]


@dataclass(frozen=True)
class SectionScore:
    id: str
    title: str
    points: float
    max_points: float
    available: float  # max_points less the items hidden or exempt


@dataclass(frozen=True)
class ItemScore:
    question_id: str
    label: str
    points: float | None  # None when the answer exempts the item
    max_points: float


@dataclass(frozen=True)
class Failure:
    code: str
    params: Params = field(default_factory=dict)
    advice: str = ""


@dataclass(frozen=True)
class Result:
    total: float  # judged total: points scaled to max_total when items are exempt or hidden
    max_total: float
    points: float  # raw sum of points
    available: float  # the most points this household could have had
    sections: tuple[SectionScore, ...]
    items: tuple[ItemScore, ...]
    recognised: bool
    level: int | None  # None for forms without levels; 0 when no level is reached
    failures: tuple[Failure, ...]


def pick_language(form: Form, lang: str) -> str:
    """Return ``lang`` if the form has it, else the form's first language."""
    return lang if lang in form.languages else form.languages[0]


def visible(form: Form, answers: Mapping[str, str]) -> tuple[list[Question], dict[str, Value]]:
    """Return the applicable questions in order and the answers skip rules can see.

    Skip rules refer only to earlier questions, so one pass in order suffices, and an answer to a
    hidden question is invisible to every later rule.
    """
    shown: list[Question] = []
    values: dict[str, Value] = {}
    for question in form.questions:
        if question.when is not None and not question.when.evaluate(values.get):
            continue
        shown.append(question)
        answer = answers.get(question.id)
        if answer is not None and answer != SKIPPED:
            values[question.id] = _value(question, answer)
    return shown, values


def _value(question: Question, answer: str) -> Value:
    if question.kind != "number":
        return answer
    try:
        return float(int(answer))
    except ValueError:
        return None  # a corrupted stored answer must not crash a skip rule


def item_points(question: Question, answer: str | None) -> float | None:
    """Return the points an answer earns, or None when it exempts the item."""
    if answer is None or answer == SKIPPED:
        return 0.0
    if question.options:
        for option in question.options:
            if option.id == answer:
                return None if option.exempt else option.points or 0.0
        return 0.0
    if question.kind != "number":
        return 0.0
    try:
        number = int(answer)
    except ValueError:
        return 0.0
    if question.score_value:
        return float(max(0, min(number, question.maximum or 0)))
    return next((b.points for b in question.bands if b.minimum <= number <= b.maximum), 0.0)


def evaluate(form: Form, answers: Mapping[str, str], lang: str = "vi") -> Result:
    """Score ``answers`` and apply the form's rules; labels and advice are in ``lang``."""
    lang = pick_language(form, lang)
    shown, values = visible(form, answers)
    items = tuple(
        ItemScore(q.id, q.label[lang], item_points(q, answers.get(q.id)), q.max_points)
        for q in shown
        if q.scored
    )
    sections = _sections(form, items, lang)
    points = sum(s.points for s in sections)
    available = sum(s.available for s in sections)
    total = points / available * form.max_points if available > 0 else 0.0
    level, level_failures = _levels(form, values, lang)
    failures = [
        *_total_failures(form, total, items, lang),
        *_section_failures(form, sections, lang),
        *_item_failures(form, items, lang),
        *_must_pass_failures(form, shown, answers, lang),
    ]
    recognised = not failures and (level is None or level >= 1)
    return Result(
        total=round(total, 2),
        max_total=form.max_points,
        points=points,
        available=available,
        sections=sections,
        items=items,
        recognised=recognised,
        level=level,
        failures=(*failures, *level_failures),
    )


def _sections(form: Form, items: tuple[ItemScore, ...], lang: str) -> tuple[SectionScore, ...]:
    counted = {item.question_id: item for item in items}
    scores = []
    for section in form.sections:
        points, available = 0.0, section.max_points
        for question in form.questions:
            if question.section != section.id or not question.scored:
                continue
            item = counted.get(question.id)
            if item is None or item.points is None:  # hidden or exempt: out of the maximum
                available -= question.max_points
            else:
                points += item.points
        scores.append(
            SectionScore(section.id, section.title[lang], points, section.max_points, available)
        )
    return tuple(scores)


def _num(value: float) -> int | float:
    """Give messages 8 rather than 8.0, and at most two decimals."""
    rounded = round(value, 2)
    return int(rounded) if rounded.is_integer() else rounded


def _total_failures(
    form: Form, total: float, items: tuple[ItemScore, ...], lang: str
) -> list[Failure]:
    pass_mark = form.rules.pass_mark
    if pass_mark is None or total + _EPSILON >= pass_mark:
        return []
    params: dict[str, str | int | float] = {
        "total": _num(total),
        "pass_mark": _num(pass_mark),
        "max_total": _num(form.max_points),
    }
    # The most useful advice is for the item furthest from full marks.
    weak = [i for i in items if i.points is not None and i.max_points and i.points < i.max_points]
    if not weak:
        return [Failure("total_below_pass_mark", params, form.rules.improve[lang])]
    weakest = min(weak, key=lambda i: (i.points or 0.0) / i.max_points)
    params["weakest"] = weakest.label
    advice = form.question(weakest.question_id).improve[lang]
    return [Failure("total_below_pass_mark", params, advice)]


def _section_failures(form: Form, sections: tuple[SectionScore, ...], lang: str) -> list[Failure]:
    failures = []
    for score in sections:
        section = form.section(score.id)
        if section.min_points is None or not section.max_points:
            continue
        floor = section.min_points * score.available / section.max_points
        if score.points + _EPSILON < floor:
            params = {"section": score.title, "points": _num(score.points), "minimum": _num(floor)}
            failures.append(Failure("section_below_minimum", params, section.improve[lang]))
    return failures


def _item_failures(form: Form, items: tuple[ItemScore, ...], lang: str) -> list[Failure]:
    floor = form.rules.item_min_points
    if floor is None:
        return []
    return [
        Failure(
            "item_below_minimum",
            {"question": item.label, "points": _num(item.points), "minimum": _num(floor)},
            form.question(item.question_id).improve[lang],
        )
        for item in items
        if item.points is not None and item.points + _EPSILON < floor
    ]


def _must_pass_failures(
    form: Form, shown: list[Question], answers: Mapping[str, str], lang: str
) -> list[Failure]:
    return [
        Failure("must_pass_not_met", {"question": q.label[lang]}, q.improve[lang])
        for q in shown
        if q.must_pass and not _met(q, answers.get(q.id))
    ]


def _met(question: Question, answer: str | None) -> bool:
    """A must-pass item is met by full points, an exempting answer, "yes" if unscored, or an
    option graded at least the question's threshold."""
    chosen = next((o for o in question.options if o.id == answer), None)
    if chosen is not None and chosen.exempt:
        return True
    if any(o.grade is not None for o in question.options):
        return chosen is not None and (chosen.grade or 0.0) + _EPSILON >= question.must_pass
    if not question.scored:
        return answer == YES
    points = item_points(question, answer)
    return points is None or points + _EPSILON >= question.max_points


def _levels(
    form: Form, values: Mapping[str, Value], lang: str
) -> tuple[int | None, list[Failure]]:
    """Return the highest level whose conditions, and all lower levels', hold."""
    if not form.levels:
        return None, []
    reached = 0
    for level in form.levels:
        unmet = [c for c in level.conditions if not c.when.evaluate(values.get)]
        if unmet:
            return reached, [
                Failure(
                    "level_condition_not_met",
                    {"level": level.number, "condition": c.label[lang]},
                    c.improve[lang],
                )
                for c in unmet
            ]
        reached = level.number
    return reached, []
