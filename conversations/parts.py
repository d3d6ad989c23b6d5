"""Build the parts of a form (options, sections, questions, rules, levels) from TOML tables.

Each function reads one kind of table through a ``Reader`` and returns a model object; the
cross-checks between parts happen later in ``validate``. Must not import the bot, the
database, any platform library or the loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conversations.model import (
    BUTTON_MAX,
    KINDS,
    NO,
    YES,
    Band,
    Condition,
    Kind,
    Labels,
    Level,
    Option,
    Question,
    Rules,
    Section,
)
from conversations.reader import Reader, ident, named_tables, place

_KINDS: dict[str, Kind] = {kind: kind for kind in KINDS}
# Fields that only some kinds of question may have; any other field is allowed for every kind.
_ONLY_FOR: dict[str, frozenset[str]] = {
    "options": frozenset({"choice"}),
    "scale": frozenset({"choice"}),
    "points": frozenset({"yesno"}),
    "minimum": frozenset({"number"}),
    "maximum": frozenset({"number", "text"}),
    "score_value": frozenset({"number"}),
    "bands": frozenset({"number"}),
    "figure": frozenset({"number"}),
}
_ONLY_FOR["exemptable"] = frozenset({"choice"})
_WORDING = frozenset({"label", "text", "help", "improve"})
_QUESTION = frozenset({"id", "section", "kind", "required", "when", "must_pass"}) | _WORDING
_QUESTION |= frozenset(_ONLY_FOR)


def read_yesno(reader: Reader, value: object) -> dict[str, Labels] | None:
    if value is None:
        return None
    table = reader.table(value, "yesno", frozenset({YES, NO}))
    return {answer: reader.labels(table, answer, "yesno") for answer in (YES, NO)}


def read_exemption(reader: Reader, value: object) -> Option | None:
    """The form's answer for an item a person's situation does not call for ("my work does not
    need it"): offered by the questions marked ``exemptable``; it takes the item out of the
    maximum, as an exempt option does."""
    if value is None:
        return None
    fields = reader.table(value, "exemption", frozenset({"id", "label", "short"}))
    oid = ident(reader, fields, "exemption")
    label, short = _button_labels(reader, fields, "exemption")
    return Option(oid, label, None, exempt=True, short=short)


def _button_labels(reader: Reader, fields: Mapping[str, Any], where: str) -> tuple[Labels, Labels]:
    """An option's label, and its ``short`` one for the button where the label is too long
    for a button on a 360 dp phone (about ``BUTTON_MAX`` characters)."""
    label = reader.labels(fields, "label", where)
    found = fields.get("short")
    if found is not None and not isinstance(found, dict):
        raise reader.error(f"{where}.short", "expected a table of labels, one per language")
    # Only where a language's label is too long: the others keep their label on the button.
    short = reader.check_labels(found, f"{where}.short", every_language=False) if found else {}
    for lang, text in label.items():
        shown = short.get(lang) or text
        if len(shown) > BUTTON_MAX:
            name = f"short.{lang}" if lang in short else f"label.{lang}"
            raise reader.error(
                where,
                f"{name} has {len(shown)} characters, more than a phone shows on a button "
                f"({BUTTON_MAX}): give a 'short.{lang}' of at most {BUTTON_MAX} for the button "
                "(the question still shows the whole label)",
            )
    return label, short


def read_scales(reader: Reader, value: object) -> dict[str, tuple[Option, ...]]:
    scales: dict[str, tuple[Option, ...]] = {}
    for name, table in named_tables(reader, value, "scales").items():
        where = f"scale {name}"
        fields = reader.table(table, where, frozenset({"options"}))
        scales[name] = _options(reader, fields, where)
    return scales


def _options(reader: Reader, table: Mapping[str, Any], where: str) -> tuple[Option, ...]:
    value = table.get("options")
    if not isinstance(value, list):
        raise reader.error(where, "missing 'options' (an array of tables)")
    return tuple(
        _option(reader, item, f"{where}.{place(item, 'option', i)}")
        for i, item in enumerate(value, 1)
    )


def _option(reader: Reader, value: object, where: str) -> Option:
    allowed = frozenset({"id", "label", "short", "points", "exempt", "grade"})
    fields = reader.table(value, where, allowed)
    oid = ident(reader, fields, where)
    exempt = reader.flag(fields, "exempt", where, default=False)
    points = reader.amount(fields, "points", where)
    grade = reader.amount(fields, "grade", where)
    if exempt and points is not None:
        raise reader.error(
            where, "an exempt option takes the item out of the maximum, so it cannot have points"
        )
    if exempt and grade is not None:
        raise reader.error(where, "an exempt option meets the item, so it cannot have a grade")
    if grade is not None and points is not None:
        raise reader.error(where, "give 'points' (a scored item) or 'grade', not both")
    label, short = _button_labels(reader, fields, where)
    return Option(oid, label, points, exempt, grade, short)


def read_section(reader: Reader, value: object, index: int) -> Section:
    allowed = frozenset({"id", "title", "max_points", "min_points", "improve"})
    where = place(value, "section", index)
    fields = reader.table(value, where, allowed)
    ident(reader, fields, where)
    return Section(
        id=fields["id"],
        title=reader.labels(fields, "title", where),
        max_points=reader.amount(fields, "max_points", where, required=True) or 0.0,
        min_points=reader.amount(fields, "min_points", where),
        improve=reader.labels(fields, "improve", where, required=False),
    )


def read_question(
    reader: Reader,
    value: object,
    index: int,
    yesno: Mapping[str, Labels] | None,
    scales: Mapping[str, tuple[Option, ...]],
    exemption: Option | None = None,
) -> Question:
    where = place(value, "question", index)
    fields = reader.table(value, where, _QUESTION)
    ident(reader, fields, where)
    kind = _kind(reader, fields, where)
    options = _question_options(reader, fields, where, kind, yesno, scales)
    options += _exemption(reader, fields, where, exemption)
    maximum = reader.integer(fields, "maximum", where)
    bands = _bands(reader, fields, where)
    score_value = reader.flag(fields, "score_value", where, default=False)
    return Question(
        id=fields["id"],
        section=reader.text(fields, "section", where),
        kind=kind,
        label=reader.labels(fields, "label", where),
        text=reader.labels(fields, "text", where),
        help=reader.labels(fields, "help", where),
        improve=reader.labels(fields, "improve", where, required=False),
        options=options,
        minimum=reader.integer(fields, "minimum", where),
        maximum=maximum,
        required=reader.flag(fields, "required", where, default=True),
        when=reader.expr(fields, "when", where),
        max_points=_max_points(options, bands, maximum if score_value else None),
        scored=any(o.points is not None for o in options) or bool(bands) or score_value,
        score_value=score_value,
        bands=bands,
        must_pass=_must_pass(reader, fields, where, options),
        figure=_figure(reader, fields, where),
    )


def _figure(reader: Reader, fields: Mapping[str, Any], where: str) -> str:
    """The name of the figure the bot fills a number question with, or ""."""
    if "figure" not in fields:
        return ""
    name = reader.text(fields, "figure", where)
    if not name.replace("_", "").isalnum() or not name[:1].isalpha():
        raise reader.error(f"{where}.figure", "a figure's name is letters, digits and '_'")
    return name


def _exemption(
    reader: Reader, fields: Mapping[str, Any], where: str, exemption: Option | None
) -> tuple[Option, ...]:
    """The form's exemption answer, for a question marked ``exemptable`` (true or a parameter
    that is not 0: which items may be exempted is for the commune or province to set)."""
    value = fields.get("exemptable", False)
    offered = (
        value if isinstance(value, bool) else bool(reader.amount(fields, "exemptable", where))
    )
    if not offered:
        return ()
    if exemption is None:
        raise reader.error(f"{where}.exemptable", "the form has no [exemption] answer to offer")
    return (exemption,)


def _kind(reader: Reader, fields: Mapping[str, Any], where: str) -> Kind:
    """Return the question's kind after checking it has only the fields that kind allows."""
    name = reader.text(fields, "kind", where)
    kind = _KINDS.get(name)
    if kind is None:
        raise reader.error(f"{where}.kind", f"{name!r} is not one of {', '.join(KINDS)}")
    for field in fields:
        if field in _ONLY_FOR and kind not in _ONLY_FOR[field]:
            raise reader.error(f"{where}.{field}", f"not allowed for a {kind} question")
    return kind


def _question_options(
    reader: Reader,
    fields: Mapping[str, Any],
    where: str,
    kind: Kind,
    yesno: Mapping[str, Labels] | None,
    scales: Mapping[str, tuple[Option, ...]],
) -> tuple[Option, ...]:
    """Return the options: listed, taken from a scale, or the form's yes/no pair."""
    if kind == "yesno":
        if yesno is None:
            raise reader.error(where, "a yes/no question needs the form's [yesno] labels")
        points = reader.amount(fields, "points", where)
        no_points = None if points is None else 0.0
        return (Option(YES, yesno[YES], points), Option(NO, yesno[NO], no_points))
    if kind != "choice":
        return ()
    if "scale" not in fields:
        return _options(reader, fields, where)
    name = reader.text(fields, "scale", where)
    if name not in scales or "options" in fields:
        raise reader.error(f"{where}.scale", f"give 'options' or a known scale, not {name!r}")
    return scales[name]


def _bands(reader: Reader, fields: Mapping[str, Any], where: str) -> tuple[Band, ...]:
    value = fields.get("bands", [])
    if not isinstance(value, list):
        raise reader.error(f"{where}.bands", "expected an array of tables")
    bands = []
    for index, item in enumerate(value, 1):
        place = f"{where}.band {index}"
        band = reader.table(item, place, frozenset({"minimum", "maximum", "points"}))
        # A bound may be a parameter (a threshold a commune sets): read as an amount.
        low, high = (reader.amount(band, bound, place) for bound in ("minimum", "maximum"))
        if (
            low is None
            or high is None
            or low > high
            or not (low.is_integer() and high.is_integer())
        ):
            raise reader.error(place, "needs whole numbers 'minimum' <= 'maximum'")
        points = reader.amount(band, "points", place, required=True) or 0.0
        bands.append(Band(int(low), int(high), points))
    return tuple(bands)


def _max_points(options: tuple[Option, ...], bands: tuple[Band, ...], top: int | None) -> float:
    candidates = [o.points for o in options if o.points is not None]
    candidates += [b.points for b in bands]
    if top is not None:
        candidates.append(float(top))
    return max(candidates, default=0.0)


def _must_pass(
    reader: Reader, fields: Mapping[str, Any], where: str, options: tuple[Option, ...]
) -> float:
    """The must-pass threshold (0: not a must-pass item). ``true`` asks for the best answer:
    full points, "yes", or the highest grade. A number or a parameter is the lowest grade that
    meets it (a parameter makes the requirement a commune's choice; 0 turns it off)."""
    value = fields.get("must_pass", False)
    grades = [o.grade for o in options if o.grade is not None]
    if isinstance(value, bool):
        return (max(grades) if grades else 1.0) if value else 0.0
    amount = reader.amount(fields, "must_pass", where) or 0.0
    return amount if grades or not amount else 1.0


def read_rules(reader: Reader, value: object) -> Rules:
    fields = reader.table(value, "rules", frozenset({"pass_mark", "item_min_points", "improve"}))
    return Rules(
        pass_mark=reader.amount(fields, "pass_mark", "rules"),
        item_min_points=reader.amount(fields, "item_min_points", "rules"),
        improve=reader.labels(fields, "improve", "rules", required=False),
    )


def read_level(reader: Reader, value: object, index: int) -> Level:
    where = f"level {index}"
    fields = reader.table(value, where, frozenset({"level", "title", "conditions"}))
    number = reader.integer(fields, "level", where)
    if number != index:
        raise reader.error(where, f"levels must be numbered 1, 2, ... in order; got {number!r}")
    conditions = fields.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise reader.error(where, "needs at least one [[levels.conditions]]")
    return Level(
        number=index,
        title=reader.labels(fields, "title", where),
        conditions=tuple(
            _condition(reader, c, f"{where}.condition {i}") for i, c in enumerate(conditions, 1)
        ),
    )


def _condition(reader: Reader, value: object, where: str) -> Condition:
    fields = reader.table(value, where, frozenset({"when", "label", "improve"}))
    when = reader.expr(fields, "when", where)
    if when is None:
        raise reader.error(where, "missing 'when'")
    return Condition(
        when=when,
        label=reader.labels(fields, "label", where),
        improve=reader.labels(fields, "improve", where),
    )
