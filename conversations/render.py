"""Draw a form as a Mermaid flowchart, for domain experts to review a criteria set.

Questions appear in order inside one subgraph per section; a skip rule becomes a labelled edge
into the questions it guards and a dotted ``not (...)`` edge around them. Labels come from the
form in the requested language; the few structural marks (points, ★ for must-pass, ∅ for an
exempt option, the rules at the end) are symbols or numbers so no wording is hardcoded.
Run ``python -m conversations.render KEY|FILE [--lang en]``. Must not import the bot, the
database or any platform library.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from conversations.loader import FormError, UnknownFormError, load_form, load_forms
from conversations.model import Form, Question
from conversations.scoring import pick_language


def mermaid(form: Form, lang: str = "vi") -> str:
    """Return a Mermaid flowchart of ``form`` with labels in ``lang``."""
    lang = pick_language(form, lang)
    nodes = {q.id: f"q{i}" for i, q in enumerate(form.questions, 1)}
    lines = [
        "flowchart TD",
        f"  %% {form.ref}: {form.source}",
        "  %% ★ must-pass item; ∅ exempt option (leaves the maximum); (n) most points",
        f'  start(["{_quote(form.title[lang])}"])',
    ]
    for index, section in enumerate(form.sections, 1):
        lines.append(
            f'  subgraph s{index}["{_quote(section.title[lang])} ({_n(section.max_points)})"]'
        )
        lines += [
            f'    {nodes[q.id]}["{_node_label(q, lang)}"]'
            for q in form.questions
            if q.section == section.id
        ]
        lines.append("  end")
    lines.append(f'  result{{{{"{_rules_label(form, lang)}"}}}}')
    lines += _edges(form, nodes)
    return "\n".join(lines) + "\n"


def _node_label(question: Question, lang: str) -> str:
    parts = [f"{question.id} · {_quote(question.label[lang])}"]
    if question.scored:
        parts.append(f"({_n(question.max_points)})")
    if question.must_pass:
        parts.append("★")
    if any(option.exempt for option in question.options):
        parts.append("∅")
    return " ".join(parts)


def _rules_label(form: Form, lang: str) -> str:
    rules = []
    if form.rules.pass_mark is not None:
        rules.append(f"Σ ≥ {_n(form.rules.pass_mark)} / {_n(form.max_points)}")
    if form.rules.item_min_points is not None:
        rules.append(f"∀ ≥ {_n(form.rules.item_min_points)}")
    for level in form.levels:
        conditions = " ∧ ".join(_quote(c.when.source) for c in level.conditions)
        rules.append(f"{level.number}. {_quote(level.title[lang])}: {conditions}")
    return "<br/>".join(rules)


def _edges(form: Form, nodes: dict[str, str]) -> list[str]:
    """Link questions in order; a run of questions sharing one skip rule is one guarded block."""
    edges = []
    questions = form.questions
    for index, question in enumerate(questions):
        before = nodes[questions[index - 1].id] if index else "start"
        rule = _rule(question)
        previous_rule = _rule(questions[index - 1]) if index else None
        if rule is None or rule == previous_rule:
            edges.append(f"  {before} --> {nodes[question.id]}")
            continue
        edges.append(f'  {before} -->|"{_quote(rule)}"| {nodes[question.id]}')
        after = next((q for q in questions[index + 1 :] if _rule(q) != rule), None)
        target = nodes[after.id] if after else "result"
        edges.append(f'  {before} -.->|"not ({_quote(rule)})"| {target}')
    last = nodes[questions[-1].id] if questions else "start"
    edges.append(f"  {last} --> result")
    return edges


def _rule(question: Question) -> str | None:
    return question.when.source if question.when else None


def _quote(text: str) -> str:
    # Mermaid ends a label at a double quote; its entity keeps the text intact.
    return text.replace('"', "#quot;")


def _n(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the diagram of a shipped form (by key) or of a form file."""
    parser = argparse.ArgumentParser(prog="python -m conversations.render", description=__doc__)
    parser.add_argument("form", help="a form key such as gia-dinh-hoc-tap, or a .toml file")
    parser.add_argument("--lang", default="vi", help="language of the labels (default: vi)")
    args = parser.parse_args(argv)
    try:
        path = Path(args.form)
        form = load_form(path) if path.suffix == ".toml" else load_forms().get(args.form)
    except (FormError, UnknownFormError) as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(f"cannot read {args.form}: {error.strerror}", file=sys.stderr)
        return 2
    print(mermaid(form, args.lang), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
