"""The catalog workflow in one script: extract, update, compile, check.

    python scripts/i18n.py extract   # bot/**.py -> locales/messages.pot (generated, not committed)
    python scripts/i18n.py update    # merge the .pot into locales/<lang>/LC_MESSAGES/messages.po
    python scripts/i18n.py compile   # .po -> .mo (not committed; the bot also compiles in memory)
    python scripts/i18n.py check     # fail on fuzzy, untranslated (vi) or placeholder mismatches

It wraps pybabel so translators need to learn one command.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "locales"
POT = LOCALES / "messages.pot"
LANGS = ("vi", "en")
PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)[^{}]*\}")
# The markup a message may hold (bot/rich.py renders it on Telegram and drops it elsewhere).
MARKUP = re.compile(r"<(/?)(b|i|u|s|code)>|&(?:amp|lt|gt|quot);")


# One word for each role and thing, one form of address (DOMAIN.md, "Corrections and findings").
WRONG_WORDS = {
    "anh/chị": "the person is addressed as 'bạn' everywhere",
    "anh chị": "the person is addressed as 'bạn' everywhere",
    "ông/bà": "the person is addressed as 'bạn' everywhere",
    "quý vị": "the person is addressed as 'bạn' everywhere",
    "bài đánh giá": "an assessment is a 'phiếu'",
    "bản đánh giá": "an assessment is a 'phiếu'",
}
# "trưởng thôn" on its own (the head of the village), not "chi hội trưởng thôn …".
VILLAGE_HEAD = re.compile(r"(?<!hội )trưởng thôn")
# New-style tone placement on an open syllable (hoà, huỷ, xoá); the product writes hòa, hủy, xóa.
NEW_STYLE_TONE = re.compile(r"(?<![qQ])(?:[oO][àáảãạ]|[oO][èéẻẽẹ]|[uU][ỳýỷỹỵ])(?![a-zA-Zà-ỹÀ-Ỹđ])")


def word_problems(text: str) -> list[str]:
    """The product's word rules a Vietnamese text breaks."""
    lowered = text.lower()
    found = [f"{word!r}: {why}" for word, why in WRONG_WORDS.items() if word in lowered]
    if VILLAGE_HEAD.search(lowered):
        found.append("'trưởng thôn': the village leader is 'chi hội trưởng' (another office)")
    found += [f"{m.group(0)!r}: new-style tone placement; write hòa, hủy, xóa"
              for m in NEW_STYLE_TONE.finditer(text)]  # fmt: skip
    return found


def markup_problem(text: str) -> str | None:
    """Why ``text`` would not parse as Telegram HTML, or None: only our tags, balanced, and no
    bare ``<`` or ``&`` (data goes into placeholders, where it is escaped)."""
    stack: list[str] = []
    for found in MARKUP.finditer(text):
        closing, name = found.group(1), found.group(2)
        if name is None:
            continue
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return f"unbalanced </{name}>"
    if stack:
        return f"unclosed <{stack[-1]}>"
    rest = MARKUP.sub("", text)
    if "<" in rest or "&" in rest:
        return "a bare '<' or '&' (write &lt; or &amp;)"
    return None


def pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])


def extract() -> None:
    pybabel(
        "extract",
        "-F",
        str(ROOT / "babel.cfg"),
        "-o",
        str(POT),
        "--add-comments=TRANSLATORS:",
        "--no-location",
        "--sort-output",
        "-k",
        "_",
        "-k",
        "ngettext:1,2",
        "--project=hoctap",
        str(ROOT / "bot"),
    )


def update() -> None:
    extract()
    for lang in LANGS:
        po = LOCALES / lang / "LC_MESSAGES" / "messages.po"
        if po.exists():
            pybabel(
                "update",
                "-i",
                str(POT),
                "-o",
                str(po),
                "-l",
                lang,
                "--no-fuzzy-matching",
                "--ignore-obsolete",
                "--width=100",
            )
        else:
            po.parent.mkdir(parents=True, exist_ok=True)
            pybabel("init", "-i", str(POT), "-o", str(po), "-l", lang)


def compile_catalogs() -> None:
    for lang in LANGS:
        pybabel("compile", "-d", str(LOCALES), "-l", lang, "-D", "messages", "--statistics")


def problems(lang: str) -> list[str]:
    """Everything wrong with one catalog: fuzzy, untranslated (for vi), broken placeholders."""
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    found = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        label = ids[0][:60]
        if message.fuzzy:
            found.append(f"{lang}: fuzzy: {label!r}")
        if lang == "vi" and not all(strings):
            found.append(f"{lang}: untranslated: {label!r}")
        # A word may be capitalised in one language and not the other ({Village_word}).
        expected = {name.lower() for name in PLACEHOLDER.findall(ids[0])}
        for text in strings:
            if text and {name.lower() for name in PLACEHOLDER.findall(text)} != expected:
                found.append(f"{lang}: placeholders differ in {label!r}: {text!r}")
        for text in (*ids, *strings):
            wrong = markup_problem(text) if text else None
            if wrong:
                found.append(f"{lang}: markup in {label!r}: {wrong}")
        if lang == "vi":
            found += [
                f"vi: words in {label!r}: {why}" for text in strings for why in word_problems(text)
            ]
    return found


def check() -> int:
    found = [p for lang in LANGS for p in problems(lang)]
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


def main(argv: list[str]) -> int:
    commands = {"extract": extract, "update": update, "compile": compile_catalogs}
    if len(argv) == 2 and argv[1] == "check":
        return check()
    if len(argv) != 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    commands[argv[1]]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
