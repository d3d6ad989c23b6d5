"""Loading and validating form files: each broken form is refused with a precise message."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conversations.loader import (
    FormError,
    UnknownFormError,
    build_form,
    load_form,
    load_forms,
)

BASE = """
key = "mau"
version = 1
source = "test"
languages = ["vi", "en"]
max_points = 20
title = { vi = "Mẫu", en = "Sample" }

[yesno]
yes = { vi = "Có", en = "Yes" }
no = { vi = "Không", en = "No" }

[parameters.pass_mark]
default = 10
confirmed = true
note = { vi = "Điểm đạt", en = "Pass mark" }

[rules]
pass_mark = "pass_mark"
improve = { vi = "Cố lên", en = "Keep going" }

[[sections]]
id = "s1"
max_points = 20
title = { vi = "Phần 1", en = "Part 1" }

[[questions]]
id = "q1"
section = "s1"
kind = "yesno"
points = 10
label = { vi = "Một", en = "One" }
text = { vi = "Câu một?", en = "Question one?" }
help = { vi = "Giúp", en = "Help" }
improve = { vi = "Làm thêm", en = "Do more" }

[[questions]]
id = "q2"
section = "s1"
kind = "choice"
when = "q1 == 'yes'"
label = { vi = "Hai", en = "Two" }
text = { vi = "Câu hai?", en = "Question two?" }
help = { vi = "Giúp", en = "Help" }
improve = { vi = "Làm thêm", en = "Do more" }
options = [
  { id = "a", points = 10, label = { vi = "Tốt", en = "Good" } },
  { id = "b", points = 0, label = { vi = "Chưa", en = "Not yet" } },
  { id = "c", exempt = true, label = { vi = "Miễn", en = "Exempt" } },
]
"""

Mutation = Callable[[dict[str, Any]], object]


def _q(raw: dict[str, Any], index: int) -> dict[str, Any]:
    question: dict[str, Any] = raw["questions"][index]
    return question


BROKEN: list[tuple[str, Mutation, str]] = [
    (
        "skip rule names a question that does not exist",
        lambda r: _q(r, 1).update(when="q9 == 'yes'"),
        "form mau v1: question q2.when: 'q9' is not a question of this form",
    ),
    (
        "skip rule names a later question",
        lambda r: _q(r, 0).update(when="q2 == 'a'"),
        "form mau v1: question q1.when: 'q2' is not an earlier question",
    ),
    (
        "skip rule names an option that does not exist",
        lambda r: _q(r, 1).update(when="q1 == 'maybe'"),
        "form mau v1: question q2.when: 'maybe' is not an option of q1 (options: yes, no)",
    ),
    (
        "skip rule orders a yes/no answer",
        lambda r: _q(r, 1).update(when="q1 > 'no'"),
        "form mau v1: question q2.when: '>' needs a number question, but q1 is yesno",
    ),
    (
        "skip rule syntax",
        lambda r: _q(r, 1).update(when="q1 = 'yes'"),
        "form mau v1: question q2.when: unexpected character '=' at column 4",
    ),
    (
        "skip rule unbalanced",
        lambda r: _q(r, 1).update(when="(q1 == 'yes'"),
        "form mau v1: question q2.when: expected ')', found the end at column 13",
    ),
    (
        "duplicate question id",
        lambda r: (_q(r, 1).update(id="q1"), _q(r, 1).pop("when")),
        "form mau v1: question q1: duplicate id",
    ),
    (
        "duplicate option id",
        lambda r: _q(r, 1)["options"][1].update(id="a"),
        "form mau v1: question q2.option a: duplicate option id",
    ),
    (
        "missing translation of an option",
        lambda r: _q(r, 1)["options"][1]["label"].pop("en"),
        "form mau v1: question q2.option b: missing label for 'en'",
    ),
    (
        "missing translation of a help text",
        lambda r: _q(r, 0)["help"].pop("en"),
        "form mau v1: question q1.help: missing label for 'en'",
    ),
    (
        "label in a language the form does not declare",
        lambda r: r["title"].update(fr="Modèle"),
        "form mau v1: title: label for undeclared language 'fr'",
    ),
    (
        "missing yes/no label",
        lambda r: r["yesno"]["no"].pop("vi"),
        "form mau v1: yesno.no: missing label for 'vi'",
    ),
    (
        "bad parameter reference",
        lambda r: r["rules"].update(pass_mark="pass"),
        "form mau v1: rules.pass_mark: unknown parameter 'pass'",
    ),
    (
        "points over the section maximum",
        lambda r: _q(r, 1)["options"][0].update(points=25),
        "form mau v1: question q2: 25 points exceed the 20 points of section s1",
    ),
    (
        "questions over the section maximum",
        lambda r: _q(r, 1)["options"][0].update(points=15),
        "form mau v1: section s1: questions add up to 25 points, more than its max_points 20",
    ),
    (
        "sections not adding up to the form total",
        lambda r: r.update(max_points=30),
        "form mau v1: sections add up to 20 points, but max_points is 30",
    ),
    (
        "pass mark over the form total",
        lambda r: r["parameters"]["pass_mark"].update(default=25),
        "form mau v1: rules.pass_mark: 25 is more than the form's max_points 20",
    ),
    (
        "exempt option with points",
        lambda r: _q(r, 1)["options"][2].update(points=5),
        "form mau v1: question q2.option c: an exempt option takes the item out of the "
        "maximum, so it cannot have points",
    ),
    (
        "option without points among scored options",
        lambda r: _q(r, 1)["options"][1].pop("points"),
        "form mau v1: question q2.option b: missing 'points' (the other options have points)",
    ),
    (
        "two options that read the same once folded",
        lambda r: _q(r, 1)["options"][1]["label"].update(vi="TỐT"),
        "form mau v1: question q2: two options read the same in 'vi' ('tot'), so a typed "
        "answer could not tell them apart",
    ),
    (
        "misspelt field",
        lambda r: _q(r, 0).update(whne="q1 == 'yes'"),
        "form mau v1: question q1: unknown field 'whne'",
    ),
    (
        "field that does not fit the kind",
        lambda r: _q(r, 0).update(minimum=1),
        "form mau v1: question q1.minimum: not allowed for a yesno question",
    ),
    (
        "unknown section",
        lambda r: _q(r, 0).update(section="s9"),
        "form mau v1: question q1.section: unknown section 's9'",
    ),
    (
        "scored question without advice",
        lambda r: _q(r, 0).pop("improve"),
        "form mau v1: question q1: missing 'improve' (plain advice shown when the item falls "
        "short)",
    ),
    (
        "unknown kind",
        lambda r: _q(r, 0).update(kind="scale"),
        "form mau v1: question q1.kind: 'scale' is not one of choice, yesno, number, text",
    ),
    (
        "reserved word as an id",
        lambda r: _q(r, 0).update(id="in"),
        "form mau v1: question in: this id is a reserved word of skip rules",
    ),
    (
        "misspelt top-level field",
        lambda r: r.update(titel="x"),
        "form mau v1: unknown field 'titel'",
    ),
    (
        "section floor above its maximum",
        lambda r: r["sections"][0].update(min_points=25, improve={"vi": "a", "en": "b"}),
        "form mau v1: section s1.min_points: 25 is more than the section's max_points 20",
    ),
    (
        "missing key",
        lambda r: r.pop("key"),
        "form <data>: missing 'key'",
    ),
    (
        "version zero",
        lambda r: r.update(version=0),
        "form <data>: version: must be a whole number of at least 1",
    ),
    (
        "no rule to judge by",
        lambda r: r.pop("rules"),
        "form mau v1: rules: give a pass_mark, or [[levels]], so a result can be judged",
    ),
    (
        "an option too long for a button",
        lambda r: _q(r, 1)["options"][0]["label"].update(
            vi="Tốt, các cháu đều đi học đầy đủ cả năm"
        ),
        "form mau v1: question q2.option a: label.vi has 38 characters, more than a phone shows "
        "on a button (35): give a 'short.vi' of at most 35 for the button (the question still "
        "shows the whole label)",
    ),
    (
        "a short label still too long",
        lambda r: _q(r, 1)["options"][0].update(
            short={"en": "Good, every child at school all year"}
        ),
        "form mau v1: question q2.option a: short.en has 36 characters, more than a phone shows "
        "on a button (35): give a 'short.en' of at most 35 for the button (the question still "
        "shows the whole label)",
    ),
]


def _base() -> dict[str, Any]:
    return tomllib.loads(BASE)


def test_base_form_is_valid() -> None:
    form = build_form(_base())
    assert form.ref == "form mau v1"
    assert [q.max_points for q in form.questions] == [10, 10]


@pytest.mark.parametrize(
    ("mutate", "message"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_broken_form_is_refused_with_a_precise_message(mutate: Mutation, message: str) -> None:
    raw = copy.deepcopy(_base())
    mutate(raw)
    with pytest.raises(FormError) as error:
        build_form(raw)
    assert str(error.value) == message


def test_override_changes_pass_mark_and_keeps_the_original() -> None:
    form = build_form(_base())
    stricter = form.with_overrides({"pass_mark": 15})
    assert stricter.rules.pass_mark == 15
    assert stricter.parameters["pass_mark"].default == 10
    assert stricter.overrides() == {"pass_mark": 15}
    assert form.rules.pass_mark == 10


def test_override_is_validated_like_the_file() -> None:
    form = build_form(_base())
    with pytest.raises(FormError) as error:
        form.with_overrides({"pass_mark": 30})
    assert (
        str(error.value)
        == "form mau v1: rules.pass_mark: 30 is more than the form's max_points 20"
    )


def test_override_of_an_unknown_parameter_names_the_known_ones() -> None:
    with pytest.raises(FormError) as error:
        build_form(_base()).with_overrides({"pass": 5})
    assert str(error.value) == "form mau v1: parameter pass: unknown parameter (known: pass_mark)"


def test_override_must_be_a_number() -> None:
    with pytest.raises(FormError, match=r"parameter pass_mark: override must be a number"):
        build_form(_base()).with_overrides({"pass_mark": True})


def test_overrides_accumulate() -> None:
    form = build_form(_base()).with_overrides({"pass_mark": 12}).with_overrides({})
    assert form.rules.pass_mark == 12


def test_shipped_point_overrides_must_keep_the_sums(gdht_raw: dict[str, Any]) -> None:
    form = build_form(gdht_raw)
    with pytest.raises(FormError) as error:
        form.with_overrides({"points_tc3": 25})
    assert str(error.value) == (
        "form gia-dinh-hoc-tap v1: sections add up to 105 points, but max_points is 100"
    )
    moved = form.with_overrides({"points_tc3": 25, "points_tc4": 15, "points_c4b": 5})
    assert moved.section("tc3").max_points == 25


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "hong.toml"
    path.write_text('key = "x"\nversion = \n', encoding="utf-8")
    with pytest.raises(FormError, match=r"^form .*hong\.toml: invalid TOML: "):
        load_form(path)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # a picture saved as .toml
        'key = "gia-đình"\n'.encode("cp1258", errors="replace") + b"\xfe",  # not UTF-8
        b'key = "x"\x00\n',  # a NUL inside
    ],
)
def test_a_binary_or_non_utf8_file_is_one_form_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "hong.toml"
    path.write_bytes(content)
    with pytest.raises(FormError, match=r"^form .*hong\.toml: (invalid TOML|not UTF-8 text)"):
        load_form(path)


def test_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_form(tmp_path / "none.toml")


def test_registry_gives_the_latest_version_and_refuses_unknown_ones(tmp_path: Path) -> None:
    for version in (1, 2):
        (tmp_path / f"mau-v{version}.toml").write_text(
            BASE.replace("version = 1", f"version = {version}"), encoding="utf-8"
        )
    registry = load_forms(tmp_path)
    assert registry.keys() == ["mau"]
    assert registry.get("mau").version == 2
    assert registry.get("mau", 1).version == 1
    with pytest.raises(UnknownFormError) as error:
        registry.get("mau", 3)
    assert str(error.value) == "form mau has no version 3 (known: 1, 2)"
    with pytest.raises(KeyError, match="unknown form 'khac' \\(known: mau\\)"):
        registry.get("khac")


def test_registry_refuses_the_same_version_twice(tmp_path: Path) -> None:
    for name in ("a.toml", "b.toml"):
        (tmp_path / name).write_text(BASE, encoding="utf-8")
    with pytest.raises(FormError) as error:
        load_forms(tmp_path)
    assert str(error.value) == "form mau v1: declared twice (a.toml, b.toml)"


@pytest.fixture
def gdht_raw() -> dict[str, Any]:
    path = Path(__file__).parents[2] / "conversations" / "forms" / "gia-dinh-hoc-tap.v1.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def test_a_long_option_has_a_short_button_label_in_one_language_only() -> None:
    raw = _base()
    option = _q(raw, 1)["options"][0]
    option["label"]["vi"] = "Tốt, các cháu đều đi học đầy đủ cả năm"
    option["short"] = {"vi": "Tốt: đi học đủ cả năm"}
    [a, b, _c] = build_form(raw).question("q2").options
    assert (a.button("vi"), a.button("en")) == ("Tốt: đi học đủ cả năm", "Good")
    assert b.button("vi") == "Chưa"
