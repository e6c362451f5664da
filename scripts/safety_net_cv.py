"""K-fold cross-validation of the safety net behind the rules, on its own examples (`safety/examples.yaml`).

Usage: .venv/bin/python scripts/safety_net_cv.py [--folds 5 | --by-writer] [--thresholds 0.7 0.75 0.8 0.85 0.9]

The examples are split into folds by position (every k-th message, so each fold mixes writers and kinds),
or with --by-writer one writer of eval/safety-dev.yaml at a time (its `set`), which is closer to what a new
writer's messages do: for each fold the net is trained on the other folds plus every intent's examples,
exactly as at load time, and the rules plus that net are run on the fold. Printed per threshold: what the
whole layer catches on the risk messages it did not learn from, its false alarms on the safe ones, and how
many of each the net alone adds (messages no rule flagged); with --by-writer also what the net alone catches
per writer (the rules were written against every writer, so only the net's figures are out of sample).
This is how to choose `threshold:`; never measure the net on a holdout set by adding it to the examples.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import yaml

from bot.knowledge import load_knowledge
from bot.matcher import CRISIS_INTENT
from bot.safety import SafetyNet, SafetyRules

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--by-writer", action="store_true", help="leave one writer of the dev set out at a time")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.7, 0.75, 0.8, 0.85, 0.9, 0.95])
    args = parser.parse_args()

    loaded = load_knowledge(REPO)
    rules: SafetyRules = dataclasses.replace(loaded.knowledge.safety, net=None)
    data = yaml.safe_load((REPO / "safety" / "examples.yaml").read_text(encoding="utf-8"))
    risk = data["act"] + data["crisis"] + data["concern"]
    examples = [(text, True) for text in risk] + [(text, False) for text in data["safe"]]
    ordinary = [e for i in loaded.knowledge.intents.values() if i.id != CRISIS_INTENT for e in i.examples]
    canonical = {text: rules.canonical(text) for text, _ in examples}
    canonical_ordinary = [rules.canonical(text) for text in ordinary]
    flagged_by_rules = {text: rules.assess(text).at_risk for text, _ in examples}

    writer_of = {str(item["text"]): str(item.get("set", "?")) for item in _dev_items()}
    if args.by_writer:
        names = sorted({writer_of.get(text, "?") for text, _ in examples})
        folds = [[i for i, (text, _) in enumerate(examples) if writer_of.get(text, "?") == name] for name in names]
    else:
        names = [str(fold) for fold in range(args.folds)]
        folds = [[index for index in range(len(examples)) if index % args.folds == fold] for fold in range(args.folds)]

    scored: list[tuple[bool, bool, float]] = []  # (risky, a rule fired, the net's probability)
    by_fold: dict[str, list[tuple[bool, bool, float]]] = {}
    for name, fold in zip(names, folds, strict=True):
        held = set(fold)
        train = [item for index, item in enumerate(examples) if index not in held]
        test = [examples[index] for index in fold]
        risky_count = sum(risky for _, risky in train)
        safe_count = len(train) - risky_count
        each = min(1.0, 3.0 * safe_count / len(ordinary)) if ordinary else 1.0
        net = SafetyNet.train(
            [(canonical[text], risky) for text, risky in train] + [(text, False) for text in canonical_ordinary],
            rules.families,
            0.5,
            [1.0] * len(train) + [each] * len(ordinary),
        )
        by_fold[name] = [(risky, flagged_by_rules[text], net.probability(canonical[text])) for text, risky in test]
        scored += by_fold[name]

    positives = sum(risky for risky, _, _ in scored)
    negatives = len(scored) - positives
    rules_caught = sum(risky and fired for risky, fired, _ in scored)
    rules_false = sum(not risky and fired for risky, fired, _ in scored)
    split = "one writer left out at a time" if args.by_writer else f"{args.folds}-fold"
    print(f"{split}, {positives} risk and {negatives} safe examples")
    print(f"rules alone:  recall {rules_caught / positives:.3f}  false alarms {rules_false / negatives:.3f}")
    for threshold in args.thresholds:
        net_caught = sum(risky and not fired and p >= threshold for risky, fired, p in scored)
        net_false = sum(not risky and not fired and p >= threshold for risky, fired, p in scored)
        print(
            f"threshold {threshold:.2f}: recall {(rules_caught + net_caught) / positives:.3f} "
            f"(net adds {net_caught})  false alarms {(rules_false + net_false) / negatives:.3f} "
            f"(net adds {net_false})"
        )

    if args.by_writer:
        for threshold in args.thresholds:
            cells = []
            for name, found in by_fold.items():
                risk = max(sum(risky for risky, _, _ in found), 1)
                safe = max(len(found) - risk, 1)
                caught = sum(risky and p >= threshold for risky, _, p in found) / risk
                false = sum(not risky and p >= threshold for risky, _, p in found) / safe
                cells.append(f"{name} {caught:.2f}/{false:.2f}")
            print(f"net alone at {threshold:.2f}, recall/false alarms per writer left out: " + "  ".join(cells))


def _dev_items() -> list[dict[str, object]]:
    items = yaml.safe_load((REPO / "eval" / "safety-dev.yaml").read_text(encoding="utf-8"))
    return [item for item in items if isinstance(item, dict)]


if __name__ == "__main__":
    main()
