"""``hoctap run``: serve the bot on Telegram (long polling, or ``--webhook URL``), on the Zalo
Bot Platform, or on a Zalo Official Account (webhook only)."""

from __future__ import annotations

import argparse
import asyncio
import signal

from bot.app import open_services
from bot.commands.common import fail
from bot.config import Settings, SettingsError
from bot.i18n import _
from bot.runtime import runner
from bot.runtime.channel import Channel
from bot.services.context import Services
from bot.storage.db import DatabaseUnavailable
from conversations.model import FormError


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    run = commands.add_parser("run", help=_("serve the bot (Telegram long polling by default)"))
    run.add_argument(
        "--webhook",
        metavar="URL",
        help=_("receive updates at this public HTTPS URL instead of polling"),
    )
    run.add_argument(
        "--channel",
        choices=["telegram", "zalo", "zalo-oa"],
        default="telegram",
        help=_("the messenger to serve"),
    )
    run.set_defaults(handler=run_bot)


def channel_for(name: str, settings: Settings, services: Services) -> Channel:
    """The adapter of the messenger ``name`` ("telegram", "zalo" or "zalo-oa")."""
    if name == "zalo-oa":
        from bot.commands import zalo_oa

        return zalo_oa.channel_for(settings, services)
    if name == "zalo":
        from bot.channels.zalo.channel import ZaloChannel

        return ZaloChannel(settings)
    from bot.channels.telegram.channel import TelegramChannel

    return TelegramChannel(settings)


async def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    """Serve until interrupted (Ctrl-C or SIGTERM), then stop cleanly."""
    from bot.channels.zalo.client import ZaloError

    if args.channel == "zalo" and settings.zalo_token is None:
        return fail(_("Set HOCTAP_ZALO_TOKEN (the token Zalo sent you) to run the bot."))
    if args.channel == "telegram" and settings.telegram_token is None:
        return fail(_("Set HOCTAP_TELEGRAM_TOKEN (the token from @BotFather) to run the bot."))
    if args.channel == "zalo-oa" and not args.webhook:
        return fail(_("A Zalo Official Account sends its events by webhook: add --webhook URL."))
    if args.webhook and settings.webhook_secret is None and args.channel != "zalo-oa":
        return fail(_("Set HOCTAP_WEBHOOK_SECRET to run with a webhook."))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with open_services(settings) as services:
            channel = channel_for(args.channel, settings, services)
            await runner.run(settings, services, channel, stop, args.webhook)
    except (FormError, DatabaseUnavailable, SettingsError, ZaloError) as error:
        return fail(str(error))
    return 0
