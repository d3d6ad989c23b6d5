"""The values that cross the engine's boundary: the stored state, an input, and the replies.

Channel-neutral: a Prompt or Review carries ids, labels already in the person's language, and a
Problem code for the bot to translate. Must not import the bot, the database, any platform
library or gettext.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from conversations.scoring import Result


@dataclass(frozen=True)
class State:
    """What the service stores: answers by question id, and where back/edit moved to."""

    answers: Mapping[str, str] = field(default_factory=dict)
    cursor: str | None = None


@dataclass(frozen=True)
class Input:
    """What the person did: kind is start|answer|back|skip|review|edit|submit."""

    kind: str
    value: str = ""  # answer: an option id or typed text; edit: the question id
    question: str | None = None  # the step the answer or skip was given for, if known


@dataclass(frozen=True)
class Problem:
    code: str
    params: Mapping[str, str | int | float] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    number: int  # 1-based; typing it selects the choice
    button: str = ""  # its button's text when shorter than the label (the label otherwise)


@dataclass(frozen=True)
class Prompt:
    step: str
    section_title: str
    text: str
    help: str
    kind: str
    choices: tuple[Choice, ...]
    index: int  # 1-based among applicable questions
    total: int
    current: str | None  # the stored answer as displayed, when going back or editing
    problem: Problem | None
    can_back: bool
    can_skip: bool
    minimum: int | None = None  # number questions: the accepted range
    maximum: int | None = None


@dataclass(frozen=True)
class ReviewItem:
    question_id: str
    label: str
    answer: str | None  # displayed answer; None when skipped or missing
    status: str  # "answered" | "skipped" | "missing"
    figure: bool = False  # filled by the bot from its data: shown, never edited


@dataclass(frozen=True)
class Review:
    items: tuple[ReviewItem, ...]
    answered: int
    total: int
    missing: tuple[str, ...]  # required applicable questions without an answer
    problem: Problem | None = None


@dataclass(frozen=True)
class Outcome:
    state: State
    reply: Prompt | Review | Result
    changed: Mapping[str, str | None] = field(default_factory=dict)  # None = delete
