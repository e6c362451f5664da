"""Threshold tuning for the matcher: ranking quality and a grid over (answer, margin, clarify).

Usage: .venv/bin/python scripts/tune_matcher.py [labelled.yaml …]
Prints top-1 ranking accuracy (thresholds aside), then the best thresholds for an objective that
rewards correct answers, tolerates clarifications and punishes confident wrong answers hardest.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.evaluation import Labelled, held_out, load_labelled
from bot.knowledge import load_knowledge

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    kb = load_knowledge(REPO).knowledge
    sets: dict[str, list[Labelled]] = {"tests": held_out(kb)}
    for name in sys.argv[1:]:
        sets[Path(name).stem] = load_labelled(Path(name))
    matcher = kb.matcher
    rows = []
    for name, items in sets.items():
        top1 = 0
        for item in items:
            ranked = matcher.scores(item.text)
            best = ranked[0] if ranked else None
            second = ranked[1].score if len(ranked) > 1 else 0.0
            predicted = None if best is None or best.intent in matcher.out_of_scope else best.intent
            top1 += predicted == item.expected
            rows.append((name, item, best, second, ranked))
        print(f"{name}: {len(items)} items, top-1 ranking accuracy {top1 / len(items):.1%}")
    best_objective = None
    for answer in range(30, 70, 2):
        for margin in range(0, 16, 2):
            for clarify in range(14, answer, 2):
                score = correct = wrong = clar = 0
                for _, item, best, second, ranked in rows:
                    if best is None or best.intent in matcher.out_of_scope or best.score < clarify:
                        got, kind = None, "fallback"
                    elif best.score >= answer and best.score - second >= margin:
                        got, kind = best.intent, "answer"
                    else:
                        in_scope = [c for c in ranked if c.intent not in matcher.out_of_scope]
                        got, kind = (in_scope[0].intent if in_scope else None), "clarify"
                    if got == item.expected:
                        correct += 1
                        score += 1.0 if kind != "clarify" else 0.8
                    elif kind == "answer":
                        wrong += 1
                        score -= 1.5
                    elif kind == "clarify":
                        clar += 1
                    if kind == "clarify":
                        clar += 0
                objective = (score, -wrong)
                if best_objective is None or objective > best_objective[0]:
                    best_objective = (objective, answer, margin, clarify, correct, wrong)
    assert best_objective is not None
    (objective, answer, margin, clarify, correct, wrong) = best_objective
    print(f"best: answer={answer} margin={margin} clarify={clarify}  correct={correct}/{len(rows)} "
          f"confident-wrong={wrong} objective={objective[0]:.1f}")


if __name__ == "__main__":
    main()
