"""Benchmark the conversation engine alone: steps per second, and load+validate of a big form.

Prints figures and asserts nothing about time (goals: >= 20,000 steps/s on one core; < 50 ms to
load and validate a 50-question form). Run: ``python bench/bench_engine.py [--seconds 2]``.
Must not import the bot, the database or any platform library.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run from a checkout without installing: the repository root holds the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conversations.engine import Input, State, advance
from conversations.loader import load_form, load_forms
from conversations.model import Form

# A whole session as a person types it: labels without diacritics, numbers, ids, a mistake,
# back and edit from the review, then submit.
CDHT_SESSION = [
    Input("start"),
    Input("answer", "thuong xuyen, hang ngay"),
    Input("answer", "2"),
    Input("answer", "Khá thường xuyên"),
    Input("answer", "often"),
    Input("answer", "kha"),
    *[Input("answer", "1")] * 6,
    Input("back"),
    Input("answer", "3"),
    Input("edit", value="cs2"),
    Input("answer", "1"),
    Input("review"),
    Input("submit"),
]
GDHT_SESSION = [
    Input("start"),
    Input("answer", "co"),
    Input("answer", "1"),
    *[Input("answer", "có")] * 2,
    Input("answer", "biet-chu"),
    *[Input("answer", "KHÔNG")] * 2,
    *[Input("answer", "yes")] * 5,
    Input("edit", value="tre-em"),
    Input("answer", "khong"),
    Input("submit"),
]


def pin_to_one_core() -> str:
    """Pin this process to one CPU where the OS allows it, so the figure is per core."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity here)"


def steps_per_second(form: Form, session: list[Input], seconds: float) -> float:
    """Replay ``session`` from an empty state until ``seconds`` pass; return steps per second."""
    steps = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        state = State()
        for inp in session:
            state = advance(form, state, inp).state
        steps += len(session)
    return steps / (time.perf_counter() - start)


def generated_form(questions: int = 50, sections: int = 5) -> str:
    """Return the TOML of a valid form mixing choice, yes/no, number questions and skip rules."""
    lines = [
        'key = "bench"',
        "version = 1",
        'source = "generated"',
        'languages = ["vi", "en"]',
        f"max_points = {questions * 2}",
        'title = { vi = "Đo", en = "Bench" }',
        "[yesno]",
        'yes = { vi = "Có", en = "Yes" }',
        'no = { vi = "Không", en = "No" }',
        "[parameters.pass_mark]",
        "default = 50",
        "confirmed = true",
        'note = { vi = "Điểm đạt", en = "Pass mark" }',
        "[rules]",
        'pass_mark = "pass_mark"',
        'improve = { vi = "Cố lên", en = "Keep going" }',
    ]
    per_section = questions // sections
    for s in range(sections):
        lines += [
            "[[sections]]",
            f'id = "s{s}"',
            f"max_points = {per_section * 2}",
            f'title = {{ vi = "Phần {s}", en = "Part {s}" }}',
        ]
    for q in range(questions):
        lines += _generated_question(q, f"s{q // per_section}")
    return "\n".join(lines) + "\n"


def _generated_question(q: int, section: str) -> list[str]:
    words = (
        'label = { vi = "Câu", en = "Item" }\ntext = { vi = "Hỏi?", en = "Ask?" }\n'
        'help = { vi = "Giúp", en = "Help" }\nimprove = { vi = "Làm thêm", en = "Do more" }'
    )
    head = ["[[questions]]", f'id = "q{q}"', f'section = "{section}"', words]
    # Every question after a yes/no one depends on an earlier answer, as skip rules do.
    if q % 3 == 0:
        return [*head, 'kind = "yesno"', "points = 2"]
    if q % 3 == 1:
        options = ", ".join(
            f'{{ id = "{o}", points = {p}, label = {{ vi = "Mục {o}", en = "Option {o}" }} }}'
            for o, p in (("a", 2), ("b", 1), ("c", 0))
        )
        when = f"when = \"q{q - 1} == 'yes' or not (q{q - 1} != 'no')\""
        return [*head, 'kind = "choice"', when, f"options = [{options}]"]
    when = f"when = \"q{q - 1} in ['a', 'b'] and q{q - 2} != 'no'\""
    return [*head, 'kind = "number"', when, "minimum = 0", "maximum = 2", "score_value = true"]


def load_times_ms(text: str, runs: int) -> list[float]:
    """Time ``load_form`` (read, parse, build, validate) of ``text`` written to a file."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "bench.toml"
        path.write_text(text, encoding="utf-8")
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            load_form(path)
            times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="time per engine figure")
    parser.add_argument("--runs", type=int, default=50, help="loads of the generated form")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {pin_to_one_core()}")
    registry = load_forms()
    for key, session in (("cong-dan-hoc-tap", CDHT_SESSION), ("gia-dinh-hoc-tap", GDHT_SESSION)):
        rate = steps_per_second(registry.get(key), session, args.seconds)
        print(f"engine {key}: {rate:,.0f} steps/s ({len(session)}-step session; goal >= 20,000)")
    times = load_times_ms(generated_form(), args.runs)
    print(
        f"load+validate 50-question form: median {statistics.median(times):.1f} ms, "
        f"min {min(times):.1f} ms over {args.runs} runs (goal < 50 ms)"
    )


if __name__ == "__main__":
    main()
