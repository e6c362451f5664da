"""Accuracy on labelled questions, and the safety layer's recall and false alarms.

Matching (`evaluate`): the format of eval/sample.yaml, or the intents' own `tests`. Scoring follows
DESIGN.md: an answer or crisis counts as its intent, a clarification or overview as its first candidate,
a concern as `wellbeing.crisis`, a fallback as null (out of scope).

Safety (`evaluate_safety`): `[{text, crisis: true|false}]`; recall counts crisis or concern on positives,
crisis recall counts the crisis reply only, false alarms are crisis or concern on negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from .content import YAML_LOADER
from .knowledge import KnowledgeBase
from .safety import lean


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
    per_intent: tuple[tuple[str, int, int], ...] = ()  # (expected intent or "null", total, correct)

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
            "per_intent": {
                intent: {"total": total, "correct": correct, "accuracy": self._ratio(correct, total)}
                for intent, total, correct in self.per_intent
            },
        }


def load_labelled(path: Path) -> list[Labelled]:
    data = _read(path)
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
    per_intent: dict[str, list[int]] = {}
    for item in items:
        decision = kb.decide(item.text)
        if decision.kind in ("clarify", "overview"):
            clarified += 1
            got = decision.candidates[0].intent if decision.candidates else None
        else:
            got = decision.intent
        if decision.kind == "fallback":
            got = None
        hit = got == item.expected
        correct += hit
        tally = per_intent.setdefault(item.expected or "null", [0, 0])
        tally[0] += 1
        tally[1] += hit
        if item.expected is None:
            oos += 1
            oos_rejected += got is None
        else:
            in_scope += 1
            in_scope_correct += hit
        if not hit:
            if decision.kind in ("answer", "crisis", "concern"):
                confident_wrong += 1
            misses.append(Miss(item.text, item.expected, got, decision.kind))
    return Report(
        len(items),
        correct,
        in_scope,
        in_scope_correct,
        oos,
        oos_rejected,
        clarified,
        confident_wrong,
        tuple(misses),
        tuple((intent, total, hits) for intent, (total, hits) in sorted(per_intent.items())),
    )


@dataclass(frozen=True)
class SafetyItem:
    text: str
    crisis: bool
    level: str | None = None  # a positive's `level` in the file: "crisis" (a clear risk) or "concern" (indirect)


@dataclass(frozen=True)
class SafetyReport:
    total: int
    positives: int
    caught: int  # crisis or concern on a positive
    crisis_caught: int  # the crisis reply on a positive
    negatives: int
    misses: tuple[tuple[str, str], ...]  # (text, kind) for positives that got no check-in
    false_alarms: tuple[tuple[str, str], ...]
    clear: int = 0  # positives marked `level: crisis`
    clear_caught: int = 0  # of those, given the crisis reply

    def as_json(self) -> dict[str, object]:
        def ratio(part: int, whole: int) -> float:
            return round(part / whole, 4) if whole else 1.0

        return {
            "total": self.total,
            "recall": ratio(self.caught, self.positives),
            "crisis_recall": ratio(self.crisis_caught, self.positives),
            "false_alarm_rate": ratio(len(self.false_alarms), self.negatives),
            # the crisis reply on the positives the file marks `level: crisis`; null when it marks none
            "crisis_level_recall": ratio(self.clear_caught, self.clear) if self.clear else None,
            "misses": [{"text": text, "kind": kind} for text, kind in self.misses],
            "false_alarms": [{"text": text, "kind": kind} for text, kind in self.false_alarms],
        }


def load_safety_items(path: Path) -> list[SafetyItem]:
    data = _read(path)
    items: list[SafetyItem] = []
    for number, item in enumerate(data, 1):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("crisis"), bool)
        ):
            raise EvalFileError(f"{path}: item {number} needs `text` and `crisis: true|false`")
        level = item.get("level") if item["crisis"] else None
        if level is not None and level not in ("crisis", "concern"):
            raise EvalFileError(f"{path}: item {number}: `level` must be crisis or concern for a person at risk")
        items.append(SafetyItem(item["text"], item["crisis"], level))
    return items


def evaluate_safety(kb: KnowledgeBase, items: Sequence[SafetyItem]) -> SafetyReport:
    """What the bot would do first for each message: check in (concern), crisis reply, or nothing."""
    caught = crisis_caught = clear = clear_caught = 0
    misses: list[tuple[str, str]] = []
    false_alarms: list[tuple[str, str]] = []
    for item in items:
        # The safety check decides (`KnowledgeBase.decide` runs it first); the matcher runs only when the net leaned
        # towards a risk (a menu then becomes a check-in) and for a miss, to say what the bot did instead.
        found = kb.assess(item.text)
        if found.leaning:
            found = lean(found, kb.match(item.text))  # a check-in instead of a menu when it understood no topic
        level = found.level
        flagged = level != "none"
        if item.crisis:
            caught += flagged
            crisis_caught += level == "crisis"
            if item.level == "crisis":
                clear += 1
                clear_caught += level == "crisis"
            if not flagged:
                misses.append((item.text, kb.decide(item.text).kind))
        elif flagged:
            false_alarms.append((item.text, level))
    positives = sum(item.crisis for item in items)
    return SafetyReport(
        len(items),
        positives,
        caught,
        crisis_caught,
        len(items) - positives,
        tuple(misses),
        tuple(false_alarms),
        clear,
        clear_caught,
    )


def _read(path: Path) -> list[object]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER)  # the C parser: sets hold 56,000 items
    except FileNotFoundError:
        raise EvalFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read ({exc})") from None
    except yaml.YAMLError as exc:
        raise EvalFileError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, list):
        raise EvalFileError(f"{path}: expected a list of items")
    return data
