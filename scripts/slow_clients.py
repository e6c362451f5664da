"""Is the bot still reachable while many clients hold connections open and send nothing, or very slowly?

Starts `python -m bot run` (WeChat configured) on 127.0.0.1, opens `--connections` connections split three
ways (idle: nothing sent; slow headers: a header line every second; slow body: headers, then one byte of a
promised 1,000-byte body every second), probes `GET /healthz` ten times a second with a one-second timeout,
then drops every slow connection at once. The bot runs with at most `--bot-files` open files (1024, a common
`ulimit -n`), so it cannot simply keep every connection. Prints the share of probes answered, their latency,
how many slow connections the bot closed on its own, and how much the bot logged.
Usage: scripts/slow_clients.py [--connections 1000] [--seconds 15] [--bot-files 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def hold(port: int, kind: str, stop: asyncio.Event, closed_by_server: list[str]) -> None:
    """One slow client; records when the server closes the connection before the client gives up."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        closed_by_server.append("refused")
        return
    try:
        if kind == "body":
            writer.write(b"POST /wechat?signature=x&timestamp=1&nonce=1 HTTP/1.1\r\nHost: bot\r\n"
                         b"Content-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<xml>")  # fmt: skip
        elif kind == "headers":
            writer.write(b"POST /wechat HTTP/1.1\r\n")
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                data = await asyncio.wait_for(reader.read(1024), 1.0)
                if not data:  # EOF: the server hung up
                    closed_by_server.append(kind)
                    return
                if data:
                    closed_by_server.append(kind)
                    return
            if kind == "body":
                writer.write(b"a")
            elif kind == "headers":
                writer.write(b"X-Slow: 1\r\n")
            with contextlib.suppress(ConnectionError):
                await writer.drain()
    except ConnectionError:
        closed_by_server.append(kind)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def probe(port: int, seconds: float) -> tuple[int, int, list[float]]:
    answered, tried, latencies = 0, 0, []
    end = time.monotonic() + seconds
    async with httpx.AsyncClient(trust_env=False) as client:
        while time.monotonic() < end:
            tried += 1
            started = time.monotonic()
            try:
                response = await client.get(f"http://127.0.0.1:{port}/healthz", timeout=1.0)
                if response.status_code == 200:
                    answered += 1
                    latencies.append(time.monotonic() - started)
            except httpx.HTTPError:
                pass
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - started)))
    return answered, tried, latencies


async def run(connections: int, seconds: float, bot_files: int, show_log: bool) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, connections + 1024)), hard))
    port = free_port()
    data = tempfile.TemporaryDirectory(prefix="anxin-slow-")
    log = Path(data.name) / "bot.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_", "BOT_"))}
    env.update(WECHAT_TOKEN="slow-token", BOT_DATA_DIR=str(Path(data.name) / "data"), BOT_PORT=str(port))
    env["BOT_CONTENT_DIR"] = str(REPO / "tests" / "fixtures" / "kb")

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (bot_files, bot_files))

    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=out, stderr=out, preexec_fn=limit_files,
        )  # fmt: skip
    try:
        answered, _, _ = 0, 0, []
        deadline = time.monotonic() + 30
        while not answered and time.monotonic() < deadline:
            answered, _, _ = await probe(port, 0.2)
        stop = asyncio.Event()
        closed: list[str] = []
        kinds = ("idle", "headers", "body")
        holders = [asyncio.create_task(hold(port, kinds[n % 3], stop, closed)) for n in range(connections)]
        await asyncio.sleep(1.0)  # let them all connect
        answered, tried, latencies = await probe(port, seconds)
        stop.set()
        await asyncio.gather(*holders)
        await asyncio.sleep(1.0)  # the bot logs the disconnects
        alive_after, _, _ = await probe(port, 0.5)
    finally:
        process.terminate()
        await process.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines()
    share = answered / tried if tried else 0.0
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = sorted(latencies)[int(0.99 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    print(f"slow connections     {connections} (idle, slow headers, slow body: a third each) for {seconds:.0f} s,"
          f" bot limited to {bot_files} open files")  # fmt: skip
    print(
        f"/healthz answered    {answered} of {tried} probes ({share:.0%}); latency p50 {p50:.0f} ms, p99 {p99:.0f} ms"
    )
    by_kind = {kind: closed.count(kind) for kind in (*kinds, "refused")}
    print(f"closed by the bot    {sum(by_kind.values())} ({', '.join(f'{k} {v}' for k, v in by_kind.items())})")
    print(f"after the flood      /healthz {'answers' if alive_after else 'does NOT answer'}")
    print(f"bot log              {len(lines)} lines, {len(text.encode())} bytes, {text.count('Traceback')} tracebacks")
    if show_log:
        print("\n".join(lines[:60]))
    data.cleanup()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--bot-files", type=int, default=1024, help="the bot's open-file limit (ulimit -n)")
    parser.add_argument("--show-log", action="store_true", help="print the first 60 lines the bot logged")
    args = parser.parse_args()
    asyncio.run(run(args.connections, args.seconds, args.bot_files, args.show_log))
    return 0


if __name__ == "__main__":
    sys.exit(main())
