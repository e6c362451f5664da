"""The safety check's literal prefilter (`bot.literals`, `SafetyRules`): it skips the patterns that cannot match
a message, and every decision stays exactly what running every pattern gives (`SafetyRules.plain`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.knowledge import load_knowledge
from bot.safety import SafetyRules, built_in_rules, load_safety

REPO = Path(__file__).parent.parent
# Every set with messages: the safety sets and the matching sets (read here, never printed: a failure names
# the file and the position, so no holdout text reaches a log).
SETS = [
    "safety-dev.yaml",
    "safety-holdout.yaml",
    "holdout.yaml",
    "dev.yaml",
    *sorted(path.name for path in (REPO / "eval").glob("realistic*.yaml")),
]


@pytest.fixture(scope="module")
def messages() -> list[tuple[str, int, str]]:
    found = []
    for name in SETS:
        items = yaml.load((REPO / "eval" / name).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
        found += [(name, index, str(item["text"])) for index, item in enumerate(items)]
    assert len(found) > 16_000
    return found


def _differences(rules: SafetyRules, messages: list[tuple[str, int, str]]) -> list[tuple[str, int]]:
    plain = rules.plain()
    return [
        (name, index)
        for name, index, text in messages
        if (rules.assess(text), rules.canonical(text)) != (plain.assess(text), plain.canonical(text))
    ]


def test_the_prefilter_decides_exactly_as_running_every_pattern(messages: list[tuple[str, int, str]]) -> None:
    loaded = load_knowledge(REPO)
    assert loaded.errors == ()
    rules = loaded.knowledge.safety
    assert rules.net is not None  # the net's path too: its features read the cut text
    assert _differences(rules, messages) == []


def test_the_built_in_rules_decide_exactly_as_running_every_pattern(messages: list[tuple[str, int, str]]) -> None:
    rules = built_in_rules()
    assert rules.prefilter and not rules.plain().prefilter
    assert _differences(rules, messages) == []


def _signals(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "signals.yaml").write_text(text, encoding="utf-8")
    return folder


def test_text_a_cut_brings_together_still_reaches_the_later_exclusions(tmp_path: Path) -> None:
    # "※ 去死" is not in the message; it is once the collector's words before it are cut out.
    folder = _signals(
        tmp_path / "safety",
        "exclude:\n  quotes:\n    - 催收说\n  idiom:\n    - ※ 去死\ncrisis:\n  direct:\n    - 去死\n",
    )
    rules = load_safety(folder, [])
    assert rules.assess("催收说去死") == rules.plain().assess("催收说去死")
    assert rules.assess("催收说去死").level == "none"
    assert rules.assess("我想去死").level == "crisis"
