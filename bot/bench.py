"""Benchmarks for `anxin bench` (`make bench`): matching latency, a difflib baseline, end-to-end throughput,
start-up time and peak memory, each printed with its target.

    safety check        KnowledgeBase.assess (the self-harm check every message passes first) on the bundled queries
    match latency       Matcher.match on the bundled knowledge base and on a synthetic one about 10× larger,
                        generated deterministically by recombining the real examples
    difflib baseline    for each query, SequenceMatcher.ratio() against every normalised example, best kept;
                        measured on the same queries in the same run, reported as a speed-up ratio
    end to end          Dialog.handle with the real store (`runner.open_store`) in a temp data dir
    end to end, shared  the same on PostgreSQL with one and two real bot processes (`bot.bench_pg`)
    start-up, RSS       a `python -m bot chat` child: exec to first reply, and its peak resident memory
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import difflib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from .bench_load import (
    CONCURRENT_USERS,
    SEED,
    _conversation,
    _quiet,
    bundled_queries,
    difflib_best,
    measure_startup,
    percentile,
)
from .bench_pg import SharedTiming, measure_postgres
from .bench_scale import SIZES, Accuracy, ScaleTiming, measure_scaling, tfidf_accuracy
from .bench_web import CONCURRENCY, WebTiming, measure_webhooks
from .dialog import Dialog
from .knowledge import CACHE_DIR, KnowledgeSource, load_knowledge
from .matcher import Matcher
from .models import Incoming
from .settings import Secret, Settings
from .text import normalise


@dataclass(frozen=True)
class Figure:
    """One measured number; `target` is None for figures shown for context only."""

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = False

    @property
    def passed(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "unit": self.unit,
            "target": self.target,
            "comparison": ">=" if self.higher_is_better else "<=",
            "passed": self.passed,
        }


# --- Synthetic knowledge base -------------------------------------------------------------------------


# --- Matching -----------------------------------------------------------------------------------------


def _timed(function: Callable[[str], object], queries: Sequence[str], rounds: int) -> list[float]:
    samples: list[float] = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            function(query)
            samples.append(time.perf_counter() - start)
    return samples


def difflib_best_naive(query: str, examples: Sequence[str]) -> float:
    """The baseline as it is usually written: a new SequenceMatcher for every pair."""
    text = normalise(query)
    return max((difflib.SequenceMatcher(None, text, example).ratio() for example in examples), default=0.0)


@dataclass(frozen=True)
class MatchTiming:
    intents: int
    examples: int
    p50_ms: float
    p99_ms: float
    difflib_p50_ms: float
    speedup: float  # difflib median / matcher median on the same queries
    naive_difflib_p50_ms: float
    naive_speedup: float


def measure_matching(matcher: Matcher, queries: Sequence[str], *, rounds: int, baseline_queries: int) -> MatchTiming:
    queries = list(queries)
    _timed(matcher.match, queries[:50], 1)  # warm caches (OpenCC, rapidfuzz) before measuring
    samples = _timed(matcher.match, queries, rounds)
    subset = queries[: max(1, baseline_queries)]
    examples = matcher.example_text
    baseline = _timed(lambda query: difflib_best(query, examples), subset, 1)
    naive = _timed(lambda query: difflib_best_naive(query, examples), subset, 1)
    ours = _timed(matcher.match, subset, 3)
    ours_median = statistics.median(ours)
    naive_median = statistics.median(naive)
    return MatchTiming(
        intents=len(matcher.intents),
        examples=len(examples),
        p50_ms=percentile(samples, 0.5) * 1000,
        p99_ms=percentile(samples, 0.99) * 1000,
        difflib_p50_ms=statistics.median(baseline) * 1000,
        speedup=statistics.median(baseline) / ours_median if ours_median > 0 else float("inf"),
        naive_difflib_p50_ms=naive_median * 1000,
        naive_speedup=naive_median / ours_median if ours_median > 0 else float("inf"),
    )


# --- End to end ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DialogTiming:
    messages: int
    per_second: float  # one message at a time
    concurrent_per_second: float  # CONCURRENT_USERS conversations in flight, each in order
    p50_ms: float
    p99_ms: float
    store: str
    cores: int  # CPUs the process was allowed to use while measuring


@contextlib.contextmanager
def _one_core() -> Iterator[int]:
    """Pin this thread, and the threads it starts (aiosqlite's, asyncio's), to one CPU where Linux allows."""
    if not hasattr(os, "sched_setaffinity"):
        yield os.cpu_count() or 1
        return
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})
    try:
        yield 1
    finally:
        os.sched_setaffinity(0, allowed)


async def measure_dialog(settings: Settings, queries: Sequence[str], *, messages: int) -> DialogTiming:
    from .runner import open_store

    with _quiet("bot.knowledge"):
        knowledge = await asyncio.to_thread(KnowledgeSource, settings.content_dir)
    with _one_core() as cores:
        store = await open_store(settings)  # after pinning, so its thread inherits the single CPU
        try:
            dialog = Dialog(knowledge, store, keep_unanswered=settings.keep_unanswered)
            for incoming in _conversation(knowledge.current, queries, 50, SEED + 1):
                await dialog.handle(incoming)  # warm-up: schema, caches
            script = _conversation(knowledge.current, queries, messages, SEED)
            samples: list[float] = []
            began = time.perf_counter()
            for incoming in script:
                start = time.perf_counter()
                await dialog.handle(incoming)
                samples.append(time.perf_counter() - start)
            elapsed = time.perf_counter() - began

            # As a channel runs: many conversations at once, each one's messages in order.
            lanes: list[list[Incoming]] = [[] for _ in range(CONCURRENT_USERS)]
            for incoming in _conversation(knowledge.current, queries, messages, SEED + 2):
                lanes[int(incoming.user, 16) % CONCURRENT_USERS].append(incoming)

            async def lane(items: list[Incoming]) -> None:
                for incoming in items:
                    await dialog.handle(incoming)

            began = time.perf_counter()
            await asyncio.gather(*(lane(items) for items in lanes))
            concurrent_elapsed = time.perf_counter() - began
        finally:
            await store.close()
    return DialogTiming(
        messages=messages,
        per_second=messages / elapsed if elapsed > 0 else float("inf"),
        concurrent_per_second=messages / concurrent_elapsed if concurrent_elapsed > 0 else float("inf"),
        p50_ms=percentile(samples, 0.5) * 1000,
        p99_ms=percentile(samples, 0.99) * 1000,
        store=type(store).__name__,
        cores=cores,
    )


# --- Start-up and memory ------------------------------------------------------------------------------


# --- Putting it together ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSize:
    """How much work each part does; `quick()` is for tests, the default for `make bench`."""

    rounds: int = 5
    baseline_queries: int = 40
    messages: int = 3000
    startup_runs: int = 3
    scale_sizes: tuple[int, ...] = SIZES  # knowledge-base sizes, in examples (`bot.bench_scale`)
    scale_startup_sizes: tuple[int, ...] = (3_000, 10_000, 30_000)  # 100k: the build alone is measured
    scale_queries: int = 400
    scale_baseline: int = 8
    web_seconds: float = 3.0  # per path and concurrency (`bot.bench_web`)
    web_concurrency: tuple[int, ...] = CONCURRENCY

    @classmethod
    def quick(cls) -> BenchSize:
        return cls(
            rounds=1,
            baseline_queries=3,
            messages=50,
            startup_runs=1,
            scale_sizes=(200,),
            scale_startup_sizes=(),
            scale_queries=20,
            scale_baseline=2,
            web_seconds=0.3,
            web_concurrency=(1, 4),
        )


def run_bench(settings: Settings, size: BenchSize | None = None) -> tuple[list[Figure], dict[str, object]]:
    """Every figure with its target, and the details behind them (for --json)."""
    size = size or BenchSize()
    # The kept nets and matcher arrays of the bot's own data folder, as a running bot reads them (trained and kept
    # there by the first run); the webhook child starts from a copy of them.
    kept = settings.data_dir / CACHE_DIR
    with _quiet("bot.knowledge"):
        kb = load_knowledge(settings.content_dir, cache_dir=kept).knowledge
    queries = bundled_queries(kb)
    bundled = measure_matching(kb.matcher, queries, rounds=size.rounds, baseline_queries=size.baseline_queries)
    # A safety pattern is compiled the first time a message needs it (`bot.patterns.LazyPattern`): the first pass
    # over the queries pays that once, as a bot's first few hundred messages do, and is shown on its own; the
    # target is for every message after it.
    first_safety = sorted(_timed(kb.assess, queries, 1))
    safety = sorted(_timed(kb.assess, queries, size.rounds))

    scaling = measure_scaling(
        settings.content_dir,
        size.scale_sizes,
        queries=size.scale_queries,
        baseline_queries=size.scale_baseline,
        startup_sizes=size.scale_startup_sizes,
    )
    accuracy = tfidf_accuracy(kb, settings.content_dir)

    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as data:
        bench_settings = dataclasses.replace(settings, data_dir=Path(data), secret=Secret("bench"))
        dialog = asyncio.run(measure_dialog(bench_settings, queries, messages=size.messages))
    web = asyncio.run(
        measure_webhooks(
            settings.content_dir, queries, seconds=size.web_seconds, concurrency=size.web_concurrency, kept=kept
        )
    )
    shared, shared_missing = measure_postgres(settings, queries, messages=size.messages)
    startup = measure_startup(settings.content_dir, runs=size.startup_runs)

    bundled_label = f"bundled, {bundled.intents} intents / {bundled.examples} examples"
    figures = [
        Figure(f"match p50 ({bundled_label})", bundled.p50_ms, "ms"),
        Figure(f"match p99 ({bundled_label})", bundled.p99_ms, "ms", 2.0),
        Figure("safety check p50 (every message, before matching)", statistics.median(safety) * 1000, "ms"),
        Figure("safety check p99 (every message, before matching)", percentile(safety, 0.99) * 1000, "ms", 2.0),
        Figure("safety check p99, first pass (compiling)", percentile(first_safety, 0.99) * 1000, "ms"),
        Figure("speed-up over difflib (bundled)", bundled.speedup, "×", 150.0, higher_is_better=True),
        Figure("speed-up over naive difflib, new matcher per pair (bundled)", bundled.naive_speedup, "×"),
        *scaling_figures(scaling),
        *accuracy_figures(accuracy),
        Figure(
            f"end to end, one message at a time ({dialog.store}, {dialog.cores} core)",
            dialog.per_second,
            "msg/s",
            2500.0,
            higher_is_better=True,
        ),
        Figure(f"end-to-end p99, one at a time ({dialog.store})", dialog.p99_ms, "ms"),
        Figure(f"end to end, {CONCURRENT_USERS} users at once", dialog.concurrent_per_second, "msg/s"),
        *_postgres_figures(shared, dialog),
        *webhook_figures(web),
        Figure("start-up to first answer (bundled)", startup.seconds, "s", 0.8),
        Figure("first start-up, empty data folder (bundled)", startup.first_seconds, "s", None),
        Figure("peak RSS (chat process, bundled)", startup.peak_rss_mb, "MB", 150.0),
        Figure("peak RSS (chat process, first start, empty data folder, bundled)", startup.first_peak_rss_mb, "MB"),
    ]
    if startup.training_peak_mb > 0:  # content without safety/examples.yaml has no net to train
        training = "peak RSS (largest safety-net training process, first start, bundled)"
        figures.append(Figure(training, startup.training_peak_mb, "MB", 150.0))
    details: dict[str, object] = {
        "bundled": dataclasses.asdict(bundled),
        "safety_p50_ms": statistics.median(safety) * 1000,
        "scaling": [dataclasses.asdict(timing) for timing in scaling],
        "accuracy": dataclasses.asdict(accuracy) if accuracy is not None else None,
        "dialog": dataclasses.asdict(dialog),
        "startup": dataclasses.asdict(startup),
        "webhooks": [dataclasses.asdict(timing) for timing in web],
        "postgres": [dataclasses.asdict(timing) for timing in shared],
        "postgres_missing": shared_missing,
        "size": dataclasses.asdict(size),
        "python": sys.version.split()[0],
    }
    return figures, details


def scaling_figures(scaling: Sequence[ScaleTiming]) -> list[Figure]:
    """The knowledge-base scaling table: each size's matcher, its anchors and its start-up (`bot.bench_scale`)."""
    figures: list[Figure] = []
    for timing in scaling:
        label = f"synthetic, {timing.examples:,} examples"
        figures += [
            Figure(f"match p50 ({label})", timing.match_p50_ms, "ms"),
            Figure(f"match p99 ({label})", timing.match_p99_ms, "ms", 2.0),
            Figure(f"TF-IDF p50, same queries ({label})", timing.tfidf_p50_ms, "ms"),
            Figure(f"speed-up over difflib ({label})", timing.speedup, "×", 150.0, higher_is_better=True),
            Figure(f"matcher build ({label})", timing.build_s, "s", 10.0),
            Figure(f"peak RSS, matcher process ({label})", timing.peak_rss_mb, "MB"),
            Figure(f"reload peak ÷ RSS before it ({label})", timing.reload_ratio, "×", 2.0),
        ]
        if timing.startup_s > 0:
            small = timing.examples <= 30_000
            figures += [
                Figure(f"start-up to first answer (bundled + {label})", timing.startup_s, "s", 2.0 if small else None),
                Figure(
                    f"peak RSS (chat process, bundled + {label})",
                    timing.startup_rss_mb,
                    "MB",
                    300.0 if small else None,
                ),
                Figure(f"peak RSS (chat process, first start, bundled + {label})", timing.first_startup_rss_mb, "MB"),
            ]
            if timing.training_peak_mb > 0:
                figures.append(
                    Figure(
                        f"peak RSS (largest safety-net training process, first start, bundled + {label})",
                        timing.training_peak_mb,
                        "MB",
                        300.0 if small else None,
                    )
                )
    return figures


# Targets at 64 requests in flight, the bot on one core: (msg/s at least, p99 ms at most).
WEBHOOK_TARGETS = {"telegram": (600.0, 150.0), "wechat": (1200.0, 80.0)}


def webhook_figures(timings: Sequence[WebTiming]) -> list[Figure]:
    """Each webhook path at each concurrency, and its ratio to /healthz measured just before it (`bot.bench_web`)."""
    anchor = {timing.concurrency: timing for timing in timings if timing.path == "healthz"}
    figures: list[Figure] = []
    for timing in timings:
        label = f"{timing.concurrency} in flight, bot on 1 core"
        if timing.path == "healthz":
            figures.append(Figure(f"anchor: /healthz ({label})", timing.per_second, "req/s"))
            continue
        rate, p99 = WEBHOOK_TARGETS.get(timing.path, (None, None)) if timing.concurrency == 64 else (None, None)
        figures += [
            Figure(f"{timing.path} webhook ({label})", timing.per_second, "msg/s", rate, higher_is_better=True),
            Figure(f"{timing.path} webhook p50 ({label})", timing.p50_ms, "ms"),
            Figure(f"{timing.path} webhook p99 ({label})", timing.p99_ms, "ms", p99),
        ]
        base = anchor.get(timing.concurrency)
        if base is not None and base.per_second > 0:
            figures.append(
                Figure(f"{timing.path} webhook ÷ /healthz ({label})", timing.per_second / base.per_second, "×")
            )
        if timing.failed:
            figures.append(
                Figure(f"{timing.path} webhook: requests without an answer ({label})", timing.failed, "answers")
            )
    return figures


def accuracy_figures(accuracy: Accuracy | None) -> list[Figure]:
    """Anxin beside the TF-IDF anchor on eval/holdout.yaml: speed is never bought with accuracy."""
    if accuracy is None:
        return []
    return [
        Figure("accuracy on eval/holdout.yaml (Anxin)", 100 * accuracy.anxin, "%"),
        Figure("wrong answers on eval/holdout.yaml (Anxin)", accuracy.anxin_wrong_answers, "answers"),
        Figure("accuracy on eval/holdout.yaml (TF-IDF anchor)", 100 * accuracy.tfidf, "%"),
        Figure("wrong answers on eval/holdout.yaml (TF-IDF anchor)", accuracy.tfidf_wrong_answers, "answers"),
    ]


def _postgres_figures(shared: Sequence[SharedTiming], sqlite: DialogTiming) -> list[Figure]:
    """End to end on PostgreSQL with one and two processes, and how they compare (see `bot.bench_pg`)."""
    by_count = {timing.processes: timing for timing in shared}
    one, two = by_count.get(1), by_count.get(2)
    figures: list[Figure] = []
    if one is not None:
        figures += [
            Figure(
                f"end to end, PostgreSQL, 1 process, {CONCURRENT_USERS} users at once",
                one.per_second,
                "msg/s",
                1000.0,
                higher_is_better=True,
            ),
            Figure("end-to-end p99 per message, PostgreSQL, 1 process", one.p99_ms, "ms"),
            Figure(
                f"PostgreSQL 1 process ÷ SQLite, {CONCURRENT_USERS} users at once",
                one.per_second / sqlite.concurrent_per_second,
                "×",
            ),
        ]
    if two is not None:
        figures += [
            Figure(f"end to end, PostgreSQL, 2 processes, {CONCURRENT_USERS} users each", two.per_second, "msg/s"),
            Figure("end-to-end p99 per message, PostgreSQL, 2 processes", two.p99_ms, "ms"),
        ]
    if one is not None and two is not None:
        ratio = two.per_second / one.per_second
        figures.append(Figure("PostgreSQL 2 processes ÷ 1 process", ratio, "×", 1.6, higher_is_better=True))
    return figures


def render_table(figures: Sequence[Figure]) -> str:
    width = max(len(figure.name) for figure in figures)
    lines = [f"{'figure':<{width}}  {'value':>14}  {'target':>15}  result"]
    for figure in figures:
        value = f"{figure.value:,.2f} {figure.unit}"
        if figure.target is None:
            target, result = "", ""
        else:
            sign = "≥" if figure.higher_is_better else "≤"
            target = f"{sign} {figure.target:,g} {figure.unit}"
            result = "PASS" if figure.passed else "MISS"
        lines.append(f"{figure.name:<{width}}  {value:>14}  {target:>15}  {result}")
    return "\n".join(lines)
