"""Time a CSV import of 5,000 households in 25 villages into one commune of a fresh SQLite file.

Prints figures and asserts nothing (goal: well under 2 s).
Run: .venv/bin/python bench/bench_import.py [households]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bot.services.units import import_csv
from bot.storage.db import create_engine, make_sessionmaker, upgrade
from bot.storage.geography import load_geography

COMMUNE = "00070"
VILLAGES = 25


def write_csv(path: Path, households: int) -> None:
    """Write a file of `households` rows spread over the villages."""
    lines = ["village,household_code,head_name,members"]
    lines += [
        f"Thôn {n % VILLAGES + 1},H{n:05d},Nguyễn Thị Hộ {n},{n % 8 + 1}"
        for n in range(households)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


async def main(households: int) -> None:
    """Prepare a commune, then time parse + check + insert + commit of the file."""
    with tempfile.TemporaryDirectory() as directory:
        csv_path = Path(directory) / "households.csv"
        write_csv(csv_path, households)
        engine = create_engine(f"sqlite+aiosqlite:///{Path(directory) / 'hoctap.db'}")
        sessions = make_sessionmaker(engine)
        try:
            await upgrade(engine)
            async with sessions() as session:
                await load_geography(session)
                await session.commit()
            started = time.perf_counter()
            async with sessions() as session:
                summary = await import_csv(session, csv_path, COMMUNE)
                await session.commit()
            elapsed = time.perf_counter() - started
        finally:
            await engine.dispose()
    print(
        f"import: {summary.households_added} households, {summary.villages_added} villages "
        f"in {elapsed:.3f} s ({summary.households_added / elapsed:,.0f} households/s)"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
