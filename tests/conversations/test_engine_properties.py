"""Properties of the engine over any sequence of inputs: it never crashes, never moves past an
unanswered required question, and never gives a Result while one is unanswered."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.engine import SKIPPED, Input, Prompt, Result, State, advance
from conversations.loader import FormRegistry
from conversations.model import Form
from conversations.scoring import visible

KINDS = ["start", "answer", "back", "skip", "review", "edit", "submit", "bogus"]


def _words(form: Form) -> list[str]:
    """Inputs worth trying: ids, numbers, labels as typed, and junk."""
    words = ["", " ", "0", "1", "2", "3", "5", "10", "21", "-1", "99999999", "abc", "²", "x" * 30]
    for question in form.questions:
        words.append(question.id)
        for option in question.options:
            words += [option.id, *option.label.values()]
    return words


def _inputs(form: Form) -> st.SearchStrategy[list[Input]]:
    step = st.builds(
        Input,
        kind=st.sampled_from(KINDS),
        value=st.one_of(st.sampled_from(_words(form)), st.text(max_size=8)),
        question=st.one_of(st.none(), st.sampled_from([q.id for q in form.questions])),
    )
    return st.lists(step, max_size=60)


def _applied(state: State, changed: dict[str, str | None]) -> dict[str, str]:
    answers = dict(state.answers)
    for qid, value in changed.items():
        if value is None:
            del answers[qid]
        else:
            answers[qid] = value
    return answers


def _check(form: Form, before: State, inp: Input, after: State, reply: object) -> None:
    answers = dict(after.answers)
    shown = [q.id for q in visible(form, answers)[0]]
    missing = [
        qid
        for qid in shown
        if form.question(qid).required
        and answers.get(qid, SKIPPED) == SKIPPED
        and not form.question(qid).figure  # the bot's to fill: never asked, missing at review
    ]
    if isinstance(reply, Prompt):
        assert reply.step in shown
        if missing:
            assert shown.index(reply.step) <= shown.index(missing[0]), (inp, reply.step)
    if isinstance(reply, Result):
        assert inp.kind == "submit"
        assert not missing
    if getattr(reply, "problem", None) is not None:
        assert after == before


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_no_input_sequence_breaks_the_engine(forms: FormRegistry, data: st.DataObject) -> None:
    form = forms.get(data.draw(st.sampled_from(forms.keys())))
    state = State()
    for inp in data.draw(_inputs(form)):
        outcome = advance(form, state, inp)
        assert dict(outcome.state.answers) == _applied(state, dict(outcome.changed))
        _check(form, state, inp, outcome.state, outcome.reply)
        state = outcome.state


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_answering_everything_reaches_a_result(forms: FormRegistry, data: st.DataObject) -> None:
    """Whatever valid answers are chosen, answering each prompt in turn ends in a Result (the
    figures filled first, as the bot fills them)."""
    form = forms.get(data.draw(st.sampled_from(forms.keys())))
    figures = {
        q.id: str(data.draw(st.integers(q.minimum or 0, q.maximum or 0)))
        for q in form.questions
        if q.figure
    }
    state = State(figures)
    reply = advance(form, state, Input("start")).reply
    for _ in range(len(form.questions)):
        if not isinstance(reply, Prompt):
            break
        if reply.choices:
            value = data.draw(st.sampled_from([c.id for c in reply.choices]))
        elif reply.kind == "number":
            value = str(data.draw(st.integers(reply.minimum or 0, reply.maximum or 0)))
        else:
            value = data.draw(
                st.text(alphabet="abc xyz", min_size=1, max_size=10).filter(str.strip)
            )
        outcome = advance(form, state, Input("answer", value, reply.step))
        assert getattr(outcome.reply, "problem", None) is None
        state, reply = outcome.state, outcome.reply
    result = advance(form, state, Input("submit")).reply
    assert isinstance(result, Result)
    assert 0 <= result.total <= result.max_total
