"""Accuracy on labelled questions: the format of shared/eval/sample.yaml, or the intents' own `tests`.

Scoring follows DESIGN.md: an answer or crisis counts as its intent, a clarification as its first
candidate, a fallback as null (out of scope).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .knowledge import KnowledgeBase


class EvalFileError(ValueError):
    """The labelled file cannot be used; the message says why."""


@dataclass(frozen=True)
class Labelled:
    text: str
    expected: str | None


@dataclass(frozen=True)
class Miss:
    text: str
    expected: str | None
    got: str | None
    kind: str


@dataclass(frozen=True)
class Report:
    total: int
    correct: int
    in_scope_total: int
    in_scope_correct: int
    out_of_scope_total: int
    out_of_scope_rejected: int
    clarified: int
    confident_wrong: int  # answered (not asked) with the wrong intent: the mistake that matters most
    errors: tuple[Miss, ...]

    @staticmethod
    def _ratio(part: int, whole: int) -> float:
        return round(part / whole, 4) if whole else 1.0

    def as_json(self) -> dict[str, object]:
        return {
            "total": self.total,
            "accuracy": self._ratio(self.correct, self.total),
            "in_scope_accuracy": self._ratio(self.in_scope_correct, self.in_scope_total),
            "oos_rejection": self._ratio(self.out_of_scope_rejected, self.out_of_scope_total),
            "clarify_rate": self._ratio(self.clarified, self.total),
            "confident_wrong": self.confident_wrong,
            "errors": [{"text": m.text, "expected": m.expected, "got": m.got, "kind": m.kind} for m in self.errors],
        }


def load_labelled(path: Path) -> list[Labelled]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read ({exc})") from None
    except yaml.YAMLError as exc:
        raise EvalFileError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, list):
        raise EvalFileError(f"{path}: expected a list of {{text, intent}} items")
    items: list[Labelled] = []
    for number, item in enumerate(data, 1):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or "intent" not in item:
            raise EvalFileError(f"{path}: item {number} needs `text` and `intent` (an id or null)")
        expected = item["intent"]
        if expected is not None and not isinstance(expected, str):
            raise EvalFileError(f"{path}: item {number}: `intent` must be an id or null")
        items.append(Labelled(item["text"], expected))
    return items


def held_out(kb: KnowledgeBase) -> list[Labelled]:
    """Every intent's `tests`; out-of-scope intents' tests are expected to fall back."""
    return [
        Labelled(test, None if intent.out_of_scope else intent.id)
        for intent in kb.intents.values()
        for test in intent.tests
    ]


def evaluate(kb: KnowledgeBase, items: Sequence[Labelled]) -> Report:
    correct = in_scope = in_scope_correct = oos = oos_rejected = clarified = confident_wrong = 0
    misses: list[Miss] = []
    for item in items:
        decision = kb.decide(item.text)
        if decision.kind == "clarify":
            clarified += 1
            got = decision.candidates[0].intent if decision.candidates else None
        else:
            got = decision.intent
        hit = got == item.expected
        correct += hit
        if item.expected is None:
            oos += 1
            oos_rejected += got is None
        else:
            in_scope += 1
            in_scope_correct += hit
        if not hit:
            if decision.kind in ("answer", "crisis"):
                confident_wrong += 1
            misses.append(Miss(item.text, item.expected, got, decision.kind))
    return Report(
        len(items), correct, in_scope, in_scope_correct, oos, oos_rejected, clarified, confident_wrong, tuple(misses)
    )
