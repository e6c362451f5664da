"""People at risk whom an exclusion leaves with less: the messages the rules would flag (or give the crisis reply) if
nothing were cut, and what the exclusions of `safety/signals.yaml` cut from them.

Usage: .venv/bin/python scripts/safety_cuts.py eval/safety-dev.yaml [FILE ...]
       .venv/bin/python scripts/safety_cuts.py --count eval/safety-holdout-36.yaml [FILE ...]

An exclusion spares a look-alike ("累死了", a collector's "去死" quoted) by cutting words out before the rules run;
cut too much and it silences a person at risk ("我要弄死我自己" once lost 要弄死 to the exclusion for collectors'
threats, "划得比以前深，现在还在流" lost 以前 to the one for the past). For every message at risk in FILE that gets no
reply, or a check-in where the file asks for the crisis reply, or a crisis reply without the emergency number first
for an act, this assesses the message again with no exclusion at all; when that does better, it prints the message,
the outcomes and each exclusion group with the words it cut, in the order they cut. `--count` prints only the counts
per group, never a message: for the never-tuned holdouts, which must not be read.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
from collections.abc import Iterable, Iterator
from pathlib import Path

import yaml

from bot.evaluation import ACT_OR_METHOD_TAGS, OUTCOMES, safety_outcome
from bot.knowledge import CACHE_DIR, KnowledgeBase, load_knowledge
from bot.safety import CUT

REPO = Path(__file__).resolve().parent.parent
RANK = {outcome: rank for rank, outcome in enumerate(OUTCOMES)}  # none < concern < crisis < emergency first


@dataclasses.dataclass(frozen=True)
class Cut:
    text: str
    outcome: str  # what the bot does with the message
    uncut: str  # the rules' level with no exclusion ("crisis", "concern" or "none")
    cuts: tuple[tuple[str, str], ...]  # (exclusion group, the words it cut), in order


def _wanted(item: dict[str, object]) -> str:
    """The least outcome the item asks for."""
    if item.get("tag") in ACT_OR_METHOD_TAGS and item.get("level") != "concern":
        return "crisis-emergency-first"
    return "crisis" if item.get("level") == "crisis" else "concern"


def cuts(kb: KnowledgeBase, items: Iterable[dict[str, object]]) -> Iterator[Cut]:
    rules = kb.safety
    uncut = dataclasses.replace(rules.plain(), exclusions=[])
    for item in items:
        if not item.get("crisis"):
            continue
        text = str(item["text"])
        outcome = safety_outcome(kb, text)
        if RANK[outcome] >= RANK[_wanted(item)]:
            continue
        bare = uncut.assess(text)
        if RANK[bare.level] <= RANK["crisis" if outcome.startswith("crisis") else outcome]:
            continue
        canonical, _ = rules._rewritten(text)
        found: list[tuple[str, str]] = []
        for group, pattern in rules.exclusions:
            words = [match.group(0) for match in pattern.finditer(canonical)]  # every piece the cut below removes
            if words:
                found.append((group, " … ".join(words)))
                canonical = pattern.sub(CUT, canonical)
        if found:
            yield Cut(text, outcome, bare.level, tuple(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--count", action="store_true", help="only counts per exclusion group, never a message")
    args = parser.parse_args()
    kb = load_knowledge(REPO, cache_dir=REPO / "data" / CACHE_DIR).knowledge
    for path in args.files:
        with path.open(encoding="utf-8") as handle:
            items = yaml.load(handle, Loader=yaml.CSafeLoader)
        counts: collections.Counter[str] = collections.Counter()
        for found in cuts(kb, items):
            counts.update({group for group, _ in found.cuts})
            counts["messages"] += 1
            if not args.count:
                parts = "; ".join(f"{group}: {words!r}" for group, words in found.cuts)
                print(f"{found.outcome} (uncut: {found.uncut})  {found.text}\n    {parts}")
        summary = ", ".join(f"{group} {number}" for group, number in counts.most_common() if group != "messages")
        print(f"{path.name}: {counts['messages']} people at risk the exclusions leave with less ({summary or 'none'})")


if __name__ == "__main__":
    main()
