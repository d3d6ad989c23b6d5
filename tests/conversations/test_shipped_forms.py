"""The shipped criteria sets say what their sources say, and mark what no source confirms."""

from __future__ import annotations

import tomllib

from conversations.loader import FORMS_DIR, load_forms
from conversations.model import Form


def test_every_shipped_form_loads_and_names_its_source() -> None:
    registry = load_forms()
    keys = registry.keys()
    assert keys == ["cong-dan-hoc-tap", "gia-dinh-hoc-tap"]
    for key in keys:
        form = registry.get(key)
        assert form.source
        header = (FORMS_DIR / f"{key}.toml").read_text(encoding="utf-8").splitlines()[:12]
        assert any("Source" in line for line in header), key


def test_cdht_follows_qd_324(cdht: Form) -> None:
    assert [s.max_points for s in cdht.sections] == [40, 40, 20]
    assert len(cdht.questions) == 10
    assert all(q.max_points == 10 and q.scored and q.improve for q in cdht.questions)
    assert (cdht.rules.pass_mark, cdht.rules.item_min_points) == (80, 5)
    assert cdht.parameters["pass_mark"].confirmed
    assert cdht.parameters["item_minimum"].confirmed
    # the mapping of answer levels to points is the product's, so it is not confirmed
    levels = [p for name, p in cdht.parameters.items() if name.startswith("level_")]
    assert [p.value for p in levels] == [10, 8, 5, 2, 0]
    assert not any(p.confirmed for p in levels)


def test_gdht_follows_qd_448_and_marks_the_open_parts(gdht: Form) -> None:
    assert [s.max_points for s in gdht.sections] == [30, 30, 20, 20]
    assert 10 <= len(gdht.questions) <= 12
    assert all(len(q.options) in (2, 3) for q in gdht.questions)
    unconfirmed = {name for name, p in gdht.parameters.items() if not p.confirmed}
    assert unconfirmed == {
        "pass_mark",
        "points_c2c",
        "points_tc3",
        "points_tc4",
        "points_c3a",
        "points_c3b",
        "points_c4a",
        "points_c4b",
        "must_pass_school",
        "must_pass_cdht",
    }
    assert {q.id for q in gdht.questions if q.must_pass} == {"c1a", "cdht"}
    exempt = {q.id for q in gdht.questions if any(o.exempt for o in q.options)}
    assert exempt == {"c1a", "c2a"}


def test_open_items_take_their_points_from_parameters() -> None:
    raw = tomllib.loads((FORMS_DIR / "gia-dinh-hoc-tap.toml").read_text(encoding="utf-8"))
    points = {q["id"]: q.get("points") for q in raw["questions"]}
    assert {points[qid] for qid in ("c2c", "c3a", "c3b", "c4a", "c4b")} == {
        "points_c2c",
        "points_c3a",
        "points_c3b",
        "points_c4a",
        "points_c4b",
    }
    assert [s["max_points"] for s in raw["sections"]] == [30, 30, "points_tc3", "points_tc4"]


def test_every_parameter_has_a_note_in_every_language(gdht: Form, cdht: Form) -> None:
    for form in (gdht, cdht):
        for parameter in form.parameters.values():
            assert set(parameter.note) == set(form.languages)
