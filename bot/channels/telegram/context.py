"""A typed accessor for our services on python-telegram-bot's context (no casts at call sites)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext

from bot.channels.telegram.api import HoctapBot
from bot.services.context import Services

SERVICES_KEY = "hoctap.services"
WAKE_KEY = "hoctap.wake_reminders"  # an asyncio.Event: set it to send reminders at once
APPLIED_KEY = "hoctap.applied"
STALE_KEY = "hoctap.stale"  # ids of taps too old to answer (the runner says which)


class HoctapContext(CallbackContext[HoctapBot, dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with the services the composition root put on the application."""

    @property
    def services(self) -> Services:
        services = self.application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services

    @property
    def applied(self) -> set[int]:
        """Ids of updates a handler applied in this process: their inbox rows are done, so the
        runner need not ask the database (it takes each id out again)."""
        applied = self.application.bot_data.setdefault(APPLIED_KEY, set())
        assert isinstance(applied, set)
        return applied


HoctapApplication = Application[
    HoctapBot, HoctapContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], None
]
