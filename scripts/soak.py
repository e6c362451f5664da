"""`make soak`: flood the real bot with Telegram webhook updates, kill -9 it mid-flood, restart it, and count.

Everything runs on 127.0.0.1: a fake Bot API (tests/fake_bot_api.py) that, like Telegram, POSTs every update to
the webhook and delivers it again until it gets a 200; `python -m bot run` with a Telegram webhook and a WeChat
configuration; and this script, which pushes updates at a steady rate, sends WeChat messages alongside, kills the
bot with SIGKILL half-way, starts it again and waits until every update is acknowledged and answered.

It prints how many updates were acknowledged, answered and lost (acknowledged but never answered: must be 0),
webhook latency, the bot's memory and how long a SIGTERM takes. Exit code 1 when anything was lost.
Usage: scripts/soak.py [--rate 60] [--seconds 8] [--kill-after 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

import fake_bot_api as fake  # noqa: E402  (the fake lives with the tests)

WECHAT_TOKEN = "soak-wechat-token"
QUESTIONS = (
    "催收打电话给我妈妈合法吗",
    "爆通讯录了怎么办",
    "半夜打电话催收",
    "怎么投诉催收",
    "催收说要上门",
    "逾期了会坐牢吗",
    "可以协商分期吗",
    "催收威胁我怎么办",
    "Can collectors call my family?",
    "今天天气怎么样",
)
CHAT_BASE = 700_000_000  # one chat per update, so every answer can be traced to its update


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class Bot:
    """`python -m bot run` as a child process, its log appended to one file."""

    def __init__(self, env: dict[str, str], log: Path, port: int) -> None:
        self.env = env
        self.log = log
        self.port = port
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, api: fake.FakeBotApi) -> float:
        registered = len(api.called("setWebhook"))
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=REPO, env=self.env, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=log,
            )  # fmt: skip
        deadline = started + 30
        async with httpx.AsyncClient(trust_env=False) as client:
            while True:
                if self.process.returncode is not None:
                    raise SystemExit(f"the bot exited with {self.process.returncode}; see {self.log}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"the bot did not come up within 30 s; see {self.log}")
                with contextlib.suppress(httpx.HTTPError):
                    healthy = (await client.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200
                    if healthy and len(api.called("setWebhook")) > registered:
                        return time.monotonic() - started
                await asyncio.sleep(0.05)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def terminate(self) -> tuple[float, int]:
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.process.kill()
            code = await self.process.wait()
        return time.monotonic() - started, code


def wechat_params(nonce: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = hashlib.sha1("".join(sorted((WECHAT_TOKEN, stamp, nonce))).encode()).hexdigest()
    return {"signature": signature, "timestamp": stamp, "nonce": nonce, "openid": f"o-soak-{nonce}"}


def wechat_xml(number: int, text: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_soak]]></ToUserName><FromUserName><![CDATA[o-soak-{number}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{900000 + number}</MsgId></xml>"
    ).encode()


async def wechat_traffic(port: int, stop: asyncio.Event, results: dict[str, int], latencies: list[float]) -> None:
    """A few WeChat messages a second; during the restart they fail, as they would for WeChat."""
    number = 0
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
        while not stop.is_set():
            number += 1
            started = time.monotonic()
            try:
                response = await client.post(
                    f"http://127.0.0.1:{port}/wechat",
                    params=wechat_params(str(number)),
                    content=wechat_xml(number, QUESTIONS[number % len(QUESTIONS)]),
                )
                key = (
                    "answered"
                    if response.status_code == 200 and b"<Content>" in response.content
                    else (f"status {response.status_code}" if response.status_code != 200 else "success only")
                )
                if key == "answered":
                    latencies.append(time.monotonic() - started)
            except httpx.HTTPError as exc:
                key = type(exc).__name__
            results[key] = results.get(key, 0) + 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)


async def soak(rate: float, seconds: float, kill_after: float) -> int:
    api = fake.FakeBotApi()
    async with api.running():
        port = free_port()
        data = tempfile.TemporaryDirectory(prefix="anxin-soak-")
        log = Path(data.name) / "bot.log"
        env = {
            name: value for name, value in os.environ.items() if not name.startswith(("TELEGRAM_", "WECHAT_", "BOT_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=fake.TOKEN,
            TELEGRAM_API_URL=api.url,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            WECHAT_TOKEN=WECHAT_TOKEN,
            BOT_DATA_DIR=str(Path(data.name) / "data"),
            BOT_CONTENT_DIR=str(REPO),
            BOT_HOST="127.0.0.1",
            BOT_PORT=str(port),
        )
        bot = Bot(env, log, port)
        started_in = await bot.start(api)
        rss_before = rss_mb(bot.pid)
        print(f"bot up in {started_in:.1f} s (pid {bot.pid}, {rss_before:.0f} MB); "
              f"flooding {rate:.0f} updates/s for {seconds:.0f} s, kill -9 after {kill_after:.0f} s")  # fmt: skip

        stop_wechat = asyncio.Event()
        wechat: dict[str, int] = {}
        wechat_latency: list[float] = []
        wechat_task = asyncio.create_task(wechat_traffic(port, stop_wechat, wechat, wechat_latency))

        total = int(rate * seconds)
        flood_start = time.monotonic()
        killed_at_acknowledged = 0
        rss_before_kill = float("nan")
        restart: asyncio.Task[float] | None = None
        for number in range(total):
            due = flood_start + number / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            api.push(fake.message(CHAT_BASE + number, QUESTIONS[number % len(QUESTIONS)]))
            if restart is None and time.monotonic() - flood_start >= kill_after:
                rss_before_kill = rss_mb(bot.pid)
                await bot.kill()
                killed_at_acknowledged = len(api.acknowledged())
                # The flood keeps coming while the bot starts again; the fake queues and redelivers it.
                restart = asyncio.create_task(bot.start(api))
        pushed_for = time.monotonic() - flood_start
        restart_seconds = await restart if restart is not None else float("nan")

        deadline = time.monotonic() + 25
        while api.unacknowledged():
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)

        def answered() -> set[int]:
            return {
                int(call.params["chat_id"]) - CHAT_BASE
                for call in api.called("sendMessage")
                if int(call.params.get("chat_id", 0)) >= CHAT_BASE
            }

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            numbers = {update_id for update_id in api.acknowledged()}
            if len(answered()) >= len(numbers):
                break
            await asyncio.sleep(0.1)
        stop_wechat.set()
        await wechat_task
        rss_after = rss_mb(bot.pid)
        shutdown_seconds, exit_code = await bot.terminate()

    # update_id n carries chat CHAT_BASE + n - 1 (ids start at 1, numbers at 0)
    acknowledged = {update_id - 1 for update_id in api.acknowledged()}
    replies: dict[int, int] = {}
    for call in api.called("sendMessage"):
        chat = int(call.params.get("chat_id", 0)) - CHAT_BASE
        if 0 <= chat < total:
            replies[chat] = replies.get(chat, 0) + 1
    answered_numbers = set(replies)
    lost = acknowledged - answered_numbers
    never_acknowledged = set(range(total)) - acknowledged
    attempts = [len(d.attempts) for d in api.deliveries.values()]
    latencies = [
        d.acknowledged - d.first_attempt
        for d in api.deliveries.values()
        if d.acknowledged is not None and d.first_attempt is not None and len(d.attempts) == 1
    ]
    end_to_end = [d.acknowledged - d.pushed for d in api.deliveries.values() if d.acknowledged is not None]
    log_text = log.read_text(encoding="utf-8", errors="replace")
    data.cleanup()

    print()
    print(f"updates sent            {total} in {pushed_for:.1f} s")
    print(f"acknowledged (200)      {len(acknowledged)}  ({killed_at_acknowledged} before the kill -9)")
    print(f"answered                {len(answered_numbers)}")
    print(f"lost                    {len(lost)}  (acknowledged, never answered)")
    print(f"never acknowledged      {len(never_acknowledged)}")
    print(f"answered twice          {sum(1 for count in replies.values() if count > 1)}  "
          "(handled when the bot was killed, delivered again)")  # fmt: skip
    print(f"delivery attempts       {sum(attempts)} for {len(attempts)} updates "
          f"({sum(1 for a in attempts if a > 1)} updates needed more than one)")  # fmt: skip
    print(f"webhook latency         p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms  (request → 200, first-attempt deliveries)")  # fmt: skip
    print(f"push → acknowledged     p50 {statistics.median(end_to_end) * 1000:.0f} ms, "
          f"p99 {percentile(end_to_end, 0.99) * 1000:.0f} ms  (includes the restart)")  # fmt: skip
    print(f"restart after kill -9   {restart_seconds:.1f} s until /healthz and setWebhook")
    print(f"RSS                     before flood {rss_before:.0f} MB, before kill {rss_before_kill:.0f} MB, "
          f"after the flood (restarted process) {rss_after:.0f} MB")  # fmt: skip
    print(f"SIGTERM                 exited in {shutdown_seconds:.2f} s with code {exit_code}")
    wechat_summary = ", ".join(f"{key} {count}" for key, count in sorted(wechat.items()))
    wechat_p99 = percentile(wechat_latency, 0.99) * 1000
    print(f"wechat                  {wechat_summary}; answer p99 {wechat_p99:.0f} ms")
    print(f"bot log                 {len(log_text.splitlines())} lines, {log_text.count('Traceback')} tracebacks")
    return 1 if lost or never_acknowledged else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=60.0, help="updates per second (default 60)")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long the flood lasts (default 8)")
    parser.add_argument("--kill-after", type=float, default=4.0, help="kill -9 the bot this far in (default 4)")
    args = parser.parse_args()
    return asyncio.run(soak(args.rate, args.seconds, args.kill_after))


if __name__ == "__main__":
    sys.exit(main())
