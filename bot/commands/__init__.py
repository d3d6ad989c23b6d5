"""The ``hoctap`` sub-commands, one module per concern, registered explicitly (no import magic)."""

from __future__ import annotations

import argparse

from bot.commands import (
    chat,
    demo,
    forms,
    organisations,
    people,
    reminders,
    report,
    run,
    setup,
    zalo_oa,
)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add every sub-command to the parser."""
    setup.register(commands)
    forms.register(commands)
    chat.register(commands)
    run.register(commands)
    people.register(commands)
    organisations.register(commands)
    report.register(commands)
    reminders.register(commands)
    demo.register(commands)
    zalo_oa.register(commands)
