"""``hoctap forms …``: for the people who adapt criteria sets — list, check a file, draw a form."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.commands.common import fail
from bot.config import Settings
from bot.i18n import _, current_locale
from conversations.loader import FormError, load_form, load_forms
from conversations.render import mermaid


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``forms list|check|draw``."""
    parser = commands.add_parser("forms", help=_("criteria sets: list, check, draw"))
    sub = parser.add_subparsers(dest="forms_command", required=True, metavar="ACTION")
    sub.add_parser("list", help=_("list the shipped criteria sets")).set_defaults(handler=run_list)
    check = sub.add_parser("check", help=_("validate a form file and report every error"))
    check.add_argument("file", type=Path)
    check.set_defaults(handler=run_check)
    draw = sub.add_parser("draw", help=_("print a Mermaid diagram of a form's questions"))
    draw.add_argument("form", help=_("a form key or a file path"))
    draw.set_defaults(handler=run_draw)


async def run_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print each shipped form with its version and source document."""
    try:
        registry = load_forms()
    except FormError as error:
        return fail(str(error))
    lang = current_locale()
    for key in sorted(registry.keys()):
        form = registry.get(key)
        print(
            _("{key} v{version}: {title} — {source}").format(
                key=form.key, version=form.version, title=form.title[lang], source=form.source
            )
        )
    return 0


async def run_check(args: argparse.Namespace, settings: Settings) -> int:
    """Validate one file; exit non-zero with the precise error when it is broken."""
    try:
        form = load_form(args.file)
    except FormError as error:
        return fail(str(error))
    except OSError as error:
        return fail(
            _("Cannot read {file}: {reason}").format(file=args.file, reason=error.strerror)
        )
    print(
        _("{file}: form {key} v{version} is valid ({questions} questions).").format(
            file=args.file, key=form.key, version=form.version, questions=len(form.questions)
        )
    )
    return 0


async def run_draw(args: argparse.Namespace, settings: Settings) -> int:
    """Print the Mermaid diagram of a shipped form or of a file."""
    try:
        path = Path(args.form)
        form = load_form(path) if path.suffix == ".toml" else load_forms().get(args.form)
    except (FormError, KeyError) as error:
        return fail(str(error))
    except OSError as error:
        return fail(
            _("Cannot read {file}: {reason}").format(file=args.form, reason=error.strerror)
        )
    print(mermaid(form, lang=current_locale()))
    return 0
