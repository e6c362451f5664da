"""PostgreSQL figures for `anxin bench`: end-to-end messages/s with one and with two bot processes on one database.

Each "process" is a real OS process (multiprocessing, spawn) with its own knowledge base, connection pool,
store and dialog, handling `CONCURRENT_USERS` conversations at once (each conversation's messages in order),
as a webhook process does. They load, warm up, then start together; throughput is all their messages over
the wall time from the first start to the last finish, and p99 is the latency of one `Dialog.handle` call as
measured inside its process (time spent waiting for the event loop included). The PostgreSQL server runs on
the same machine and shares its cores with the bot processes.

The database is `BOT_DATABASE_URL`, else `BOT_TEST_DATABASE_URL`, else the local server; every run uses a
fresh schema and drops it afterwards. Without a reachable server the figures are left out, with the reason.
"""

from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from .knowledge import CACHE_DIR
from .settings import Settings

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 300.0  # seconds; with the kept nets a worker is ready in one or two


@dataclass(frozen=True)
class SharedTiming:
    processes: int
    messages: int  # in all processes together
    per_second: float
    p50_ms: float
    p99_ms: float


def bench_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.value
    return os.environ.get("BOT_TEST_DATABASE_URL", DEFAULT_URL)


def measure_postgres(
    settings: Settings, queries: Sequence[str], *, messages: int, process_counts: Sequence[int] = (1, 2)
) -> tuple[list[SharedTiming], str | None]:
    """A timing per process count, or none and the reason the server could not be used."""
    from .store_pg import display_url

    url = bench_url(settings)
    try:
        schema = asyncio.run(_create_schema(url))
    except Exception as exc:  # whatever keeps the server from being used, the rest of the bench still runs
        return [], f"PostgreSQL at {display_url(url)} not usable ({type(exc).__name__}: {exc})"
    schema_url = f"{url}{'&' if '?' in url else '?'}search_path={schema}"
    # Each worker reads the nets and matcher arrays the bench's own load kept, as a bot that has run before does,
    # instead of training the nets again (minutes for two processes at once on a busy machine).
    kept = str(settings.data_dir / CACHE_DIR)
    try:
        timings = [
            _run_processes(schema_url, settings.content_dir, list(queries), messages, count, kept)
            for count in process_counts
        ]
    finally:
        asyncio.run(_drop_schema(url, schema))
    return timings, None


async def _create_schema(url: str) -> str:
    import asyncpg

    from .store_pg import PostgresStore

    schema = f"anxin_bench_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    store = await PostgresStore.open(f"{url}{'&' if '?' in url else '?'}search_path={schema}", pool_size=2)
    await store.close()  # migrated once here, so the workers start on a ready schema
    return schema


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await conn.close()


def _run_processes(
    url: str, content_dir: Path, queries: list[str], messages: int, count: int, kept: str
) -> SharedTiming:
    from .bench_load import percentile

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    results = context.Queue()
    start = context.Event()
    workers = [
        context.Process(
            target=_worker,
            args=(url, str(content_dir), kept, queries, messages, index, ready, start, results),
            daemon=True,
        )
        for index in range(count)
    ]
    for worker in workers:
        worker.start()
    try:
        for _ in workers:
            _next(ready, workers)
        start.set()
        outcomes: list[tuple[int, float, float, list[float]]] = [_next(results, workers) for _ in workers]
    finally:
        for worker in workers:
            worker.join(timeout=10)
            if worker.is_alive():
                worker.kill()
    handled = sum(outcome[0] for outcome in outcomes)
    elapsed = max(outcome[2] for outcome in outcomes) - min(outcome[1] for outcome in outcomes)
    samples = [sample for outcome in outcomes for sample in outcome[3]]
    return SharedTiming(
        processes=count,
        messages=handled,
        per_second=handled / elapsed if elapsed > 0 else float("inf"),
        p50_ms=percentile(samples, 0.5) * 1000,
        p99_ms=percentile(samples, 0.99) * 1000,
    )


def _next(queue: Any, workers: Sequence[Any]) -> Any:
    """The next item a worker puts on `queue`; RuntimeError when a worker died instead, or after START_TIMEOUT."""
    import queue as queues

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            return queue.get(timeout=0.5)
        except queues.Empty:
            dead = [worker.exitcode for worker in workers if not worker.is_alive() and worker.exitcode]
            if dead:
                raise RuntimeError(f"a benchmark process exited with code {dead[0]}") from None
    raise RuntimeError(f"no word from the benchmark processes within {START_TIMEOUT:.0f} s")


def _worker(
    url: str,
    content_dir: str,
    kept: str,
    queries: list[str],
    messages: int,
    index: int,
    ready: Any,
    start: Event,
    results: Any,
) -> None:
    """One bot process: its own pool, store and dialog; reports (messages, start, end, latencies)."""
    results.put(asyncio.run(_work(url, Path(content_dir), Path(kept), queries, messages, index, ready, start)))


async def _work(
    url: str, content_dir: Path, kept: Path, queries: list[str], messages: int, index: int, ready: Any, start: Event
) -> tuple[int, float, float, list[float]]:
    from .bench_load import CONCURRENT_USERS, SEED, _conversation, _quiet
    from .dialog import Dialog
    from .knowledge import KnowledgeSource
    from .models import Incoming
    from .store_pg import PostgresStore

    with _quiet("bot.knowledge"):
        knowledge = await asyncio.to_thread(KnowledgeSource, content_dir, cache_dir=kept)
    store = await PostgresStore.open(url)
    try:
        dialog = Dialog(knowledge, store)

        def own(items: list[Incoming]) -> list[Incoming]:
            # Each process has its own people, as a load balancer spreads them.
            return [dataclasses.replace(item, user=f"{index:x}{item.user[1:]}") for item in items]

        for incoming in own(_conversation(knowledge.current, queries, 50, SEED + 1)):
            await dialog.handle(incoming)  # warm-up: pool, caches
        lanes: list[list[Incoming]] = [[] for _ in range(CONCURRENT_USERS)]
        for incoming in own(_conversation(knowledge.current, queries, messages, SEED + 3 + index)):
            lanes[int(incoming.user, 16) % CONCURRENT_USERS].append(incoming)
        samples: list[float] = []

        async def lane(items: list[Incoming]) -> None:
            for incoming in items:
                began = time.perf_counter()
                await dialog.handle(incoming)
                samples.append(time.perf_counter() - began)

        ready.put(index)
        await asyncio.to_thread(start.wait, START_TIMEOUT)
        began = time.perf_counter()  # CLOCK_MONOTONIC: comparable between processes on Linux
        await asyncio.gather(*(lane(items) for items in lanes))
        ended = time.perf_counter()
    finally:
        await store.close()
    return messages, began, ended, samples
