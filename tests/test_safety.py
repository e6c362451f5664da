"""The safety layer: self-harm signals route to the crisis reply; a collector's threat does not."""

from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, KnowledgeError
from bot.safety import SafetyRules, built_in_rules, load_safety
from bot.text import normalise

REPO = Path(__file__).parent.parent

CRISIS = [
    "我不想活了",
    "我想死",
    "真的活不下去了",
    "欠了这么多钱,我想跳楼",
    "想一了百了",
    "我準備好遺書了",  # Traditional
    "活著沒意思",
    "催收说要弄死我,我也不想活了",  # a threat and a crisis at once: crisis wins
    "I want to kill myself",
    "thinking about suicide",
    "I don't want to live anymore",
    "催收骂我让我去死,我真的想死",
    "真想睡过去就别醒了",
    "撑不下去了想解脱",
    "I've been thinking of ending it",
    "欠了这么多钱 我死了是不是就不用还了",
    "现在站在天台上 不想再撑了",
    "想从楼上跳下去算了",
]
NOT_CRISIS = [
    "催收说要弄死我",
    "催收扬言要打死我全家",
    "催收骂我让我去死",
    "催收叫我怎么不去跳楼",
    "急死我了,怎么办",
    "催收打电话给我妈妈合法吗",
    "the collector said he will kill me",
    "they told me to go die",
    "催收发语音骂我 你这种人死了算了",
    "他们说要让我活不下去",
]


@pytest.fixture(scope="module")
def rules() -> SafetyRules:
    errors: list[KnowledgeError] = []
    loaded = load_safety(REPO / "safety" / "crisis.yaml", errors)
    assert errors == []
    return loaded


@pytest.mark.parametrize("text", CRISIS)
def test_self_harm_signals_are_crisis(rules: SafetyRules, text: str) -> None:
    assert rules.is_crisis(normalise(text))


@pytest.mark.parametrize("text", NOT_CRISIS)
def test_threats_and_ordinary_questions_are_not_crisis(rules: SafetyRules, text: str) -> None:
    assert not rules.is_crisis(normalise(text))


def test_broken_signal_file_falls_back_to_built_in_list(tmp_path: Path) -> None:
    path = tmp_path / "crisis.yaml"
    path.write_text("crisis:\n  - (unclosed\n", encoding="utf-8")
    errors: list[KnowledgeError] = []
    rules = load_safety(path, errors)
    assert any("not a valid regular expression" in e.message for e in errors)
    assert rules == built_in_rules()
    assert rules.is_crisis(normalise("我不想活了"))


def test_decide_puts_crisis_before_matching(kb: KnowledgeBase) -> None:
    decision = kb.decide("催收打电话给我妈妈,我真的不想活了")
    assert decision.kind == "crisis"
    assert decision.intent == "wellbeing.crisis"
