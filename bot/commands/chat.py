"""``hoctap chat``: talk to hoctap in the terminal, or walk one form with ``--form KEY``."""

from __future__ import annotations

import argparse

from bot.app import open_services
from bot.channels.terminal import converse, terminal_actor
from bot.chat.messages import Inbound
from bot.commands.common import fail
from bot.config import Settings
from bot.i18n import _
from bot.services.people import CONSENT_PURPOSE, ensure_person
from bot.storage.db import DatabaseUnavailable
from conversations.model import FormError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``chat``."""
    chat = commands.add_parser("chat", help=_("talk to hoctap in the terminal"))
    chat.add_argument("--form", help=_("walk one criteria set, e.g. cong-dan-hoc-tap"))
    chat.add_argument("--user", help=_("act as this terminal user (default: your login name)"))
    chat.add_argument(
        "--agree",
        action="store_true",
        help=_("agree to the privacy notice (shown by /start) without being asked"),
    )
    chat.set_defaults(handler=run_chat)


async def run_chat(args: argparse.Namespace, settings: Settings) -> int:
    """Open the database and converse until the input ends."""
    actor = terminal_actor(settings.locale, args.user)
    first = (
        Inbound(actor, command="form", argument=args.form, keyed=True)
        if args.form
        else Inbound(actor, command="start", keyed=True)
    )
    try:
        async with open_services(settings) as services:
            if args.agree:
                async with services.sessions() as session:
                    person = await ensure_person(session, actor, services.clock())
                    if person.consent_at is None:
                        person.consent_at = services.clock()
                        person.consent_purpose = CONSENT_PURPOSE
                    await session.commit()
            return await converse(services, actor, first)
    except (FormError, DatabaseUnavailable) as error:
        return fail(str(error))
