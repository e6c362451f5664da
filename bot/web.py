"""The one ASGI app that serves every webhook channel (`/telegram`, `/wechat`, …) plus `/healthz`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)


async def healthz(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


def build_app(routes: Sequence[BaseRoute]) -> Starlette:
    """Channel routes plus the health check that Docker and reverse proxies poll."""
    return Starlette(routes=[Route("/healthz", healthz, methods=["GET"]), *routes])


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: the runner owns SIGINT/SIGTERM/SIGHUP for all channels."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: Starlette, host: str, port: int, stop: asyncio.Event) -> None:
    """Run uvicorn until `stop` is set."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
    server = _Server(config)

    async def stop_when_asked() -> None:
        await stop.wait()
        server.should_exit = True

    watcher = asyncio.create_task(stop_when_asked())
    try:
        await server.serve()
    finally:
        watcher.cancel()
