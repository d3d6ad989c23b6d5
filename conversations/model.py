"""The form model: frozen dataclasses for a criteria set, as the loader builds it from TOML.

A ``Form`` is immutable and already validated; every amount that a form file gave as a parameter
name is resolved to its number here. Must not import the bot, the database or any platform
library; it imports the loader only inside ``Form.with_overrides`` (the loader builds forms).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from conversations.expr import Expr

Kind = Literal["choice", "yesno", "number", "text"]
KINDS: tuple[Kind, ...] = ("choice", "yesno", "number", "text")
Labels = Mapping[str, str]  # language code -> text

# Ids of the two options the loader gives every yes/no question; their labels come from the form.
YES = "yes"
NO = "no"
BUTTON_MAX = 35  # characters a button shows on a 360 dp phone

MAX_VARIANTS = 64  # parameter variants of one form kept built (see Form.with_overrides)


class FormError(ValueError):
    """A form file or an override is invalid; ``str()`` names the form, the item and the field."""


@dataclass(frozen=True)
class Option:
    """One answer of a choice or yes/no question. Exempt options take the item out of the max.
    ``grade`` ranks the answers of an unscored must-pass question (all adults 2, some 1, none
    0): the item is met when the chosen grade reaches the question's ``must_pass`` threshold."""

    id: str
    label: Labels
    points: float | None = None
    exempt: bool = False
    grade: float | None = None
    # The button's text where the label is longer than a phone shows on one (BUTTON_MAX); the
    # question then shows the whole label.
    short: Labels = field(default_factory=dict)

    def button(self, lang: str) -> str:
        """What its button says in ``lang``."""
        return self.short.get(lang) or self.label.get(lang, "")


@dataclass(frozen=True)
class Band:
    """Points for a whole-number answer between ``minimum`` and ``maximum`` inclusive."""

    minimum: int
    maximum: int
    points: float


@dataclass(frozen=True)
class Question:
    """One step of the conversation; ``label`` is its short name in reviews and results."""

    id: str
    section: str
    kind: Kind
    label: Labels
    text: Labels
    help: Labels
    improve: Labels = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    minimum: int | None = None  # number: smallest value; text: unused
    maximum: int | None = None  # number: largest value; text: longest answer in characters
    required: bool = True
    when: Expr | None = None
    max_points: float = 0.0
    scored: bool = False
    score_value: bool = False  # number: points = the value itself
    bands: tuple[Band, ...] = ()
    # 0: not a must-pass item. Otherwise: met by full points (scored), "yes" (unscored yes/no),
    # or an option whose grade is at least this threshold (unscored, graded options).
    must_pass: float = 0.0
    # A number the bot fills from data it holds (the share of recognised families, say) under
    # this name; "": the person answers. A figure is never asked, edited or stepped back onto:
    # it is shown at the review, for the person to confirm by submitting.
    figure: str = ""


@dataclass(frozen=True)
class Section:
    """A criterion (or competency) with its maximum and an optional floor."""

    id: str
    title: Labels
    max_points: float
    min_points: float | None = None
    improve: Labels = field(default_factory=dict)


@dataclass(frozen=True)
class Parameter:
    """A named number a commune or province may change without touching code."""

    name: str
    value: float
    default: float
    confirmed: bool
    note: Labels


@dataclass(frozen=True)
class Condition:
    """One indicator condition of a recognition level."""

    when: Expr
    label: Labels
    improve: Labels


@dataclass(frozen=True)
class Level:
    """Recognition level ``number`` (1, 2, ...): reached when it and all lower levels hold."""

    number: int
    title: Labels
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Rules:
    """Result rules on points. Any of them may be absent (a levels-only form has none)."""

    pass_mark: float | None = None
    item_min_points: float | None = None
    improve: Labels = field(default_factory=dict)  # advice when no single item explains a fail


@dataclass(frozen=True)
class Form:
    """A versioned criteria set. Build it with ``conversations.loader``, never by hand."""

    key: str
    version: int
    title: Labels
    source: str
    languages: tuple[str, ...]
    max_points: float
    sections: tuple[Section, ...]
    questions: tuple[Question, ...]
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    rules: Rules = field(default_factory=Rules)
    levels: tuple[Level, ...] = ()
    # The parsed TOML, kept so that overrides rebuild and re-validate the whole form.
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _questions: dict[str, Question] = field(init=False, repr=False, compare=False)
    _sections: dict[str, Section] = field(init=False, repr=False, compare=False)
    _order: dict[str, int] = field(init=False, repr=False, compare=False)
    _variants: dict[tuple[tuple[str, float], ...], Form] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # Lookups run on every step, so index once; frozen dataclasses need object.__setattr__.
        object.__setattr__(self, "_questions", {q.id: q for q in self.questions})
        object.__setattr__(self, "_sections", {s.id: s for s in self.sections})
        object.__setattr__(self, "_order", {q.id: i for i, q in enumerate(self.questions)})
        object.__setattr__(self, "_variants", {})

    @property
    def ref(self) -> str:
        """Return "form KEY vN", the prefix of every error about this form."""
        return f"form {self.key} v{self.version}"

    def question(self, qid: str) -> Question:
        """Return the question with id ``qid``; raise KeyError if there is none."""
        return self._questions[qid]

    def has_question(self, qid: str) -> bool:
        """Return whether ``qid`` is a question of this form."""
        return qid in self._questions

    def order(self, qid: str) -> int:
        """Return the 0-based position of question ``qid`` in the form."""
        return self._order[qid]

    def section(self, sid: str) -> Section:
        """Return the section with id ``sid``; raise KeyError if there is none."""
        return self._sections[sid]

    def overrides(self) -> dict[str, float]:
        """Return the parameters whose value differs from the form file's default."""
        return {p.name: p.value for p in self.parameters.values() if p.value != p.default}

    def with_overrides(self, values: Mapping[str, float]) -> Form:
        """Return this form rebuilt with parameter ``values``; raise FormError if it breaks."""
        from conversations.loader import build_form  # the loader imports this module

        # Rebuilding validates the whole form (milliseconds), and a unit's settings apply on
        # every step of its assessments: forms never change, so each variant is built once.
        key = tuple(sorted(values.items()))
        variant = self._variants.get(key)
        if variant is None:
            if len(self._variants) >= MAX_VARIANTS:
                self._variants.clear()  # settings edited many times over: start afresh
            variant = build_form(self.raw, {**self.overrides(), **values})
            self._variants[key] = variant
        return variant
