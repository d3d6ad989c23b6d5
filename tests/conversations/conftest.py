"""Fixtures for engine tests: the shipped forms plus the test-only forms beside this file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from conversations.engine import State
from conversations.loader import FORMS_DIR, FormRegistry, load_form
from conversations.model import Form

HERE = Path(__file__).parent
TEST_FORMS_DIR = HERE / "forms"
ApplyChanges = Callable[[State, Mapping[str, "str | None"]], dict[str, str]]


def all_forms() -> FormRegistry:
    """Return shipped and test forms together, loaded fresh."""
    paths = sorted(FORMS_DIR.glob("*.toml")) + sorted(TEST_FORMS_DIR.glob("*.toml"))
    loaded = [load_form(path) for path in paths]
    return FormRegistry({(form.key, form.version): form for form in loaded})


@pytest.fixture(scope="session")
def forms() -> FormRegistry:
    return all_forms()


# The engine's own tests were written on the first versions of the shipped forms, which stay
# shipped for the assessments made with them; the newest versions have tests of their own.
@pytest.fixture(scope="session")
def cdht(forms: FormRegistry) -> Form:
    return forms.get("cong-dan-hoc-tap", 1)


@pytest.fixture(scope="session")
def gdht(forms: FormRegistry) -> Form:
    return forms.get("gia-dinh-hoc-tap", 1)


@pytest.fixture(scope="session")
def latest_cdht(forms: FormRegistry) -> Form:
    return forms.get("cong-dan-hoc-tap")


@pytest.fixture(scope="session")
def latest_gdht(forms: FormRegistry) -> Form:
    return forms.get("gia-dinh-hoc-tap")


@pytest.fixture(scope="session")
def trial(forms: FormRegistry) -> Form:
    return forms.get("thu-nghiem")


@pytest.fixture(scope="session")
def apply() -> ApplyChanges:
    return apply_changes


def apply_changes(state: State, changed: Mapping[str, str | None]) -> dict[str, str]:
    """Do what the service does with Outcome.changed: write values, delete Nones."""
    answers = dict(state.answers)
    for qid, value in changed.items():
        if value is None:
            answers.pop(qid, None)
        else:
            answers[qid] = value
    return answers
