"""``hoctap run`` as a separate process, for tests that kill it the way a crash or an OOM would.

Owns: the environment a bot process gets (the fake Bot API's URLs, a database URL, nothing
inherited from ``HOCTAP_*`` or proxy variables), starting it with its output in a log file,
SIGKILL, SIGTERM and the log's tail for failure messages. Must not import the bot: the process
is the black box under test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_DROPPED_PREFIXES = ("HOCTAP_", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def bot_environment(
    *, token: str, base_url: str, base_file_url: str, database_url: str, **extra: str
) -> dict[str, str]:
    """Return the environment of a bot process talking to a fake Bot API on 127.0.0.1.

    ``extra`` keys are setting names without the prefix (``webhook_port="8444"``).
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(_DROPPED_PREFIXES)
    }
    env.update(
        PTB_TIMEDELTA="1",
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1,localhost",
        HOCTAP_DATABASE_URL=database_url,
        HOCTAP_TELEGRAM_TOKEN=token,
        HOCTAP_TELEGRAM_BASE_URL=base_url,
        HOCTAP_TELEGRAM_BASE_FILE_URL=base_file_url,
        # No throttle: a test that wants Telegram's flood limits keeps the fake's on and passes
        # HOCTAP_TELEGRAM_MAX_RATE itself; the others turn the fake's off.
        HOCTAP_TELEGRAM_MAX_RATE="0",
        HOCTAP_LOG_LEVEL="WARNING",
    )
    env.update({f"HOCTAP_{key.upper()}": value for key, value in extra.items()})
    return env


class BotProcess:
    """One ``python -m bot.cli run …`` process; start it again after a kill to model a restart."""

    def __init__(
        self, env: Mapping[str, str], workdir: Path, *args: str, name: str = "bot"
    ) -> None:
        self.env = dict(env)
        self.workdir = workdir  # also where a stray .env would be read from: keep it empty
        self.args = args
        self.log_path = workdir / f"{name}.log"
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start the process (its output is appended to the log file)."""
        assert not self.running, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts}\n".encode())
            log.flush()
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                *self.args,
                cwd=self.workdir,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def exited(self) -> bool:
        """True when the process ended by itself or was killed (and has been reaped)."""
        return self.process is not None and self.process.returncode is not None

    async def kill(self) -> None:
        """SIGKILL: no handler, no cleanup, no flush, as when the machine loses the process."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def terminate(self, timeout: float = 15.0) -> int:  # noqa: ASYNC109
        """SIGTERM and wait for a clean exit; return the exit code (killed if it hangs)."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                await self.kill()
                raise AssertionError(f"no clean exit within {timeout}s\n{self.tail()}") from None
        assert self.process.returncode is not None
        return self.process.returncode

    async def wait_exit(self) -> int:
        """Wait for the process to end by itself; return its exit code."""
        assert self.process is not None
        return await self.process.wait()

    def tail(self, lines: int = 40) -> str:
        """The end of the process's log, for failure messages."""
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join([f"{self.log_path.name}:", *text[-lines:]])
