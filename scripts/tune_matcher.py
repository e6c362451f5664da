"""Threshold tuning for the matcher, on the intents' held-out tests plus any labelled files given.

Usage: .venv/bin/python scripts/tune_matcher.py eval/dev.yaml eval/sample.yaml

1. The fallback line (`clarify` threshold) decides accuracy: below it, out of scope; above it, the best
   in-scope intent (answered or offered first). The table shows accuracy per set for each value.
2. The answer line and margin only decide *how* a right or wrong best guess is delivered: answered
   outright or asked back. The second table shows confident-wrong and clarify rates for each pair.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.evaluation import Labelled, held_out, load_labelled
from bot.knowledge import load_knowledge
from bot.models import Candidate

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    kb = load_knowledge(REPO).knowledge
    matcher = kb.matcher
    sets: dict[str, list[Labelled]] = {"tests": held_out(kb)}
    for name in sys.argv[1:]:
        sets[Path(name).stem] = load_labelled(Path(name))
    ranked: dict[str, list[tuple[Labelled, list[Candidate]]]] = {
        name: [(item, matcher.scores(item.text)) for item in items] for name, items in sets.items()
    }

    def best(candidates: list[Candidate]) -> Candidate | None:
        return candidates[0] if candidates else None

    print("fallback line → accuracy per set (clarify counted as its first candidate)")
    print("line  " + "  ".join(f"{name:>8}" for name in ranked))
    for line in range(10, 60, 2):
        cells = []
        for rows in ranked.values():
            correct = 0
            for item, candidates in rows:
                top = best(candidates)
                got = None if top is None or top.intent in matcher.out_of_scope or top.score < line else top.intent
                correct += got == item.expected
            cells.append(f"{correct / len(rows):8.1%}")
        print(f"{line:4}  " + "  ".join(cells))

    fallback = matcher.thresholds.clarify
    everything = [row for rows in ranked.values() for row in rows]
    print(f"\nwith the fallback line at {fallback}: answer line, margin → confident wrong, clarify rate")
    for answer in range(int(fallback), 80, 4):
        for margin in (0, 4, 8, 12, 16):
            wrong = clarified = 0
            for item, candidates in everything:
                top = best(candidates)
                if top is None or top.intent in matcher.out_of_scope or top.score < fallback:
                    continue
                runner_up = candidates[1].score if len(candidates) > 1 else 0.0
                if top.score >= answer and top.score - runner_up >= margin:
                    wrong += top.intent != item.expected
                else:
                    clarified += 1
            total = len(everything)
            print(f"answer {answer:3} margin {margin:2}: confident wrong {wrong / total:6.1%}  clarify {clarified / total:6.1%}")


if __name__ == "__main__":
    main()
