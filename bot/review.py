"""Answers that need a volunteer: checked too long ago, or past the date their time-bound facts hold.

    due_for_review(kb, today)   → [Due], the oldest review first (for `anxin review`)
    date_problems(kb, today)    → (errors, warnings) for `anxin lint`: a passed `valid_until` is an error,
                                  a review older than REVIEW_DAYS a warning

Dates never stop the bot from serving or reloading content: an answer past its date is still the best one
there is until a volunteer updates it. `lint` (and so CI) is where they are enforced.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from .content import KnowledgeError, display_path
from .knowledge import Answer, KnowledgeBase

CHINA = dt.timezone(dt.timedelta(hours=8), "CST")  # the project counts days in China Standard Time
REVIEW_DAYS = 180  # laws, hotlines and regulator documents change: look at every answer twice a year
SOON_DAYS = 30  # list an answer this long before its `valid_until`, so it can be checked in time


@dataclass(frozen=True)
class Due:
    answer: Answer
    reason: str

    def as_json(self) -> dict[str, object]:
        a = self.answer
        return {
            "intent": a.intent,
            "locale": a.locale,
            "region": a.region or "mainland",
            "path": display_path(a.path) if a.path else None,
            "line": a.line,
            "reviewed": a.reviewed.isoformat() if a.reviewed else None,
            "valid_until": a.valid_until.isoformat() if a.valid_until else None,
            "reason": self.reason,
        }


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


def _reason(answer: Answer, today: dt.date) -> str | None:
    if answer.valid_until is not None and answer.valid_until < today:
        return f"past valid_until ({answer.valid_until.isoformat()})"
    if answer.reviewed is not None and (today - answer.reviewed).days > REVIEW_DAYS:
        return f"reviewed over {REVIEW_DAYS} days ago ({answer.reviewed.isoformat()})"
    if answer.valid_until is not None and (answer.valid_until - today).days <= SOON_DAYS:
        return f"valid_until in {(answer.valid_until - today).days} days ({answer.valid_until.isoformat()})"
    return None


def due_for_review(kb: KnowledgeBase, today: dt.date) -> list[Due]:
    """Every written answer (not script conversions) that needs looking at, the oldest review first."""
    found = [Due(answer, reason) for answer in kb.written() if (reason := _reason(answer, today)) is not None]
    return sorted(found, key=lambda d: (d.answer.reviewed or dt.date.min, str(d.answer.path), d.answer.line))


def _where(answer: Answer) -> str:
    return f"`{answer.intent}` ({answer.locale}{', ' + answer.region if answer.region else ''})"


def date_problems(kb: KnowledgeBase, today: dt.date) -> tuple[list[KnowledgeError], list[KnowledgeError]]:
    errors: list[KnowledgeError] = []
    warnings: list[KnowledgeError] = []
    for answer in kb.written():
        path = answer.path or Path("faq")
        if answer.valid_until is not None and answer.valid_until < today:
            errors.append(
                KnowledgeError(
                    path,
                    answer.line,
                    f"{_where(answer)} is past its valid_until date {answer.valid_until.isoformat()}: check its "
                    "facts against docs/sources.md, update the answer, then set new `reviewed` and `valid_until` "
                    "dates",
                )
            )
        elif answer.reviewed is not None and (today - answer.reviewed).days > REVIEW_DAYS:
            warnings.append(
                KnowledgeError(
                    path,
                    answer.line,
                    f"WARNING: {_where(answer)} was last reviewed on {answer.reviewed.isoformat()}, over "
                    f"{REVIEW_DAYS} days ago: check it against docs/sources.md and update `reviewed`",
                )
            )
    for letters in kb.letters.written():
        path = letters.path or Path("letters")
        where = f"the {letters.region} letters ({letters.locale})"
        if letters.valid_until is not None and letters.valid_until < today:
            errors.append(
                KnowledgeError(
                    path,
                    letters.line,
                    f"{where} are past their valid_until date {letters.valid_until.isoformat()}: check every rule "
                    "against docs/sources.md, then set new `reviewed` and `valid_until` dates",
                )
            )
        elif letters.reviewed is not None and (today - letters.reviewed).days > REVIEW_DAYS:
            warnings.append(
                KnowledgeError(
                    path,
                    letters.line,
                    f"WARNING: {where} were last reviewed on {letters.reviewed.isoformat()}, over {REVIEW_DAYS} "
                    "days ago: check them against docs/sources.md and update `reviewed`",
                )
            )
    return errors, warnings
