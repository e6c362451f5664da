"""Answers stay true: lint fails on an answer past its `valid_until`, warns on an old review, and
`anxin review` lists what is due, the oldest review first. Today is injected, never read from the clock."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from conftest import anxin
from test_lint import ANSWERS, edit, line_of

from bot.knowledge import KnowledgeBase, load_knowledge
from bot.review import date_problems, due_for_review

ENGLISH = Path("faq/en/main.yaml")
CHECKED = dt.date(2026, 12, 1)  # the fixture answers were reviewed on 2026-11-29


def add_valid_until(kb_dir: Path, relative: Path, intent: str, until: str) -> None:
    edit(kb_dir, relative, f"- intent: {intent}\n", f"- intent: {intent}\n  valid_until: {until}\n")


def test_fresh_answers_give_no_errors_or_warnings(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir).knowledge
    assert date_problems(kb, CHECKED) == ([], [])
    assert due_for_review(kb, CHECKED) == []


def test_answer_past_valid_until_is_an_error_at_its_line(kb_dir: Path) -> None:
    add_valid_until(kb_dir, ANSWERS, "legal.call_hours", "2026-12-31")
    kb = load_knowledge(kb_dir).knowledge
    assert date_problems(kb, dt.date(2026, 12, 31)) == ([], [])  # still valid on its last day
    errors, warnings = date_problems(kb, dt.date(2027, 1, 1))
    assert warnings == []
    [error] = errors
    assert (error.path.name, error.line) == ("main.yaml", line_of(kb_dir, ANSWERS, "- intent: legal.call_hours"))
    assert "`legal.call_hours` (zh-Hans) is past its valid_until date 2026-12-31" in error.message


def test_review_older_than_180_days_is_only_a_warning(kb_dir: Path) -> None:
    kb = load_knowledge(kb_dir).knowledge
    assert date_problems(kb, dt.date(2027, 5, 28)) == ([], [])  # 180 days after 2026-11-29
    errors, warnings = date_problems(kb, dt.date(2027, 5, 29))
    assert errors == []
    assert warnings and all(w.message.startswith("WARNING: ") for w in warnings)


def test_lint_fails_on_a_passed_valid_until_and_passes_with_warnings(kb_dir: Path, data_dir: Path) -> None:
    add_valid_until(kb_dir, ENGLISH, "report.regulator", "2027-01-31")
    expired = anxin("lint", "--today", "2027-02-01", kb_dir=kb_dir, data_dir=data_dir)
    assert expired.returncode == 1
    assert "faq/en/main.yaml" in expired.stdout and "past its valid_until date 2027-01-31" in expired.stdout
    edit(kb_dir, ENGLISH, "  valid_until: 2027-01-31\n", "  valid_until: 2027-12-31\n")
    stale = anxin("lint", "--today", "2027-06-30", kb_dir=kb_dir, data_dir=data_dir)
    assert stale.returncode == 0, stale.stdout
    assert "WARNING: `report.regulator` (en) was last reviewed on 2026-11-29" in stale.stdout
    assert stale.stdout.strip().splitlines()[-1].endswith("warning(s)")


def test_review_lists_what_is_due_oldest_first_as_json(kb_dir: Path, data_dir: Path) -> None:
    family = "  answer: Your family owes nothing.\n  sources: [《民法典》第1064条]\n  reviewed: "
    edit(kb_dir, ENGLISH, family + "2026-11-29", family + "2026-01-15")
    add_valid_until(kb_dir, ANSWERS, "legal.call_hours", "2026-12-15")
    result = anxin("review", "--json", "--today", "2026-12-20", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    due = json.loads(result.stdout)
    assert [(d["intent"], d["locale"]) for d in due] == [
        ("rights.family_liability", "en"),  # reviewed 2026-01-15: the oldest
        ("legal.call_hours", "zh-Hans"),
    ]
    first, second = due
    assert set(first) == {"intent", "locale", "region", "path", "line", "reviewed", "valid_until", "reason"}
    assert first["region"] == "mainland" and first["reviewed"] == "2026-01-15" and first["valid_until"] is None
    assert first["path"].endswith("faq/en/main.yaml") and isinstance(first["line"], int)
    assert second["valid_until"] == "2026-12-15" and second["reason"].startswith("past valid_until")


def test_review_says_when_nothing_is_due(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("review", "--today", "2026-12-01", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0
    assert result.stdout.startswith("nothing due")


def test_bundled_time_bound_answers_carry_valid_until(bundled_knowledge: KnowledgeBase) -> None:
    kb = bundled_knowledge  # the bundled content, its nets read from the data folder (a load of its own trained them)
    for intent in ("legal.interest_fees", "rights.credit_report", "scam.credit_repair", "rights.lawsuit"):
        for locale in ("zh-Hans", "en"):
            answer = kb.answer(intent, locale)
            assert answer is not None and answer.valid_until is not None, (intent, locale)
    assert all(answer.reviewed is not None for answer in kb.written())
