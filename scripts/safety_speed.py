"""How long the safety check (`SafetyRules.assess`) takes per message, on realistic texts and one long message.

Usage: .venv/bin/python scripts/safety_speed.py [--rounds 5] [--repo PATH] [--plain] [--cpu]

Times `assess` on every message of the realistic tuning sets (eval/realistic-dev*.yaml) and on one message of
10,000 characters made of those messages end to end, and prints p50, p99 and the mean per message. `--repo`
measures another checkout's code and content (for a before/after on one machine, run both back to back);
`--plain` runs every pattern without the literal prefilter (`SafetyRules.plain`), the check as it was before it.
`--cpu` counts this thread's CPU time instead of the wall clock: on a machine busy with other work, the time the
process waits for a core would otherwise swell the tail.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
LONG_CHARS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose code and content to measure")
    parser.add_argument("--plain", action="store_true", help="without the literal prefilter")
    parser.add_argument("--cpu", action="store_true", help="this thread's CPU time, not the wall clock")
    args = parser.parse_args()
    clock = time.thread_time if args.cpu else time.perf_counter
    repo = args.repo.resolve()
    sys.path.insert(0, str(repo))
    knowledge = importlib.import_module("bot.knowledge")
    with tempfile.TemporaryDirectory(prefix="safety-speed-") as cache:
        rules = knowledge.load_knowledge(repo, cache_dir=Path(cache)).knowledge.safety
    if args.plain:
        rules = rules.plain()
    texts = [
        str(item["text"])
        for path in sorted(repo.glob("eval/realistic-dev*.yaml"))
        for item in yaml.safe_load(path.read_text(encoding="utf-8"))
    ]
    long_text = "".join(texts)[:LONG_CHARS]
    for text in texts:  # warm up: compiled patterns, caches
        rules.assess(text)
    samples: list[float] = []
    for _ in range(args.rounds):
        for text in texts:
            start = clock()
            rules.assess(text)
            samples.append(clock() - start)
    long_samples: list[float] = []
    for _ in range(max(3, args.rounds)):
        start = clock()
        rules.assess(long_text)
        long_samples.append(clock() - start)
    samples.sort()
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    print(f"code and content: {repo}{' (plain)' if args.plain else ''}, {'CPU time' if args.cpu else 'wall clock'}")
    print(f"{len(texts)} realistic messages x {args.rounds} rounds")
    print(f"  p50  {statistics.median(samples) * 1000:.3f} ms")
    print(f"  p99  {p99 * 1000:.3f} ms")
    print(f"  mean {statistics.fmean(samples) * 1000:.3f} ms")
    print(f"one {len(long_text):,}-character message: {statistics.median(long_samples) * 1000:.1f} ms (median)")


if __name__ == "__main__":
    main()
