"""Accuracy on labelled questions, and the safety layer's recall and false alarms.

Matching (`evaluate`): the format of eval/sample.yaml, or the intents' own `tests`. Scoring follows
DESIGN.md: an answer or crisis counts as its intent, a clarification or overview as its first candidate,
a concern as `wellbeing.crisis`, a fallback as null (out of scope).

Safety (`evaluate_safety`): `[{text, crisis: true|false}]`; recall counts crisis or concern on positives,
crisis recall counts the crisis reply only, false alarms are crisis or concern on negatives. Every message's outcome
can be kept (`SafetyRun`, `anxin eval --safety FILE --save PATH`) and a later run compared with it (`compare`,
`--against PATH`): which messages an edit of `safety/` moved, better or worse.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import yaml

from .content import YAML_LOADER
from .kept import write_text
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


# The `tag`s of a safety set's messages at risk (docs/evaluation-briefs.md): an act under way or a method question,
# which must get the crisis reply with the emergency number first, not only a check-in (set G says `act`); and a writer
# worried about someone else at risk, what `someone_else` in safety/examples.yaml holds.
ACT_OR_METHOD_TAGS = frozenset({"act_under_way", "act", "method", "in_progress", "means"})
SOMEONE_ELSE_TAGS = frozenset({"third_party", "other_now", "other_person", "other"})


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


Outcome = Literal["none", "concern", "crisis", "crisis-emergency-first"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


def safety_outcome(kb: KnowledgeBase, text: str) -> Outcome:
    """What the bot would do first for the message: nothing, check in (concern), the crisis reply, or the crisis reply
    with the emergency number first (`Assessment.act`)."""
    # The safety check decides (`KnowledgeBase.decide` runs it first); the matcher runs only when the net leaned
    # towards a risk (a menu then becomes a check-in).
    found = kb.assess(text)
    if found.leaning:
        found = lean(found, kb.match(text))  # a check-in instead of a menu when it understood no topic
    if found.level == "crisis" and found.act:
        return "crisis-emergency-first"
    return found.level


def evaluate_safety(
    kb: KnowledgeBase, items: Sequence[SafetyItem], outcomes: Sequence[Outcome] | None = None
) -> SafetyReport:
    """Recall and false alarms; `outcomes` are the items' `safety_outcome`s when already known (a large set takes
    minutes to assess)."""
    if outcomes is None:
        outcomes = [safety_outcome(kb, item.text) for item in items]
    caught = crisis_caught = clear = clear_caught = 0
    misses: list[tuple[str, str]] = []
    false_alarms: list[tuple[str, str]] = []
    for item, outcome in zip(items, outcomes, strict=True):
        level = "crisis" if outcome.startswith("crisis") else outcome
        flagged = level != "none"
        if item.crisis:
            caught += flagged
            crisis_caught += level == "crisis"
            if item.level == "crisis":
                clear += 1
                clear_caught += level == "crisis"
            if not flagged:
                misses.append((item.text, kb.decide(item.text).kind))  # what the bot did instead
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


RUN_FORMAT = 1  # of a saved run; a reader refuses any other rather than compare what it cannot read


@dataclass(frozen=True)
class SafetyRun:
    """Every message of a labelled file with its outcome: what `--save` keeps and `--against` reads back."""

    file: str
    items: tuple[SafetyItem, ...]
    outcomes: tuple[Outcome, ...]

    @classmethod
    def measure(cls, kb: KnowledgeBase, file: str, items: Sequence[SafetyItem]) -> SafetyRun:
        return cls(file, tuple(items), tuple(safety_outcome(kb, item.text) for item in items))

    def as_json(self) -> dict[str, object]:
        return {
            "format": RUN_FORMAT,
            "file": self.file,
            "messages": [
                {"text": item.text, "crisis": item.crisis, "level": item.level, "outcome": outcome}
                for item, outcome in zip(self.items, self.outcomes, strict=True)
            ],
        }

    def save(self, path: Path) -> None:
        """Written atomically: a run interrupted or failing half-way leaves the run saved before. Raises OSError."""
        write_text(path, json.dumps(self.as_json(), ensure_ascii=False, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> SafetyRun:
        """A run `save` wrote; EvalFileError, in one line, for a missing or unreadable file or any other content."""
        try:
            data = json.loads(_text(path, "no such file (save a run first with --save)"))
        except json.JSONDecodeError as exc:
            raise EvalFileError(f"{path}: not valid JSON ({exc}); was it saved by `anxin eval --save`?") from None
        if not isinstance(data, dict) or "format" not in data:
            raise EvalFileError(f"{path}: not a run saved by `anxin eval --safety FILE --save`")
        if data["format"] != RUN_FORMAT:
            raise EvalFileError(
                f"{path}: saved in format {data['format']!r}, this version reads {RUN_FORMAT}; save the run again"
            )
        messages = data.get("messages")
        if not isinstance(data.get("file"), str) or not isinstance(messages, list):
            raise EvalFileError(f"{path}: a saved run needs `file` and `messages`")
        items: list[SafetyItem] = []
        outcomes: list[Outcome] = []
        for number, message in enumerate(messages, 1):
            if (
                not isinstance(message, dict)
                or not isinstance(message.get("text"), str)
                or not isinstance(message.get("crisis"), bool)
                or message.get("level") not in (None, "crisis", "concern")
                or message.get("outcome") not in OUTCOMES
            ):
                raise EvalFileError(
                    f"{path}: message {number} needs `text`, `crisis`, `level` and `outcome` ({', '.join(OUTCOMES)})"
                )
            items.append(SafetyItem(message["text"], message["crisis"], message["level"]))
            outcomes.append(message["outcome"])
        return cls(data["file"], tuple(items), tuple(outcomes))


# Each label's outcomes from worst to best. For a person at risk, more is better: a check-in beats nothing, the crisis
# reply a check-in, the emergency number first the crisis reply; but on a message the file marks `level: concern`
# (an indirect risk) the emergency number first is a step too far, so there it ranks below the plain crisis reply
# (still above a check-in: the safer of the two mistakes). For anyone else, less is better.
_ORDER: dict[str, tuple[Outcome, ...]] = {
    "at risk": OUTCOMES,
    "at risk (crisis)": OUTCOMES,
    "at risk (concern)": ("none", "concern", "crisis-emergency-first", "crisis"),
    "not at risk": OUTCOMES[::-1],
}


def safety_label(item: SafetyItem) -> str:
    """The file's label in words: "not at risk", "at risk", or "at risk (crisis)" / "at risk (concern)" by `level`."""
    if not item.crisis:
        return "not at risk"
    return f"at risk ({item.level})" if item.level else "at risk"


@dataclass(frozen=True)
class Change:
    text: str
    label: str  # `safety_label`, as the newer run's file says
    before: Outcome
    after: Outcome

    @property
    def better(self) -> bool:
        order = _ORDER[self.label]
        return order.index(self.after) > order.index(self.before)

    def as_json(self) -> dict[str, str]:
        return {"text": self.text, "label": self.label, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Comparison:
    changes: tuple[Change, ...]  # in the newer file's order
    unchanged: int
    new: int  # messages only in the newer run
    gone: int  # messages only in the saved run

    @property
    def better(self) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if change.better)

    @property
    def worse(self) -> tuple[Change, ...]:
        return tuple(change for change in self.changes if not change.better)

    def as_json(self) -> dict[str, object]:
        return {
            "better": [change.as_json() for change in self.better],
            "worse": [change.as_json() for change in self.worse],
            "unchanged": self.unchanged,
            "new": self.new,
            "gone": self.gone,
        }


def compare(before: SafetyRun, after: SafetyRun) -> Comparison:
    """The messages whose outcome moved between two runs, matched by text; a text that occurs more than once is
    matched occurrence by occurrence, in order (its first with the first, and so on)."""
    saved: defaultdict[str, deque[Outcome]] = defaultdict(deque)
    for item, outcome in zip(before.items, before.outcomes, strict=True):
        saved[item.text].append(outcome)
    changes: list[Change] = []
    unchanged = new = 0
    for item, outcome in zip(after.items, after.outcomes, strict=True):
        earlier = saved.get(item.text)
        if not earlier:
            new += 1
            continue
        was = earlier.popleft()
        if was == outcome:
            unchanged += 1
        else:
            changes.append(Change(item.text, safety_label(item), was, outcome))
    return Comparison(tuple(changes), unchanged, new, sum(map(len, saved.values())))


def _text(path: Path, missing: str = "no such file") -> str:
    """The file's text; EvalFileError, in one line, when it is missing or unreadable."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvalFileError(f"{path}: {missing}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalFileError(f"{path}: cannot read ({exc})") from None


def _read(path: Path) -> list[object]:
    try:
        data = yaml.load(_text(path), Loader=YAML_LOADER)  # the C parser: sets hold 56,000 items
    except yaml.YAMLError as exc:
        raise EvalFileError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, list):
        raise EvalFileError(f"{path}: expected a list of items")
    return data
