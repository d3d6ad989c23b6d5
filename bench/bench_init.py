"""Time `hoctap init` on an empty SQLite file: migrate to head, then load the geography.

Prints figures and asserts nothing (goal: under 10 s; aim: about 1 s).
Run: .venv/bin/python bench/bench_init.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.geography import load_geography


async def main() -> None:
    """Run init twice on a fresh file and print how long each step took."""
    with tempfile.TemporaryDirectory() as directory:
        engine = create_engine(f"sqlite+aiosqlite:///{Path(directory) / 'hoctap.db'}")
        sessions = make_sessionmaker(engine)
        try:
            started = time.perf_counter()
            await upgrade(engine)
            print(f"migrate to head: {time.perf_counter() - started:.3f} s")
            for run in ("first", "second"):
                begun = time.perf_counter()
                async with sessions() as session:
                    summary = await load_geography(session)
                    await session.commit()
                print(
                    f"geography ({run} run): {time.perf_counter() - begun:.3f} s; "
                    f"{summary.provinces_added} provinces, {summary.communes_added} communes "
                    f"added, {summary.updated} updated (data {summary.data_version})"
                )
            print(f"init total (migrate + first load): {time.perf_counter() - started:.3f} s")
        finally:
            await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
