"""What the benchmarks feed the bot and how they read the clock: shared by `bot.bench`, `bot.bench_pg`,
`bot.bench_scale` and `bot.bench_web` (so that none of them imports another: `bot.bench` imports them all)."""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from .kept import read_arrays
from .knowledge import Intent, KnowledgeBase
from .models import Incoming
from .safety import peak_rss_mb
from .settings import PACKAGE_ROOT
from .text import has_cjk, normalise

SEED = 20261129


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least `fraction` of samples at or below it."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


@contextlib.contextmanager
def _quiet(logger: str) -> Iterator[None]:
    """Content problems are `lint`'s business; the benchmark only needs the valid part."""
    target = logging.getLogger(logger)
    level = target.level
    target.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        target.setLevel(level)


CONCURRENT_USERS = 16


def _conversation(kb: KnowledgeBase, queries: Sequence[str], count: int, seed: int) -> list[Incoming]:
    """Users asking questions, pressing follow-up buttons and picking numbered options."""
    rng = random.Random(seed)
    users = [f"{number:064x}" for number in range(1, 51)]
    intents = list(kb.intents) or ["meta.greeting"]
    messages: list[Incoming] = []
    for _ in range(count):
        user = rng.choice(users)
        roll = rng.random()
        if roll < 0.7:
            messages.append(Incoming("bench", user, rng.choice(queries)))
        elif roll < 0.85:
            messages.append(Incoming("bench", user, button=f"a:{rng.choice(intents)}"))
        elif roll < 0.95:
            messages.append(Incoming("bench", user, str(rng.randint(1, 3))))
        else:
            messages.append(Incoming("bench", user, "/start"))
    return messages


# --- Shared with `bot.bench_scale` (which `bot.bench` imports) ------------------------------------------------

STARTUP_QUESTION = "催收打电话给我妈妈合法吗"


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


def difflib_best(query: str, examples: Sequence[str]) -> float:
    """The baseline: the best SequenceMatcher ratio of the normalised query against every example."""
    matcher = difflib.SequenceMatcher(autojunk=False)
    matcher.set_seq2(normalise(query))  # seq2 is the side SequenceMatcher caches; reuse it
    best = 0.0
    for example in examples:
        matcher.set_seq1(example)
        best = max(best, matcher.ratio())
    return best


@dataclass(frozen=True)
class StartupTiming:
    seconds: float  # median over runs, exec to first reply line, with the trained safety net kept from before
    peak_rss_mb: float  # the largest peak resident set of those starts (every start after the first)
    first_seconds: float = 0.0  # the very first start on an empty data folder (the safety net is trained)
    # that first start's own peak: it reads and parses every file, and makes the nets' examples, once per data folder
    first_peak_rss_mb: float = 0.0
    # The first start trains the safety net in a process of its own (`bot.net_training`): its peak, which it keeps
    # beside the weights; 0 when there is none to read (the net was kept already, or it is not Linux).
    training_peak_mb: float = 0.0


def _rss_mb(max_rss: int) -> float:
    # ru_maxrss is in kilobytes on Linux and in bytes on macOS.
    return max_rss / (1024 * 1024) if sys.platform == "darwin" else max_rss / 1024


def measure_startup(content_dir: Path, *, runs: int) -> StartupTiming:
    """A first start on an empty data folder, then `runs` starts that find what the first one kept there
    (the safety net's weights), as every start of a deployed bot after its first does. The peak RSS is the largest of
    those later starts; the first start's own peak (it parses every file and makes the nets' examples, once per data
    folder) is kept beside it, as its time is.

    The children may write bytecode (`__pycache__`, ignored by git) even where PYTHONDONTWRITEBYTECODE is set
    for this process: an installed bot has it from its installation or its first start, and compiling every
    module from source again took about 0.05 s of each later start."""
    times: list[float] = []
    peaks: list[float] = []
    training = 0.0
    with tempfile.TemporaryDirectory(prefix="anxin-bench-") as data:
        for _ in range(runs + 1):
            env = {
                **os.environ,
                "BOT_CONTENT_DIR": str(content_dir),
                "BOT_DATA_DIR": data,
                "BOT_SECRET": "bench-pseudonym-key",
                "BOT_WATCH": "0",
                "PYTHONIOENCODING": "utf-8",
            }
            env.pop("PYTHONDONTWRITEBYTECODE", None)
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
            # ru_maxrss only where /proc is missing: it also counts the moment between fork and exec, when the
            # child still carries this (large) process's pages
            high_water = peak_rss_mb(child.pid)
            child.stdin.close()
            child.stdout.read()
            child.stdout.close()
            # wait4 gives this child's own resource usage, not the sum over all children.
            _, status, usage = os.wait4(child.pid, 0)
            child.returncode = os.waitstatus_to_exitcode(status)
            if not first or child.returncode != 0:
                raise RuntimeError(f"`python -m bot chat` did not answer (exit code {child.returncode})")
            times.append(elapsed)
            peaks.append(high_water if high_water is not None else _rss_mb(usage.ru_maxrss))
            if len(times) == 1:
                training = _training_peak_mb(Path(data))
    return StartupTiming(statistics.median(times[1:]), max(peaks[1:]), times[0], peaks[0], training)


def _training_peak_mb(data: Path) -> float:
    """The largest peak of the safety nets' training processes (one per net, run at the same time)."""
    peaks = [0.0]
    for kept in (data / "cache").glob("safety-*.npz"):
        with contextlib.suppress(Exception):  # not a net's weights, an older file without the figure, or damaged
            peaks.append(float(read_arrays(kept)["training_peak_mb"]))
    return max(peaks)


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
