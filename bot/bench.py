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
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .bench_load import CONCURRENT_USERS, SEED, _conversation, _quiet, percentile
from .bench_pg import SharedTiming, measure_postgres
from .dialog import Dialog
from .knowledge import Intent, KnowledgeBase, KnowledgeSource, load_knowledge
from .matcher import Matcher
from .models import Incoming
from .settings import PACKAGE_ROOT, Secret, Settings
from .text import has_cjk, normalise

STARTUP_QUESTION = "催收打电话给我妈妈合法吗"


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


def _pieces(text: str, rng: random.Random) -> list[str]:
    """A phrase cut into recombinable parts: 2-4 characters for Chinese, words for English."""
    if has_cjk(text):
        parts: list[str] = []
        index = 0
        while index < len(text):
            size = rng.randint(2, 4)
            parts.append(text[index : index + size])
            index += size
        return parts
    return text.split()


def synthetic_intents(
    intents: Sequence[Intent], *, count: int = 500, examples_per_intent: int = 20, seed: int = SEED
) -> tuple[list[Intent], list[str]]:
    """`count` intents with `examples_per_intent` examples each, recombined from `intents`; plus queries.

    Each synthetic intent copies one real intent's pieces and adds a "topic" piece of its own taken from
    another intent, so copies of the same intent differ the way neighbouring real intents do. Two extra
    phrasings per intent are held out as queries.
    """
    rng = random.Random(seed)
    sources = [intent for intent in intents if intent.examples] or [
        Intent("meta.bench", MappingProxyType({}), ("催收打电话给我家人", "collectors call my family"))
    ]
    pool = [piece for intent in sources for example in intent.examples for piece in _pieces(example, rng)]
    seen: set[str] = set()
    made: list[Intent] = []
    queries: list[str] = []
    for number in range(count):
        base = sources[number % len(sources)]
        topic = rng.choice(pool)
        phrasings: list[str] = []
        for _ in range((examples_per_intent + 2) * 20):  # bounded retries for duplicates
            if len(phrasings) == examples_per_intent + 2:
                break
            first, second = rng.choice(base.examples), rng.choice(base.examples)
            head, tail = _pieces(first, rng), _pieces(second, rng)
            cut_head, cut_tail = rng.randint(1, max(1, len(head))), rng.randint(0, max(0, len(tail) - 1))
            parts = head[:cut_head] + tail[cut_tail:]
            parts.insert(rng.randint(0, len(parts)), topic)
            joiner = "" if has_cjk(first) else " "
            phrase = joiner.join(parts)
            key = normalise(phrase)
            if not key or key in seen:
                continue
            seen.add(key)
            phrasings.append(phrase)
        group, _, name = base.id.partition(".")
        made.append(
            Intent(
                id=f"{group}.{name}_{number}",
                titles=MappingProxyType({}),
                examples=tuple(phrasings[:examples_per_intent]),
                keywords=base.keywords,
            )
        )
        queries.extend(phrasings[examples_per_intent:])
    rng.shuffle(queries)
    return made, queries


def bundled_queries(kb: KnowledgeBase, *, seed: int = SEED) -> list[str]:
    """Held-out tests, examples with a typo (a dropped or doubled character) and out-of-scope phrases."""
    rng = random.Random(seed)
    queries = [test for intent in kb.intents.values() for test in intent.tests]
    for intent in kb.intents.values():
        for example in intent.examples[:3]:
            index = rng.randrange(len(example))
            queries.append(example[:index] + example[index + 1 :] if rng.random() < 0.5 else example + example[-1])
    queries.extend(["今天天气怎么样", "帮我写一首诗", "what's the best phone to buy", "股票怎么买"])
    return queries or ["催收打电话给我家人"]


# --- Matching -----------------------------------------------------------------------------------------


def _timed(function: Callable[[str], object], queries: Sequence[str], rounds: int) -> list[float]:
    samples: list[float] = []
    for _ in range(rounds):
        for query in queries:
            start = time.perf_counter()
            function(query)
            samples.append(time.perf_counter() - start)
    return samples


def difflib_best(query: str, examples: Sequence[str]) -> float:
    """The baseline: the best SequenceMatcher ratio of the normalised query against every example."""
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(normalise(query))  # seq2 is the side SequenceMatcher caches; reuse it
    best = 0.0
    for example in examples:
        matcher.set_seq1(example)
        best = max(best, matcher.ratio())
    return best


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


@dataclass(frozen=True)
class StartupTiming:
    seconds: float  # median over runs, exec to first reply line
    peak_rss_mb: float  # the largest child's peak resident set


def _rss_mb(max_rss: int) -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return max_rss / (1024 * 1024) if sys.platform == "darwin" else max_rss / 1024


def _peak_rss_mb(pid: int) -> float | None:
    """The child's high-water mark since exec (Linux). ru_maxrss is not used where this exists: it also
    counts the moment between fork and exec, when the child still carries this (large) process's pages."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def measure_startup(content_dir: Path, *, runs: int) -> StartupTiming:
    times: list[float] = []
    peak = 0.0
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="anxin-bench-") as data:
            env = {
                **os.environ,
                "BOT_CONTENT_DIR": str(content_dir),
                "BOT_DATA_DIR": data,
                "BOT_SECRET": "bench-pseudonym-key",
                "BOT_WATCH": "0",
                "PYTHONIOENCODING": "utf-8",
            }
            start = time.perf_counter()
            child = subprocess.Popen(
                [sys.executable, "-m", "bot", "chat"],
                cwd=PACKAGE_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            assert child.stdin is not None and child.stdout is not None
            child.stdin.write((STARTUP_QUESTION + "\n").encode())
            child.stdin.flush()
            first = child.stdout.readline()
            elapsed = time.perf_counter() - start
            child.stdout.readline()  # the rest of the answer has been written by now, or is being
            high_water = _peak_rss_mb(child.pid)
            child.stdin.close()
            child.stdout.read()
            child.stdout.close()
            # wait4 gives this child's own resource usage, not the sum over all children.
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            if not first or child.returncode != 0:
                raise RuntimeError(f"`python -m bot chat` did not answer (exit code {child.returncode})")
            times.append(elapsed)
            peak = max(peak, high_water if high_water is not None else _rss_mb(usage.ru_maxrss))
    return StartupTiming(statistics.median(times), peak)


# --- Putting it together ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSize:
    """How much work each part does; `quick()` is for tests, the default for `make bench`."""

    rounds: int = 5
    baseline_queries: int = 40
    synthetic_intents: int = 500
    synthetic_examples: int = 20
    messages: int = 3000
    startup_runs: int = 3

    @classmethod
    def quick(cls) -> BenchSize:
        return cls(
            rounds=1, baseline_queries=3, synthetic_intents=20, synthetic_examples=5, messages=50, startup_runs=1
        )


def run_bench(settings: Settings, size: BenchSize | None = None) -> tuple[list[Figure], dict[str, object]]:
    """Every figure with its target, and the details behind them (for --json)."""
    size = size or BenchSize()
    with _quiet("bot.knowledge"):
        kb = load_knowledge(settings.content_dir).knowledge
    queries = bundled_queries(kb)
    bundled = measure_matching(kb.matcher, queries, rounds=size.rounds, baseline_queries=size.baseline_queries)
    safety = sorted(_timed(kb.assess, queries, size.rounds))

    made, synthetic_queries = synthetic_intents(
        list(kb.intents.values()), count=size.synthetic_intents, examples_per_intent=size.synthetic_examples
    )
    large_matcher = Matcher.build(made)
    large = measure_matching(
        large_matcher,
        synthetic_queries,
        rounds=max(1, size.rounds // 2),
        baseline_queries=max(1, size.baseline_queries // 3),
    )

    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as data:
        bench_settings = dataclasses.replace(settings, data_dir=Path(data), secret=Secret("bench"))
        dialog = asyncio.run(measure_dialog(bench_settings, queries, messages=size.messages))
    shared, shared_missing = measure_postgres(settings, queries, messages=size.messages)
    startup = measure_startup(settings.content_dir, runs=size.startup_runs)

    bundled_label = f"bundled, {bundled.intents} intents / {bundled.examples} examples"
    large_label = f"synthetic, {large.intents} intents / {large.examples} examples"
    figures = [
        Figure(f"match p50 ({bundled_label})", bundled.p50_ms, "ms"),
        Figure(f"match p99 ({bundled_label})", bundled.p99_ms, "ms", 2.0),
        Figure("safety check p50 (every message, before matching)", statistics.median(safety) * 1000, "ms"),
        Figure("safety check p99 (every message, before matching)", percentile(safety, 0.99) * 1000, "ms", 2.0),
        Figure("speed-up over difflib (bundled)", bundled.speedup, "×", 100.0, higher_is_better=True),
        Figure("speed-up over naive difflib, new matcher per pair (bundled)", bundled.naive_speedup, "×"),
        Figure(f"match p50 ({large_label})", large.p50_ms, "ms"),
        Figure(f"match p99 ({large_label})", large.p99_ms, "ms", 10.0),
        Figure("speed-up over difflib (synthetic)", large.speedup, "×", 100.0, higher_is_better=True),
        Figure("speed-up over naive difflib, new matcher per pair (synthetic)", large.naive_speedup, "×"),
        Figure(
            f"end to end, one message at a time ({dialog.store}, {dialog.cores} core)",
            dialog.per_second,
            "msg/s",
            1000.0,
            higher_is_better=True,
        ),
        Figure(f"end-to-end p99, one at a time ({dialog.store})", dialog.p99_ms, "ms"),
        Figure(f"end to end, {CONCURRENT_USERS} users at once", dialog.concurrent_per_second, "msg/s"),
        *_postgres_figures(shared, dialog),
        Figure("start-up to first answer", startup.seconds, "s", 2.0),
        Figure("peak RSS (chat process)", startup.peak_rss_mb, "MB", 200.0),
    ]
    details: dict[str, object] = {
        "bundled": dataclasses.asdict(bundled),
        "safety_p50_ms": statistics.median(safety) * 1000,
        "synthetic": dataclasses.asdict(large),
        "dialog": dataclasses.asdict(dialog),
        "startup": dataclasses.asdict(startup),
        "postgres": [dataclasses.asdict(timing) for timing in shared],
        "postgres_missing": shared_missing,
        "size": dataclasses.asdict(size),
        "python": sys.version.split()[0],
    }
    return figures, details


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
