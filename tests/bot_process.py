"""`python -m bot run` as a child process on 127.0.0.1, for tests that need real signals, real limits and the
real log: start it with an environment, wait until `/healthz` answers, read what it logged."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).parent.parent
CLEARED = ("TELEGRAM_", "WECHAT_", "BOT_")  # nothing from the caller's environment may configure the bot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bot_environment(**settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(CLEARED)}
    env.update(settings)
    return env


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    async def wait_healthy(self, within: float = 30.0, status: int | None = 200) -> httpx.Response:
        """The first `/healthz` answer (with `status`, when given) once the server is up."""
        deadline = time.monotonic() + within
        async with httpx.AsyncClient(trust_env=False, timeout=2) as client:
            while True:
                if self.process.returncode is not None:
                    raise AssertionError(f"the bot exited with {self.process.returncode}:\n{self.log_text()}")
                with contextlib.suppress(httpx.HTTPError):
                    response = await client.get(f"{self.url}/healthz")
                    if status is None or response.status_code == status:
                        return response
                if time.monotonic() > deadline:
                    raise AssertionError(f"/healthz did not answer within {within} s:\n{self.log_text()}")
                await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM, within: float = 20.0) -> tuple[int, float]:
        """Send `sig`; the exit code and how long the process took to exit."""
        started = time.monotonic()
        if self.process.returncode is None:
            self.process.send_signal(sig)
        try:
            code = await asyncio.wait_for(self.process.wait(), within)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the bot did not exit within {within} s of signal {sig}") from None
        return code, time.monotonic() - started


@contextlib.asynccontextmanager
async def running_bot(
    env: dict[str, str], log: Path, port: int | None = None, preexec_fn: Callable[[], None] | None = None
) -> AsyncIterator[BotProcess]:
    """`python -m bot run` with `env` (BOT_PORT is set here), its stdout and stderr in `log`; killed at the end."""
    port = port or free_port()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=REPO,
            env={**env, "BOT_HOST": "127.0.0.1", "BOT_PORT": str(port)},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            preexec_fn=preexec_fn,
        )
    bot = BotProcess(process, port, log)
    try:
        yield bot
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
