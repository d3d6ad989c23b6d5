"""The ``hoctap`` command: parse arguments, build what a command needs, run it, print the outcome.

Each command opens one unit of work: settings -> engine -> session -> service -> commit -> print.
Business rules live in services; this module only turns arguments into calls and results into
lines. Nothing is built at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from bot.config import Settings, SettingsError, load_settings
from bot.i18n import _, set_locale

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def build_parser() -> argparse.ArgumentParser:
    """Describe every command and its options."""
    parser = argparse.ArgumentParser(
        prog="hoctap", description=_("hoctap: learning-society assessments in chat")
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from bot import commands as cmd  # late import keeps `hoctap --help` fast

    cmd.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    os.environ.setdefault("PTB_TIMEDELTA", "1")  # durations as timedeltas, no deprecation noise
    problem: SettingsError | None = None
    try:
        settings = load_settings()
    except SettingsError as error:  # said after the arguments: --help works regardless
        problem, settings = error, Settings()
    set_locale(settings.locale)
    args = build_parser().parse_args(argv)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    handler: Command = args.handler
    try:
        return asyncio.run(handler(args, settings))
    except KeyboardInterrupt:
        print("\n" + _("Stopped. Everything answered so far is saved."))
        return 130


if __name__ == "__main__":
    sys.exit(main())
