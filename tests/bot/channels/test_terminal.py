"""``hoctap chat --form``: a scripted walk through a form, stopped and resumed in new processes."""

from __future__ import annotations

from pathlib import Path

from tests.bot.test_cli import hoctap

TEN_BEST = "\n".join(["1"] * 10)


def test_a_scripted_self_check_prints_its_result(tmp_path: Path) -> None:
    result = hoctap(
        tmp_path, "chat", "--form", "cong-dan-hoc-tap", "--agree", stdin=TEN_BEST + "\n1\n"
    )  # ten answers, then 1 = submit at the review
    assert result.returncode == 0, result.stderr
    assert "100" in result.stdout
    assert "đạt tiêu chí — chờ xác nhận" in result.stdout
    assert "ước tính" in result.stdout or "tự đánh giá theo QĐ 324" in result.stdout


def test_consent_is_asked_first_and_never_assumed(tmp_path: Path) -> None:
    result = hoctap(tmp_path, "chat", "--form", "cong-dan-hoc-tap", stdin="2\n")
    assert "đồng ý" in result.stdout.lower()
    assert "Câu 1/10" not in result.stdout
    agreed = hoctap(tmp_path, "chat", "--form", "cong-dan-hoc-tap", stdin="1\n")
    assert "Câu 1/10" in agreed.stdout


def test_stopping_halfway_and_running_again_resumes_at_the_same_question(tmp_path: Path) -> None:
    first = hoctap(tmp_path, "chat", "--form", "cong-dan-hoc-tap", "--agree", stdin="1\n2\n3\n")
    assert first.returncode == 0
    second = hoctap(tmp_path, "chat", "--form", "cong-dan-hoc-tap", stdin="")
    assert "Câu 4/10" in second.stdout and "Câu 1/10" not in second.stdout
    rest = hoctap(tmp_path, "chat", "--form", "cong-dan-hoc-tap", stdin="1\n" * 7 + "1\n")
    # 10 + 8 + 5 + seven times 10 = 93 points: every answer of every run was kept.
    assert "93" in rest.stdout, rest.stdout


def test_wrong_input_is_answered_and_the_question_stays(tmp_path: Path) -> None:
    result = hoctap(tmp_path, "chat", "--form", "cong-dan-hoc-tap", "--agree", stdin="chín\n42\n")
    lines = result.stdout
    assert lines.count("⚠️") == 2
    assert "Câu 2/10" not in lines
