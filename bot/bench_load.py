"""What the benchmarks feed the bot and how they read the clock: shared by `bot.bench` and `bot.bench_pg`."""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Iterator, Sequence

from .knowledge import KnowledgeBase
from .models import Incoming

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
