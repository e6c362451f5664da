"""scripts/safety_cuts.py: which people at risk an exclusion leaves with less, on the real rules and nets."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest
from conftest import script as load_script

from bot.knowledge import KnowledgeBase

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def script() -> ModuleType:
    return load_script("safety_cuts")


def test_a_person_at_risk_an_exclusion_silences_is_named_with_what_was_cut(
    script: ModuleType, bundled_knowledge: KnowledgeBase
) -> None:
    # 攰到想死 ('so tired I want to die') is cut as the idiom 累到想死; a writer of the tuning set meant it.
    found = list(script.cuts(bundled_knowledge, [{"text": "攰到想死", "crisis": True, "level": "concern"}]))
    assert [(cut.outcome, cut.uncut, cut.cuts) for cut in found] == [("none", "crisis", (("idiom", "累到想死"),))]


def test_people_given_what_they_need_and_look_alikes_are_not_named(
    script: ModuleType, bundled_knowledge: KnowledgeBase
) -> None:
    items = [
        # once cut as a collector's threat (要弄死) and as the past (以前); each gets the crisis reply now
        {"text": "这日子俺不过了 我要弄死我自己", "crisis": True, "level": "crisis", "tag": "direct"},
        {"text": "划得比以前深，现在还在流", "crisis": True, "level": "crisis", "tag": "self_harm"},
        {"text": "我不想活了", "crisis": True, "level": "crisis", "tag": "direct"},
        {"text": "今天加班累死了", "crisis": False},  # a look-alike is never named, cut or not
    ]
    assert list(script.cuts(bundled_knowledge, items)) == []
    assert [bundled_knowledge.assess(str(item["text"])).level for item in items[:3]] == ["crisis"] * 3
