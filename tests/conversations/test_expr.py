"""The skip-rule language: what parses, what it means, and how errors point at the column."""

from __future__ import annotations

import pytest

from conversations.expr import ExprError, Value, parse

ANSWERS: dict[str, Value] = {"a": "yes", "n": 3.0, "t": "xin chào", "c-1": "b"}

TRUE_OR_FALSE = [
    ("a == 'yes'", True),
    ("a != 'yes'", False),
    ('a == "yes"', True),
    ("n > 2", True),
    ("n >= 3", True),
    ("n < 3", False),
    ("n <= 3", True),
    ("n == 3", True),
    ("n == -3", False),
    ("n in [1, 2, 3]", True),
    ("n not in [1, 2, 3]", False),
    ("a in ['no', 'yes']", True),
    ("a in []", False),
    ("c-1 == 'b'", True),
    ("not a == 'yes'", False),
    ("not (a == 'no' or n > 5)", True),
    ("a == 'yes' and n > 5 or t == 'xin chào'", True),
    ("a == 'yes' and (n > 5 or t == 'khác')", False),
    ("3 < n", False),
    ("'yes' == a", True),
    # a missing answer equals nothing, so only != and "not in" hold
    ("gone == 'yes'", False),
    ("gone != 'yes'", True),
    ("gone < 5", False),
    ("gone in ['yes']", False),
    ("gone not in ['yes']", True),
    # ordering is for numbers; a word is never less than anything
    ("a < 'z'", False),
    ("n == '3'", False),
]


@pytest.mark.parametrize(("source", "expected"), TRUE_OR_FALSE)
def test_expression_means_what_it_says(source: str, expected: bool) -> None:
    assert parse(source).evaluate(ANSWERS.get) is expected


ERRORS = [
    ("", "expected a question id, a 'string' or a number, found the end at column 1"),
    ("a", "expected a comparison operator or 'in', found the end at column 2"),
    ("a = 'x'", "unexpected character '=' at column 3"),
    ("a == 'x", "unterminated string at column 6"),
    ("(a == 1", "expected ')', found the end at column 8"),
    ("a == 1 b", "expected 'and', 'or' or the end, found 'b' at column 8"),
    ("a in [1,", "expected a 'string' or a number, found the end at column 9"),
    ("a in 1", "expected '[', found '1' at column 6"),
    ("a not 1", "expected 'in', found '1' at column 7"),
    ("a == and", "expected a question id, a 'string' or a number, found 'and' at column 6"),
    ("__import__('os')", "unexpected character '_' at column 1"),
]


@pytest.mark.parametrize(("source", "message"), ERRORS)
def test_syntax_error_names_the_column(source: str, message: str) -> None:
    with pytest.raises(ExprError) as error:
        parse(source)
    assert str(error.value) == message


def test_names_and_literals_are_listed_for_validation() -> None:
    expr = parse("a == 'yes' and (n in [1, 2] or 'x' != t) and a != 'no'")
    assert expr.names() == ["a", "n", "t"]
    assert list(expr.literals()) == [
        ("==", "a", "yes"),
        ("in", "n", 1.0),
        ("in", "n", 2.0),
        ("!=", "t", "x"),
        ("!=", "a", "no"),
    ]
