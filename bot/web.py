"""The one ASGI app that serves every webhook channel (`/telegram`, `/wechat`, …) plus `/healthz`, and the
HTTP server that runs it.

uvicorn runs the app over `GuardedProtocol`, its h11 protocol with three limits, because on its own it waits
for ever on a client that sends slowly or not at all, and a crowd of such clients used to lock everyone out:

- a request must arrive whole, headers and body, within `Limits.read_timeout` seconds of its first byte (a
  new connection: of being opened); otherwise the client gets 408 and the connection is closed;
- at most `Limits.max_connections` connections are open at once, well below the open-file limit so that
  accepting a connection never fails; one more closes the connection that has waited longest without a
  complete request (an idle or a slow one), so slow clients cannot keep anyone else out;
- idle keep-alive connections close after `Limits.keep_alive` seconds, and on SIGTERM requests in progress
  get `Limits.grace` seconds to finish.

The time a request's first byte was read is kept in its scope (`arrival()`), so a channel with a deadline
(WeChat answers within 5 s) counts from there, not from when its handler got to run. A client that goes
away mid-request costs one (rate-limited) log line, not a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

ARRIVAL = "anxin.arrival"  # key in the ASGI scope's "state": loop time of the request's first byte
FD_RESERVE = 256  # open files kept free for the database, the Bot API client, logs and the like
# The listen backlog; asyncio also accepts at most this many connections in one go. More waiting clients
# are left to the kernel (their connection attempt is retried), not taken in faster than they can be served.
ACCEPT_BATCH = 64

_408 = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_503 = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 1\r\nconnection: close\r\n\r\n"


@dataclass(frozen=True)
class Limits:
    read_timeout: float = 10.0
    max_connections: int = 512  # lowered further when the open-file limit is low
    keep_alive: int = 5
    grace: int = 4  # Docker sends SIGKILL 10 s after SIGTERM: requests get 4, the rest of shutdown has plenty


@dataclass(frozen=True)
class Bucket:
    """A token bucket: `burst` requests at once, then one every `1 / per_second` seconds."""

    burst: float
    per_second: float


class RateLimiter:
    """Token buckets by key, the least recently used forgotten beyond `max_keys` (memory stays bounded)."""

    def __init__(self, bucket: Bucket, *, max_keys: int = 50_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.bucket = bucket
        self.max_keys = max_keys
        self.clock = clock
        self._keys: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key → (tokens, when)

    def take(self, key: str) -> float:
        """0 when the request may go ahead (a token is used); else the seconds until it could."""
        now = self.clock()
        tokens, when = self._keys.pop(key, (self.bucket.burst, now))
        tokens = min(self.bucket.burst, tokens + (now - when) * self.bucket.per_second)
        wait = 0.0
        if tokens >= 1:
            tokens -= 1
        else:
            wait = (1 - tokens) / self.bucket.per_second
        self._keys[key] = (tokens, now)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return wait


# --- the app -------------------------------------------------------------------------------------------


def build_app(routes: Sequence[BaseRoute], health: Callable[[], str | None] | None = None) -> Starlette:
    """Channel routes plus the health check that Docker and reverse proxies poll.

    `/healthz` answers 200 "ok", or 503 "degraded: store (…)" while the store keeps nothing (the database
    could not be opened, or it is failing): the bot still answers then, but forgets, and someone should look.
    """

    async def healthz(request: Request) -> PlainTextResponse:
        problem = health() if health is not None else None
        if problem is None:
            return PlainTextResponse("ok")
        return PlainTextResponse(f"degraded: store ({problem})", status_code=503)

    return Starlette(
        routes=[Route("/healthz", healthz, methods=["GET"]), *routes],
        exception_handlers={ClientDisconnect: _client_gone},
    )


async def _client_gone(request: Request, exc: Exception) -> Response:
    # Nobody reads this response; the line in the log is what matters, and it must be one line.
    log.info("http: a client went away before its request was read")
    return Response(status_code=400)


async def read_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to exceed `limit` bytes (nothing more is read).
    A client that disconnects meanwhile raises `ClientDisconnect`, which the app logs in one line."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def arrival(request: Request) -> float:
    """Event-loop time when the request's first byte was read (now, when not served by `GuardedProtocol`)."""
    state = request.scope.get("state")
    value = state.get(ARRIVAL) if isinstance(state, dict) else None
    return value if isinstance(value, float) else asyncio.get_running_loop().time()


# --- the server ----------------------------------------------------------------------------------------


class _Guard:
    """What all connections of one server share: the limits and the connections that may be closed first."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_connections = _connection_cap(limits.max_connections)
        # Connections without a complete request (idle, or still sending one), the longest-waiting first.
        self.waiting: dict[GuardedProtocol, None] = {}


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for reading each request and a cap on open connections."""

    guard: _Guard  # set on the subclass that `serve` makes for each server

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._deadline: asyncio.TimerHandle | None = None
        self._first_byte: float | None = None
        super().connection_made(transport)
        if len(self.connections) > self.guard.max_connections:
            oldest = next(iter(self.guard.waiting), None)
            if oldest is None:  # every connection is busy with a complete request: this one must wait
                log.warning("http: %d connections busy; refused one with 503", len(self.connections) - 1)
                self.transport.write(_503)
                self.transport.close()
                return
            log.warning("http: %d connections open; closed the longest-waiting one", self.guard.max_connections)
            oldest.transport.close()
            oldest._stop_waiting()
        self._start_reading()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._start_reading()  # the first bytes of the next request on a kept-alive connection
        if self._first_byte is None:
            self._first_byte = self.loop.time()
        before = self.cycle
        super().data_received(data)
        cycle = self.cycle
        if cycle is not None and cycle is not before:
            cycle.scope.setdefault("state", {})[ARRIVAL] = self._first_byte
        if cycle is not None and not cycle.more_body and not cycle.response_complete:
            self._stop_waiting()  # the whole request is here; the app has it now

    def on_response_complete(self) -> None:
        self._stop_waiting()
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle.response_complete:  # (not a pipelined next request)
            self.guard.waiting[self] = None  # idle until the next request: the first to go when full
            self._first_byte = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def _start_reading(self) -> None:
        self._stop_waiting()
        self._first_byte = None
        self.guard.waiting[self] = None
        self._deadline = self.loop.call_later(self.guard.limits.read_timeout, self._read_timed_out)

    def _stop_waiting(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.guard.waiting.pop(self, None)

    def _read_timed_out(self) -> None:
        self._deadline = None
        log.warning("http: a request was not complete after %.0f s; closed with 408", self.guard.limits.read_timeout)
        if not self.transport.is_closing():
            if self.cycle is None or self.cycle.response_complete or not self.cycle.response_started:
                self.transport.write(_408)
            self.transport.close()


def _connection_cap(wanted: int) -> int:
    """`wanted`, or fewer when the open-file limit leaves less room.

    asyncio accepts up to `ACCEPT_BATCH` connections at a time before any of them reaches `connection_made`
    (where the cap is applied), so room for two such batches is kept on top of the files the rest needs.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return max(16, min(wanted, soft - min(FD_RESERVE, soft // 4) - 2 * ACCEPT_BATCH))


def _raise_open_file_limit() -> None:
    """The soft open-file limit up to the hard one (at most 65,536): many systems start at 1,024."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner owns SIGINT/SIGTERM/SIGHUP for all channels."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _protocol_for(guard: _Guard) -> type[GuardedProtocol]:
    return type("GuardedServerProtocol", (GuardedProtocol,), {"guard": guard})


async def serve(app: Starlette, host: str, port: int, stop: asyncio.Event, limits: Limits | None = None) -> None:
    """Run uvicorn until `stop` is set; requests in progress then get `limits.grace` seconds to finish."""
    limits = limits or Limits()
    _raise_open_file_limit()
    guard = _Guard(limits)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_protocol_for(guard),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_keep_alive=limits.keep_alive,
        timeout_graceful_shutdown=limits.grace,
        backlog=ACCEPT_BATCH,
    )
    server = _Server(config)
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked())
    try:
        await server.serve()
    finally:
        watcher.cancel()
