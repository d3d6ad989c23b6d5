"""Cross-checks of a built form: ids, skip-rule references, points and sums, rules and levels.

The loader checks each field's type; this module checks how the parts fit together, so a typo in
a skip rule or a sum that does not add up is refused before any person reaches it. Must not
import the bot, the database, any platform library or the loader (the loader calls this).
"""

from __future__ import annotations

from collections.abc import Iterable

from conversations.expr import KEYWORDS, Expr
from conversations.model import Form, FormError, Question, Section
from conversations.text import fold

_ORDERING = frozenset({"<", "<=", ">", ">="})


def validate_form(form: Form) -> None:
    """Raise FormError on the first broken reference, limit, sum or missing advice."""
    _check_ids(form)
    for question in form.questions:
        _check_question(form, question)
    _check_when(form)
    _check_points(form)
    _check_rules(form)
    _check_levels(form)


def _fail(form: Form, where: str, message: str) -> FormError:
    return FormError(f"{form.ref}: {where}: {message}" if where else f"{form.ref}: {message}")


def _n(value: float) -> str:
    """Format points without a needless ".0", as people write them."""
    return str(int(value)) if float(value).is_integer() else str(value)


def _duplicates(ids: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    found = []
    for ident in ids:
        if ident in seen:
            found.append(ident)
        seen.add(ident)
    return found


def _check_ids(form: Form) -> None:
    for sid in _duplicates(s.id for s in form.sections):
        raise _fail(form, f"section {sid}", "duplicate id")
    for qid in _duplicates(q.id for q in form.questions):
        raise _fail(form, f"question {qid}", "duplicate id")
    sections = {s.id for s in form.sections}
    for question in form.questions:
        if question.id in KEYWORDS:
            raise _fail(
                form, f"question {question.id}", "this id is a reserved word of skip rules"
            )
        if question.section not in sections:
            raise _fail(
                form, f"question {question.id}.section", f"unknown section {question.section!r}"
            )
        for oid in _duplicates(o.id for o in question.options):
            raise _fail(form, f"question {question.id}.option {oid}", "duplicate option id")


def _check_question(form: Form, question: Question) -> None:
    where = f"question {question.id}"
    if question.kind == "choice":
        _check_choice(form, question, where)
    elif question.kind == "number":
        _check_number(form, question, where)
    elif question.kind == "text" and question.maximum is not None and question.maximum < 1:
        raise _fail(form, f"{where}.maximum", "a text answer must allow at least 1 character")
    graded = any(o.grade is not None for o in question.options)
    if question.must_pass and not (question.scored or question.kind == "yesno" or graded):
        raise _fail(
            form,
            f"{where}.must_pass",
            "only a scored, a yes/no or a graded question can be a must-pass item",
        )
    if graded and (question.scored or question.kind != "choice"):
        raise _fail(form, where, "grades rank the options of an unscored choice question")
    if graded and any(o.grade is None and not o.exempt for o in question.options):
        raise _fail(form, where, "every option needs a 'grade' when one has it")
    if (question.scored or question.must_pass) and not question.improve:
        raise _fail(
            form, where, "missing 'improve' (plain advice shown when the item falls short)"
        )


def _check_choice(form: Form, question: Question, where: str) -> None:
    options = question.options
    if len(options) < 2:
        raise _fail(form, where, "a choice question needs at least 2 options")
    if all(o.exempt for o in options):
        raise _fail(form, where, "at least one option must not be exempt")
    scored = [o for o in options if not o.exempt and o.points is not None]
    if scored:
        for option in options:
            if not option.exempt and option.points is None:
                raise _fail(
                    form,
                    f"{where}.option {option.id}",
                    "missing 'points' (the other options have points)",
                )
    for lang in form.languages:
        folded = [fold(o.label[lang]) for o in options]
        for label in _duplicates(folded):
            raise _fail(
                form,
                where,
                f"two options read the same in {lang!r} ({label!r}), so a "
                "typed answer could not tell them apart",
            )


def _check_number(form: Form, question: Question, where: str) -> None:
    low, high = question.minimum, question.maximum
    if low is None or high is None or low > high:
        raise _fail(form, where, "a number question needs whole numbers 'minimum' <= 'maximum'")
    if question.score_value and (low < 0 or question.bands):
        raise _fail(
            form,
            f"{where}.score_value",
            "needs 'minimum' >= 0 and no 'bands' (points are the value itself)",
        )
    if question.bands:
        _check_bands(form, question, where, low, high)


def _check_bands(form: Form, question: Question, where: str, low: int, high: int) -> None:
    """Bands must cover minimum..maximum exactly once, so every valid answer has points. A
    figure's bands may start above its minimum (a threshold a commune sets): below them, the
    figure scores nothing."""
    bands = sorted(question.bands, key=lambda b: b.minimum)
    expected = max(low, bands[0].minimum) if question.figure else low
    for band in bands:
        if band.minimum > expected:
            raise _fail(form, f"{where}.bands", f"no band covers {expected} to {band.minimum - 1}")
        if band.minimum < expected:
            raise _fail(form, f"{where}.bands", f"bands overlap at {band.minimum}")
        expected = band.maximum + 1
    if expected <= high:
        raise _fail(form, f"{where}.bands", f"no band covers {expected} to {high}")
    if expected > high + 1:
        raise _fail(form, f"{where}.bands", f"a band goes beyond the maximum {high}")


def _check_when(form: Form) -> None:
    for index, question in enumerate(form.questions):
        if question.when is None:
            continue
        where = f"question {question.id}.when"
        for name in question.when.names():
            if not form.has_question(name):
                raise _fail(form, where, f"{name!r} is not a question of this form")
            if form.order(name) >= index:
                raise _fail(form, where, f"{name!r} is not an earlier question")
        _check_literals(form, question.when, where)


def _check_literals(form: Form, expr: Expr, where: str) -> None:
    """Refuse comparisons that can never hold: unknown option ids, numbers against words."""
    for op, name, literal in expr.literals():
        target = form.question(name)
        if target.kind == "number":
            if not isinstance(literal, float):
                raise _fail(
                    form,
                    where,
                    f"{name} is a number question; compare it with a number, not {literal!r}",
                )
            continue
        if op in _ORDERING:
            raise _fail(
                form, where, f"{op!r} needs a number question, but {name} is {target.kind}"
            )
        if not isinstance(literal, str):
            raise _fail(
                form,
                where,
                f"{name} is a {target.kind} question; compare it with a "
                f"'string', not {_n(literal)}",
            )
        if target.options and literal not in {o.id for o in target.options}:
            ids = ", ".join(o.id for o in target.options)
            raise _fail(form, where, f"{literal!r} is not an option of {name} (options: {ids})")


def _check_points(form: Form) -> None:
    for question in form.questions:
        top = form.section(question.section).max_points
        if question.max_points > top:
            message = f"{_n(question.max_points)} points exceed the {_n(top)} points of section"
            raise _fail(form, f"question {question.id}", f"{message} {question.section}")
    for section in form.sections:
        _check_section(form, section)
    total = sum(s.max_points for s in form.sections)
    if total != form.max_points:
        message = f"sections add up to {_n(total)} points, but max_points is"
        raise _fail(form, "", f"{message} {_n(form.max_points)}")


def _check_section(form: Form, section: Section) -> None:
    where, top = f"section {section.id}", section.max_points
    total = sum(q.max_points for q in form.questions if q.section == section.id)
    if total > top:
        message = f"questions add up to {_n(total)} points, more than its max_points"
        raise _fail(form, where, f"{message} {_n(top)}")
    if section.min_points is None:
        return
    if section.min_points > top:
        message = f"{_n(section.min_points)} is more than the section's max_points {_n(top)}"
        raise _fail(form, f"{where}.min_points", message)
    if not section.improve:
        message = "missing 'improve' (advice shown when the section falls below min_points)"
        raise _fail(form, where, message)


def _check_rules(form: Form) -> None:
    rules = form.rules
    if rules.pass_mark is None and not form.levels:
        raise _fail(form, "rules", "give a pass_mark, or [[levels]], so a result can be judged")
    if rules.pass_mark is not None:
        if rules.pass_mark > form.max_points:
            raise _fail(
                form,
                "rules.pass_mark",
                f"{_n(rules.pass_mark)} is more than the form's max_points {_n(form.max_points)}",
            )
        if not rules.improve:
            raise _fail(form, "rules", "missing 'improve' (advice when the total falls short)")
    floor = rules.item_min_points
    for question in form.questions:
        if floor is not None and question.scored and floor > question.max_points:
            raise _fail(
                form,
                "rules.item_min_points",
                f"{_n(floor)} is more than the "
                f"{_n(question.max_points)} points of question {question.id}",
            )


def _check_levels(form: Form) -> None:
    for level in form.levels:
        for index, condition in enumerate(level.conditions, 1):
            where = f"level {level.number}.condition {index}.when"
            for name in condition.when.names():
                if not form.has_question(name):
                    raise _fail(form, where, f"{name!r} is not a question of this form")
            _check_literals(form, condition.when, where)
