"""A typed accessor for our services on python-telegram-bot's context (no casts at call sites)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.services.context import Services

SERVICES_KEY = "hoctap.services"
WAKE_KEY = "hoctap.wake_reminders"  # an asyncio.Event: set it to send reminders at once


class HoctapContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context, with the services the composition root put on the application."""

    @property
    def services(self) -> Services:
        services = self.application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services


HoctapApplication = Application[
    ExtBot[None], HoctapContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], None
]
