"""Golden conversations: each file in cases/ is a form, a sequence of inputs and what must follow.

A case file holds ``form``, optional ``version`` (default: the newest), ``lang``,
``overrides`` and ``given`` (answers there before the first step: the figures the bot fills),
a list of ``[[steps]]`` and an optional ``[result]``. A step gives ``do`` (an
Input kind), ``value`` or ``values`` (several answers in a row, each expected to be accepted),
``question`` (Input.question), and expectations:
``expect`` (the Prompt's step id, "review" or "result"), ``problem`` (a code; absent = none),
``changed`` (values written), ``deleted`` (ids removed), ``current`` (the displayed answer) and
``missing`` (ids a Review lists as missing). ``[result]`` compares total, recognised, level,
points by section, and failures (code plus any params given).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from conversations.engine import Input, Outcome, Prompt, Result, Review, State, advance
from conversations.loader import FormRegistry
from conversations.model import Form

ApplyChanges = Callable[[State, Mapping[str, str | None]], dict[str, str]]
CASES = sorted((Path(__file__).parent / "cases").glob("*.toml"))


def _reply_name(outcome: Outcome) -> str:
    reply = outcome.reply
    if isinstance(reply, Prompt):
        return reply.step
    return "review" if isinstance(reply, Review) else "result"


def _problem(outcome: Outcome) -> str | None:
    reply = outcome.reply
    if isinstance(reply, Prompt | Review) and reply.problem is not None:
        return reply.problem.code
    return None


def _run_step(
    form: Form, state: State, step: dict[str, Any], lang: str, apply: ApplyChanges, label: str
) -> State:
    values = step.get("values", [step.get("value", "")])
    outcome = None
    for value in values:
        inp = Input(step["do"], value, step.get("question"))
        outcome = advance(form, state, inp, lang)
        assert dict(outcome.state.answers) == apply(state, outcome.changed), label
        if _problem(outcome) is not None:
            assert outcome.state == state, f"{label}: a problem must leave the state unchanged"
        if "values" in step:
            assert _problem(outcome) is None, f"{label}: {value!r} was refused"
        state = outcome.state
    assert outcome is not None
    _check_step(outcome, step, label)
    return state


def _check_step(outcome: Outcome, step: dict[str, Any], label: str) -> None:
    assert _reply_name(outcome) == step["expect"], label
    assert _problem(outcome) == step.get("problem"), label
    if "changed" in step or "deleted" in step:
        expected = {**step.get("changed", {}), **dict.fromkeys(step.get("deleted", []))}
        assert dict(outcome.changed) == expected, label
    if "current" in step:
        assert isinstance(outcome.reply, Prompt), label
        assert outcome.reply.current == step["current"], label
    if "missing" in step:
        assert isinstance(outcome.reply, Review), label
        assert list(outcome.reply.missing) == step["missing"], label


def _check_result(result: Result, expected: dict[str, Any]) -> None:
    for name in ("total", "recognised", "level", "points", "available"):
        if name in expected:
            assert getattr(result, name) == pytest.approx(expected[name]), name
    if "sections" in expected:
        assert {s.id: s.points for s in result.sections} == expected["sections"]
    if "failures" in expected:
        found = [(f.code, dict(f.params), f.advice) for f in result.failures]
        assert len(found) == len(expected["failures"]), found
        for (code, params, advice), want in zip(found, expected["failures"], strict=True):
            assert code == want["code"], found
            assert advice, f"{code} has no advice"
            for key, value in want.items():
                if key != "code":
                    assert params.get(key) == value, (code, key, params)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, forms: FormRegistry, apply: ApplyChanges) -> None:
    case = tomllib.loads(path.read_text(encoding="utf-8"))
    form = forms.get(case["form"], case.get("version"))
    if "overrides" in case:
        form = form.with_overrides(case["overrides"])
    lang = case.get("lang", "vi")
    state = State({key: str(value) for key, value in case.get("given", {}).items()})
    for number, step in enumerate(case["steps"], 1):
        state = _run_step(form, state, step, lang, apply, f"{path.stem} step {number}")
    if "result" in case:
        outcome = advance(form, state, Input("submit"), lang)
        assert isinstance(outcome.reply, Result), _reply_name(outcome)
        _check_result(outcome.reply, case["result"])


def test_there_are_cases_for_every_form(forms: FormRegistry) -> None:
    used = {tomllib.loads(p.read_text(encoding="utf-8"))["form"] for p in CASES}
    assert used == set(forms.keys())
