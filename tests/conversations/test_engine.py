"""What a Prompt, a Review and a Result carry, beyond the step ids the golden cases check."""

from __future__ import annotations

from conversations.engine import (
    SKIPPED,
    Choice,
    Input,
    Prompt,
    Result,
    Review,
    State,
    advance,
    evaluate,
)
from conversations.model import Form

ALL_YES_GDHT = {
    "tre-em": "yes",
    "c1a": "day-du",
    "c1b": "yes",
    "c1c": "yes",
    "c2a": "biet-chu",
    "c2b": "yes",
    "c2c": "yes",
    "cdht": "yes",
    "c3a": "yes",
    "c3b": "yes",
    "c4a": "yes",
    "c4b": "yes",
}


def _prompt(form: Form, state: State, inp: Input, lang: str = "vi") -> Prompt:
    reply = advance(form, state, inp, lang).reply
    assert isinstance(reply, Prompt)
    return reply


def test_first_prompt_carries_labels_progress_and_help(gdht: Form) -> None:
    prompt = _prompt(gdht, State(), Input("start"))
    assert prompt.step == "tre-em"
    assert prompt.section_title == "Tiêu chí 1: Việc học của con em"
    assert prompt.kind == "yesno"
    assert prompt.choices == (Choice("yes", "Có", 1), Choice("no", "Không", 2))
    assert (prompt.index, prompt.total) == (1, 12)
    assert prompt.help.startswith("Tính cả cháu đang học nghề")
    assert (prompt.can_back, prompt.can_skip, prompt.current, prompt.problem) == (
        False,
        False,
        None,
        None,
    )


def test_total_shrinks_when_a_skip_rule_hides_questions(gdht: Form) -> None:
    prompt = _prompt(gdht, State({"tre-em": "no"}), Input("start"))
    assert (prompt.step, prompt.index, prompt.total) == ("c2a", 2, 9)


def test_labels_follow_the_language_and_fall_back_to_the_first(gdht: Form) -> None:
    english = _prompt(gdht, State(), Input("start"), "en")
    assert english.text == "Are there children of school age (about 6 to 18) in the household?"
    assert english.choices[0].label == "Yes"
    assert _prompt(gdht, State(), Input("start"), "fr").choices[0].label == "Có"


def test_number_prompt_gives_its_range_and_problem_params(trial: Form) -> None:
    prompt = _prompt(trial, State(), Input("answer", "30"))
    assert (prompt.minimum, prompt.maximum, prompt.choices) == (1, 20, ())
    assert prompt.problem is not None
    assert (prompt.problem.code, dict(prompt.problem.params)) == (
        "out_of_range",
        {"minimum": 1, "maximum": 20},
    )


def test_optional_question_can_be_skipped_and_shows_as_skipped(trial: Form) -> None:
    state = State({"so-nguoi": "1", "diem-so": "5", "buoi-hoc": "1"})
    prompt = _prompt(trial, state, Input("start"))
    assert (prompt.step, prompt.can_skip) == ("ghi-chu", True)
    outcome = advance(trial, state, Input("skip"))
    assert outcome.changed == {"ghi-chu": SKIPPED}
    review = outcome.reply
    assert isinstance(review, Review)
    assert [(i.question_id, i.status, i.answer) for i in review.items] == [
        ("so-nguoi", "answered", "1"),
        ("diem-so", "answered", "5"),
        ("buoi-hoc", "answered", "1"),
        ("ghi-chu", "skipped", None),
    ]
    assert (review.answered, review.total, review.missing) == (3, 4, ())


def test_review_lists_labels_and_displayed_answers(gdht: Form) -> None:
    reply = advance(gdht, State(ALL_YES_GDHT), Input("start"), "en").reply
    assert isinstance(reply, Review)
    assert reply.items[1].label == "Children attend school"
    assert reply.items[1].answer == "Yes, they all go to school"
    assert reply.problem is None


def test_submit_result_has_sections_items_and_no_level(gdht: Form) -> None:
    reply = advance(gdht, State(ALL_YES_GDHT), Input("submit")).reply
    assert isinstance(reply, Result)
    assert (reply.total, reply.max_total, reply.recognised, reply.level) == (100, 100, True, None)
    assert reply.sections[0].title == "Tiêu chí 1: Việc học của con em"
    assert [i.question_id for i in reply.items] == [
        "c1a",
        "c1b",
        "c1c",
        "c2a",
        "c2b",
        "c2c",
        "c3a",
        "c3b",
        "c4a",
        "c4b",
    ]


def test_evaluate_ignores_answers_of_hidden_questions(gdht: Form) -> None:
    answers = {**ALL_YES_GDHT, "tre-em": "no", "c1a": "bo-hoc"}
    result = evaluate(gdht, answers)
    assert result.available == 70
    assert result.recognised
    assert "c1a" not in {i.question_id for i in result.items}


def test_a_corrupted_stored_answer_scores_nothing_and_is_asked_again(trial: Form) -> None:
    result = evaluate(trial, {"so-nguoi": "many", "diem-so": "x", "buoi-hoc": "7"})
    assert result.points == 10
    # "many" is stored, so the position moves on; but "so-tre" (so-nguoi > 1) stays hidden.
    prompt = _prompt(trial, State({"so-nguoi": "many"}), Input("start"))
    assert prompt.step == "diem-so"


def test_unknown_cursor_falls_back_to_the_first_open_question(cdht: Form) -> None:
    prompt = _prompt(cdht, State({"cs1": "kha"}, cursor="nope"), Input("start"))
    assert prompt.step == "cs2"


def test_cursor_past_an_open_question_is_ignored(cdht: Form) -> None:
    prompt = _prompt(cdht, State({"cs1": "kha"}, cursor="cs5"), Input("start"))
    assert prompt.step == "cs2"


def test_answer_equal_to_the_stored_one_writes_nothing(cdht: Form) -> None:
    outcome = advance(cdht, State({"cs1": "kha"}, cursor="cs1"), Input("answer", "2"))
    assert outcome.changed == {}
    assert outcome.state == State({"cs1": "kha"})


def test_cannot_edit_names_the_question_label(gdht: Form) -> None:
    reply = advance(gdht, State(), Input("edit", "c4b")).reply
    assert isinstance(reply, Prompt)
    assert reply.problem is not None
    assert dict(reply.problem.params) == {"question": "Gia đình hòa thuận, văn hóa"}


def test_engine_is_deterministic_and_does_not_touch_its_input(cdht: Form) -> None:
    answers = {"cs1": "kha"}
    state = State(answers)
    first = advance(cdht, state, Input("answer", "1"))
    second = advance(cdht, state, Input("answer", "1"))
    assert first == second
    assert answers == {"cs1": "kha"}
