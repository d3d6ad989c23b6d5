"""The composition root: settings -> database -> criteria sets -> services -> channel.

Nothing is created at import time; every channel's runner calls ``open_services`` and closes it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Settings
from bot.services.context import Services
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from conversations.loader import load_forms


@asynccontextmanager
async def open_services(settings: Settings, migrate: bool = True) -> AsyncIterator[Services]:
    """Validate the forms, open and migrate the database, and close it all afterwards."""
    forms = load_forms()  # a broken form file stops the start, with its error
    engine = create_engine(settings.database_url, busy_timeout_ms=settings.database_busy_ms)
    try:
        if migrate:
            await upgrade(engine)
        yield Services(sessions=make_sessionmaker(engine), forms=forms)
    finally:
        await engine.dispose()
