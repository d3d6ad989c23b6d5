"""What every command shares: one database per command run, errors printed as one line."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.storage.db import create_engine, make_sessionmaker, upgrade


@asynccontextmanager
async def database(
    settings: Settings, migrate: bool = True
) -> AsyncIterator[tuple[AsyncEngine, async_sessionmaker[AsyncSession]]]:
    """Open the configured database (brought up to date first) and close it after."""
    engine = create_engine(settings.database_url)
    try:
        if migrate:
            await upgrade(engine)
        yield engine, make_sessionmaker(engine)
    finally:
        await engine.dispose()


def fail(message: str, code: int = 1) -> int:
    """Print one clear line on standard error and return the exit code."""
    print(message, file=sys.stderr)
    return code
