"""Unanswered questions, grouped, as drafts for volunteers: `anxin suggest`.

    group(questions, kb)        → Suggestion per group of similar questions, most asked first
    draft_yaml(suggestion, …)   → the YAML a volunteer reads, edits and copies into `intents/` by hand

Questions are compared the way the matcher compares a message with an example: normalised (both scripts
alike), the lexicon's aliases and dialect words applied, then character pairs and words weighted by rarity,
so "半夜打电话" and "半夜打電話催我" fall together while questions that share only 催收 do not. Each group is
matched against the knowledge base, so the draft says which intent the bot would pick today and how sure
it is. Drafts are files outside `intents/` and `faq/`: nothing here can go live by itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import yaml

from .knowledge import KnowledgeBase
from .usage import UnansweredCount

SIMILAR = 0.45  # cosine at or above which a question joins a group (tuned by eye on realistic messages)
MAX_EXAMPLES = 20  # questions listed in one draft


@dataclass(frozen=True)
class Suggestion:
    questions: tuple[tuple[str, int], ...]  # (redacted question, times asked), most asked first
    closest: str | None  # the intent the bot picks for the group's most asked question, if any
    decision: str  # what the bot did with it: clarify, fallback, …
    score: float

    @property
    def asked(self) -> int:
        return sum(count for _, count in self.questions)

    def as_json(self) -> dict[str, object]:
        return {
            "closest_intent": self.closest,
            "decision": self.decision,
            "score": round(self.score, 1),
            "asked": self.asked,
            "questions": [{"text": text, "count": count} for text, count in self.questions],
        }


def group(rows: Iterable[UnansweredCount], kb: KnowledgeBase, similar: float = SIMILAR) -> list[Suggestion]:
    """Similar questions together (any channel or script), each group with the bot's closest intent."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.text] = counts.get(row.text, 0) + row.count
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    groups: list[tuple[dict[str, float], list[tuple[str, int]]]] = []  # (summed vector, members)
    for text, count in ordered:
        vector = kb.matcher.vector(text)
        best, best_score = None, similar
        for index, (centre, _) in enumerate(groups):
            score = _cosine(vector, centre)
            if score >= best_score:
                best, best_score = index, score
        if best is None:
            groups.append((dict(vector), [(text, count)]))
            continue
        centre, members = groups[best]
        for key, value in vector.items():
            centre[key] = centre.get(key, 0.0) + value
        members.append((text, count))
    found = []
    for _, members in groups:
        head = members[0][0]
        decision = kb.decide(head)
        closest = decision.intent or (decision.candidates[0].intent if decision.candidates else None)
        found.append(Suggestion(tuple(members), closest, decision.kind, decision.score))
    found.sort(key=lambda s: (-s.asked, s.questions[0][0]))
    return found


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(value * b.get(key, 0.0) for key, value in a.items())
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def draft_yaml(suggestion: Suggestion, number: int, days: int, kb: KnowledgeBase) -> str:
    """One group as a commented YAML draft: what the bot does today, and the questions as candidate examples."""
    closest = suggestion.closest
    title = kb.title(closest, "zh-Hans") if closest and closest in kb.intents else None
    lines = [
        f"# Draft {number}: {len(suggestion.questions)} similar unanswered question(s), asked "
        f"{suggestion.asked} time(s) in the last {days} day(s).",
        "# Today the bot "
        + (
            f"picks `{closest}` ({title}) with score {suggestion.score:.1f} and decides: {suggestion.decision}."
            if closest
            else "finds no intent for them."
        ),
        "# To use it: if they ask what that intent answers, copy the good ones into its `examples:` in intents/,",
        "# in the asker's words but without anything personal; if they ask something new, write a new intent",
        "# (docs/content-format.md). Then run `anxin lint` and `anxin eval`. The bot never reads this file.",
    ]
    body = {
        "closest_intent": closest,
        "score": round(suggestion.score, 1),
        "decision": suggestion.decision,
        "asked": suggestion.asked,
        "examples": [text for text, _ in suggestion.questions[:MAX_EXAMPLES]],
    }
    return "\n".join(lines) + "\n" + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=100)


def file_name(number: int, suggestion: Suggestion) -> str:
    return f"{number:02d}-{(suggestion.closest or 'unmatched').replace('.', '-')}.yaml"


def summary(suggestions: Sequence[Suggestion]) -> list[str]:
    return [
        f"{number:2d}. asked {s.asked:3d}×  {len(s.questions):2d} question(s)  "
        f"{s.decision:8s} {s.closest or '-'} ({s.score:.1f})  e.g. {s.questions[0][0]}"
        for number, s in enumerate(suggestions, 1)
    ]
