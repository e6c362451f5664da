"""The webhook paths end to end for `anxin bench`: `python -m bot run` as a child pinned to one core, a fake Bot
API and a load client in this process, everything on 127.0.0.1.

    Telegram   updates POSTed to /telegram with the secret token, as Telegram delivers them; the bot answers
               each through the fake Bot API (sendMessage), then acknowledges it: a request's latency is the
               whole turn. The rate limiter is off in the child (Telegram's 30 messages/s would be measured
               otherwise): the child starts through `SERVE`, which builds the Application without it.
    WeChat     plain-mode messages POSTed to /wechat, signed; the reply is the response body.
    /healthz   the same HTTP stack with no work behind it, at the same concurrency in the same run: the anchor
               that every msg/s is divided by, so a busier machine shows as a lower anchor, not a slower bot.

Each path runs at 1, 16 and 64 requests in flight (keep-alive connections, a fixed time each), with
1,000 people taking turns so one person's messages rarely wait for each other. The fake Bot API and the
load client are raw asyncio (no HTTP library) to leave the other core to them, not to the bot.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from .bench_load import percentile
from .knowledge import CACHE_DIR

TOKEN = "123456:BENCH-token_for-the-fake-bot-api"
WECHAT_TOKEN = "bench-wechat-token"
SECRET_TOKEN = "bench-webhook-secret"
PEOPLE = 1000
HERE = Path(__file__).resolve().parent.parent  # the checkout whose bot the child runs
CONCURRENCY = (1, 16, 64)
# The child reads the kept nets it is given; without them (a first run on a busy machine) it trains them first.
START_TIMEOUT = 300  # seconds

# The child: no rate limiter (the bench measures the bot, not Telegram's flood limit), then `anxin run`.
SERVE = """
import sys
import bot.channels.telegram_app as app
class _NoLimiter:
    def __new__(cls, *args, **kwargs):
        return None
app.AIORateLimiter = _NoLimiter
from bot.cli import main
sys.exit(main(["run"]))
"""

_MESSAGE = json.dumps(
    {"message_id": 1, "date": 1764460800, "chat": {"id": 1, "type": "private"}, "text": "ok"}, separators=(",", ":")
)
_ME = json.dumps({"id": 123456, "is_bot": True, "first_name": "Bench", "username": "bench_bot"})


class FakeApi:
    """Just enough of the Bot API for `anxin run` in webhook mode; counts the messages the bot sends."""

    def __init__(self) -> None:
        self.sent = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                method = head.split(b" ", 2)[1].rsplit(b"/", 1)[-1].split(b"?")[0]
                if method == b"sendMessage":
                    self.sent += 1
                    result = _MESSAGE
                elif method == b"getMe":
                    result = _ME
                else:
                    result = "true"
                body = ('{"ok":true,"result":' + result + "}").encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a request and reads the whole response."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, method: str, target: str, body: bytes = b"", headers: str = "") -> tuple[int, bytes]:
        self.writer.write(
            f"{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: {len(body)}\r\n{headers}\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        content = await self.reader.readexactly(length) if length else b""
        return status, content

    def close(self) -> None:
        self.writer.close()


Request = tuple[str, str, bytes, str]  # method, target, body, extra header lines


def telegram_request(number: int, text: str) -> Request:
    person = 10_000 + number % PEOPLE
    update = {
        "update_id": number,
        "message": {
            "message_id": number,
            "date": int(time.time()),
            "chat": {"id": person, "type": "private"},
            "from": {"id": person, "is_bot": False, "first_name": "B", "language_code": "zh-hans"},
            "text": text,
        },
    }
    body = json.dumps(update, ensure_ascii=False).encode()
    headers = f"content-type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: {SECRET_TOKEN}\r\n"
    return "POST", "/telegram", body, headers


def wechat_request(number: int, text: str) -> Request:
    stamp, nonce = str(int(time.time())), f"n{number}"
    signature = hashlib.sha1("".join(sorted((WECHAT_TOKEN, stamp, nonce))).encode()).hexdigest()
    person = f"o-bench-{number % PEOPLE}"
    body = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{person}]]></FromUserName>"
        f"<CreateTime>{stamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{10**9 + number}</MsgId></xml>"
    ).encode()
    target = f"/wechat?signature={signature}&timestamp={stamp}&nonce={nonce}&openid={person}"
    return "POST", target, body, "content-type: text/xml\r\n"


def health_request(number: int, text: str) -> Request:
    return "GET", "/healthz", b"", ""


@dataclasses.dataclass(frozen=True)
class WebTiming:
    path: str  # telegram, wechat, healthz
    concurrency: int
    requests: int
    per_second: float
    p50_ms: float
    p99_ms: float
    failed: int  # answers other than 200 (or, for WeChat, without a reply)
    # What each failed request got, counted: "status 503", or "late" for WeChat's "success" (the bot had no
    # answer within its 4.5 s; the designed answer to overload, which a loaded test machine can cause).
    failures: dict[str, int] = dataclasses.field(default_factory=dict)


async def _load(
    port: int,
    make: Callable[[int, str], Request],
    questions: Sequence[str],
    concurrency: int,
    seconds: float,
    counter: Iterator[int],
    check: Callable[[int, bytes], bool],
) -> WebTiming | None:
    connections = [await Connection.open(port) for _ in range(concurrency)]
    samples: list[float] = []
    failed = 0
    failures: collections.Counter[str] = collections.Counter()
    deadline = time.perf_counter() + seconds

    async def lane(connection: Connection) -> None:
        nonlocal failed
        while time.perf_counter() < deadline:
            number = next(counter)
            method, target, body, headers = make(number, questions[number % len(questions)])
            start = time.perf_counter()
            status, content = await connection.request(method, target, body, headers)
            samples.append(time.perf_counter() - start)
            if not check(status, content):
                failed += 1
                failures["late" if status == 200 and content.strip() == b"success" else f"status {status}"] += 1

    began = time.perf_counter()
    try:
        await asyncio.gather(*(lane(connection) for connection in connections))
    finally:
        for connection in connections:
            connection.close()
    elapsed = time.perf_counter() - began
    if not samples:
        return None
    return WebTiming(
        path="",
        concurrency=concurrency,
        requests=len(samples),
        per_second=len(samples) / elapsed,
        p50_ms=percentile(samples, 0.5) * 1000,
        p99_ms=percentile(samples, 0.99) * 1000,
        failed=failed,
        failures=dict(failures),
    )


async def _every_question(
    port: int, make: Callable[[int, str], Request], questions: Sequence[str], concurrency: int, counter: Iterator[int]
) -> None:
    """Each question sent once, `concurrency` at a time: what a bot that has been up for a while has already seen."""
    connections = [await Connection.open(port) for _ in range(concurrency)]
    remaining = iter(questions)

    async def lane(connection: Connection) -> None:
        for question in remaining:
            await connection.request(*make(next(counter), question))

    try:
        await asyncio.gather(*(lane(connection) for connection in connections))
    finally:
        for connection in connections:
            connection.close()


@contextlib.contextmanager
def _core(core: int | None) -> Iterator[None]:
    if core is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {core})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _seed(kept: Path, cache: Path) -> None:
    if kept.is_dir():
        shutil.copytree(kept, cache)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


async def _wait_up(port: int, child: asyncio.subprocess.Process, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if child.returncode is not None:
            raise RuntimeError(f"the bot exited with {child.returncode}:\n{await asyncio.to_thread(_tail, log)}")
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            connection = await Connection.open(port)
            try:
                status, _ = await connection.request("GET", "/healthz")
            finally:
                connection.close()
            if status == 200:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"the bot did not come up within {START_TIMEOUT} s:\n{await asyncio.to_thread(_tail, log)}")


async def measure_webhooks(
    content_dir: Path,
    questions: Sequence[str],
    *,
    seconds: float = 3.0,
    concurrency: Sequence[int] = CONCURRENCY,
    code_root: Path | None = None,
    kept: Path | None = None,
) -> list[WebTiming]:
    """Every path at every concurrency against one `anxin run` child pinned to one core (another than ours).

    `kept`: a data folder's cache of trained nets and matcher arrays for this content, copied into the child's
    new data folder so it starts as a bot that has run before, instead of training the nets first (a minute or
    more on a busy machine)."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    bot_core = cores[-1] if cores else None
    own_core = cores[0] if len(cores) > 1 else None
    root = code_root or HERE
    api = FakeApi()
    api_url = await api.start()
    port = _free_port()
    results: list[WebTiming] = []
    with tempfile.TemporaryDirectory(prefix="anxin-bench-web-") as folder:
        log = Path(folder) / "bot.log"
        if kept is not None:
            await asyncio.to_thread(_seed, kept, Path(folder) / "data" / CACHE_DIR)
        env = {
            name: value for name, value in os.environ.items() if not name.startswith(("TELEGRAM_", "WECHAT_", "BOT_"))
        }
        env.update(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_URL=api_url,
            TELEGRAM_WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram",
            TELEGRAM_WEBHOOK_SECRET=SECRET_TOKEN,
            WECHAT_TOKEN=WECHAT_TOKEN,
            BOT_DATA_DIR=str(Path(folder) / "data"),
            BOT_CONTENT_DIR=str(content_dir),
            BOT_SECRET="bench-pseudonym-key",
            BOT_HOST="127.0.0.1",
            BOT_PORT=str(port),
            BOT_WATCH="0",
            BOT_LOG_LEVEL="WARNING",
            PYTHONPATH=str(root),
        )

        def pin() -> None:
            if bot_core is not None:
                os.sched_setaffinity(0, {bot_core})

        sink = await asyncio.to_thread(log.open, "wb")
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVE, cwd=root, env=env, stdout=sink, stderr=sink, preexec_fn=pin
        )
        sink.close()
        try:
            with _core(own_core):
                await _wait_up(port, child, log)
                counter = iter(range(1, 10**9))
                paths: list[tuple[str, Callable[[int, str], Request], Callable[[int, bytes], bool]]] = [
                    ("healthz", health_request, lambda status, _: status == 200),
                    ("telegram", telegram_request, lambda status, _: status == 200),
                    ("wechat", wechat_request, lambda status, body: status == 200 and b"<Content>" in body),
                ]
                # Warm-up: every question once (a safety pattern is compiled when a message first needs it, up to
                # 0.1 s for a message, which would land in the measured seconds and in their p99), then each path.
                await _every_question(port, wechat_request, questions, 16, counter)
                for _, make, check in paths:  # caches, connections, the first store writes
                    await _load(port, make, questions, 4, 0.5, counter, check)
                for name, make, check in paths:
                    for level in concurrency:
                        timing = await _load(port, make, questions, level, seconds, counter, check)
                        if timing is not None:
                            results.append(dataclasses.replace(timing, path=name))
        finally:
            if child.returncode is None:
                child.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), 20)
            except TimeoutError:
                child.kill()
                await child.wait()
            await api.stop()
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bot.bench_web [CODE_ROOT]`: the table for one checkout (CODE_ROOT: another checkout's bot)."""
    from .bench_load import _quiet, bundled_queries
    from .knowledge import load_knowledge
    from .settings import Settings, _default_content_dir

    args = list(sys.argv[1:] if argv is None else argv)
    root = Path(args[0]).resolve() if args else None
    content = root or _default_content_dir()
    kept = Settings.from_env().data_dir / CACHE_DIR
    with _quiet("bot.knowledge"):
        kb = load_knowledge(content, cache_dir=kept).knowledge
    for timing in asyncio.run(measure_webhooks(content, bundled_queries(kb), code_root=root, kept=kept)):
        sys.stdout.write(json.dumps(timing.__dict__) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
