"""Cross-validation by writer of the fourth safety net, which tells a writer worried about someone else at risk from a
writer at risk themself (`someone_else` in safety/examples.yaml, `SOMEONE_THRESHOLD` in bot/safety.py).

Usage: .venv/bin/python scripts/someone_else_cv.py [--groups 10] [--thresholds 0.5 0.7 0.8 0.9 0.95]
       .venv/bin/python scripts/someone_else_cv.py --count eval/safety-holdout-36.yaml [FILE ...]

The writers of eval/safety-dev.yaml (`set`) are dealt into groups by name; for each group a net is trained as at load
time (`someone_else` against the other messages at risk) on the messages no writer of the group wrote, and scores that
group's messages at risk. The level and the rules' `other` are the bundled layer's: only the fourth net is out of
sample. Printed per threshold, for the messages at risk given the crisis reply and for those given a check-in: the
writers about someone else given the reply for them (`other`: an `other` rule, or the net with someone named), and the
writers at risk themselves given it, the mistake that must stay rare; then the same with the bundled net (in sample).
This is how to choose `SOMEONE_THRESHOLD`. `--count` prints only those counts for each file, rules alone and with the
bundled net, and never a message: for the never-tuned holdouts, which must not be read, only counted.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import yaml

from bot.evaluation import SOMEONE_ELSE_TAGS
from bot.knowledge import CACHE_DIR, load_knowledge
from bot.safety import SOMEONE, SOMEONE_SINGLE, Assessment, SafetyNet, SafetyRules

REPO = Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Scored:
    """A message at risk of the tuning set: whom it is about, what the layer without the fourth net made of it, whether
    it names someone, and the fourth net's probability (from a net that did not learn its writer's messages)."""

    someone_else: bool
    found: Assessment
    names_someone: bool
    probability: float

    def other(self, threshold: float) -> bool:
        return self.found.other or (self.names_someone and self.probability >= threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=10, help="groups of writers, each left out in turn")
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98])
    parser.add_argument("--count", type=Path, nargs="+", help="only count, on these files, with the bundled nets")
    args = parser.parse_args()

    # The data folder's kept nets, where `anxin lint` keeps them: only a first run trains them.
    rules = load_knowledge(REPO, cache_dir=REPO / "data" / CACHE_DIR).knowledge.safety
    if rules.someone is None:
        raise SystemExit("no fourth net: safety/examples.yaml has no `someone_else` list")
    if args.count:
        for path in args.count:
            _count(rules, path)
        return

    without = dataclasses.replace(rules, someone=None)
    data = yaml.load((REPO / "safety" / "examples.yaml").read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    marked = [str(text) for text in data["someone_else"]]
    taken = set(marked)
    others = [str(text) for name in ("act", "crisis", "concern") for text in data[name] if str(text) not in taken]
    items = [item for item in _items(REPO / "eval" / "safety-dev.yaml") if item["crisis"]]
    canonical = {text: rules.canonical(text) for text in {str(item["text"]) for item in items} | taken | set(others)}
    writers = sorted({str(item["set"]) for item in items})
    group_of = {writer: index % args.groups for index, writer in enumerate(writers)}
    written_in: dict[str, set[int]] = {}  # a message two writers both wrote is left out with either
    for item in items:
        written_in.setdefault(str(item["text"]), set()).add(group_of[str(item["set"])])

    out_of_sample: list[Scored] = []
    in_sample: list[Scored] = []
    for group in range(args.groups):
        learnt = [(canonical[text], True) for text in marked if group not in written_in.get(text, set())]
        learnt += [(canonical[text], False) for text in others if group not in written_in.get(text, set())]
        net = SafetyNet.train(learnt, rules.families, 0.5, single=SOMEONE_SINGLE)
        for item in items:
            if group_of[str(item["set"])] == group:
                text = str(item["text"])
                about = str(item.get("tag")) in SOMEONE_ELSE_TAGS
                found = without.assess(text)
                names = _names_someone(rules, canonical[text])
                out_of_sample.append(Scored(about, found, names, net.probability(canonical[text])))
                in_sample.append(Scored(about, found, names, rules.someone.probability(canonical[text])))
        print(f"group {group + 1} of {args.groups}: {len(learnt)} examples learnt", flush=True)

    print(f"\n{len(writers)} writers in {args.groups} groups, each scored by a net that did not learn them")
    _table(out_of_sample, args.thresholds)
    print(f"\nin sample: the bundled net (SOMEONE_THRESHOLD {rules.someone.threshold})")
    _table(in_sample, sorted({*args.thresholds, rules.someone.threshold}))


def _table(scored: Sequence[Scored], thresholds: Sequence[float]) -> None:
    for level in ("crisis", "concern"):
        about = [each for each in scored if each.found.level == level and each.someone_else]
        self = [each for each in scored if each.found.level == level and not each.someone_else]
        rules_about = sum(each.found.other for each in about)
        rules_self = sum(each.found.other for each in self)
        print(
            f"  {level} reply: rules alone: someone else {rules_about}/{len(about)} "
            f"({rules_about / max(len(about), 1):.1%}), writer at risk {rules_self}/{len(self)} "
            f"({rules_self / max(len(self), 1):.2%})"
        )
        for threshold in thresholds:
            caught = sum(each.other(threshold) for each in about)
            wrong = sum(each.other(threshold) for each in self)
            print(
                f"    at {threshold:.2f}: someone else {caught}/{len(about)} ({caught / max(len(about), 1):.1%}, "
                f"net adds {caught - rules_about}), writer at risk {wrong}/{len(self)} "
                f"({wrong / max(len(self), 1):.2%}, net adds {wrong - rules_self}: "
                f"{(wrong - rules_self) / max(len(self), 1):.2%})"
            )


def _count(rules: SafetyRules, path: Path) -> None:
    """Counts only, never a message: the crisis replies about someone else adapted to the writer, and the writers at
    risk themselves given that reply, rules alone and with the fourth net."""
    items = [item for item in _items(path) if item["crisis"]]
    without = dataclasses.replace(rules, someone=None)
    for name, layer in (("rules alone", without), ("with the net", rules)):
        about = wrong = about_count = self_count = 0
        for item in items:
            found = layer.assess(str(item["text"]))
            if found.level != "crisis":
                continue
            if str(item.get("tag")) in SOMEONE_ELSE_TAGS:
                about_count += 1
                about += found.other
            else:
                self_count += 1
                wrong += found.other
        print(
            f"{path.name}, {name}: someone else, crisis reply adapted: {about}/{about_count}; "
            f"writer at risk given the someone-else reply: {wrong}/{self_count}"
        )


def _names_someone(rules: SafetyRules, canonical: str) -> bool:
    """The guard `SafetyRules.assess` puts on `other`: the message names someone (the word list `someone`)."""
    return rules._names(SOMEONE, canonical, absent=True)


def _items(path: Path) -> list[dict[str, object]]:
    items = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    return [item for item in items if isinstance(item, dict)]


if __name__ == "__main__":
    main()
