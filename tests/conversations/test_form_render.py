"""The Mermaid drawing of a form and the ``python -m conversations.render`` command."""

from __future__ import annotations

from pathlib import Path

import pytest

from conversations.model import Form
from conversations.render import main, mermaid


def test_diagram_lists_sections_questions_and_the_skip_rule(gdht: Form) -> None:
    text = mermaid(gdht)
    assert text.startswith("flowchart TD\n")
    assert '  subgraph s1["Tiêu chí 1: Việc học của con em (30)"]' in text
    assert '    q2["c1a · Con cháu đi học đầy đủ (10) ★ ∅"]' in text
    # the guarded block c1a..c1c: one labelled edge in, one dotted edge around
    assert "  q1 -->|\"tre-em == 'yes'\"| q2" in text
    assert "  q1 -.->|\"not (tre-em == 'yes')\"| q5" in text
    assert "  q2 --> q3" in text
    assert '  result{{"Σ ≥ 80 / 100"}}' in text
    assert text.endswith("  q12 --> result\n")


def test_diagram_follows_the_language(cdht: Form) -> None:
    text = mermaid(cdht, lang="en")
    assert '    q1["cs1 · Reading and following the news (10)"]' in text
    assert '  result{{"Σ ≥ 80 / 100<br/>∀ ≥ 5"}}' in text


def test_diagram_shows_levels(trial: Form) -> None:
    text = mermaid(trial)
    assert "1. Mức 1: diem-so >= 5<br/>2. Mức 2: buoi-hoc >= 3 ∧ tu-hoc == 'yes'" in text


def test_command_prints_a_shipped_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cong-dan-hoc-tap", "--lang", "en"]) == 0
    assert "Competency 1: Self-learning and lifelong learning (40)" in capsys.readouterr().out


def test_command_reads_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).parent / "forms" / "thu-nghiem.toml"
    assert main([str(path)]) == 0
    assert "Phiếu thử" in capsys.readouterr().out


def test_command_reports_an_unknown_form(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["khong-co"]) == 2
    assert capsys.readouterr().err.startswith("unknown form 'khong-co' (known: cong-dan-hoc-tap")


def test_command_reports_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "hong.toml"
    path.write_text('key = "hong"\nversion = 1\n', encoding="utf-8")
    assert main([str(path)]) == 2
    expected = 'form hong v1: languages: expected a non-empty list such as ["vi", "en"]\n'
    assert capsys.readouterr().err == expected
