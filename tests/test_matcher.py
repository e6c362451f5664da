"""Matcher decisions on the fixture knowledge base: answer, clarify, fallback, and the JSON contract."""

from __future__ import annotations

import pytest

from bot.knowledge import KnowledgeBase
from bot.matcher import Matcher


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("催收打电话给我妈妈合法吗", "legal.contact_contacts"),
        ("催收打電話給我媽媽合法嗎", "legal.contact_contacts"),
        ("崔收爆了我的通讯录", "legal.contact_contacts"),  # typo 崔收, different wording
        ("my collectors called my parents", "legal.contact_contacts"),
        ("半夜三点打电话过来", "legal.call_hours"),
        ("家里人要不要帮我还钱", "rights.family_liability"),
        ("12378 投诉", "report.regulator"),
    ],
)
def test_clear_questions_are_answered(kb: KnowledgeBase, text: str, intent: str) -> None:
    decision = kb.decide(text)
    assert (decision.kind, decision.intent) == ("answer", intent)


@pytest.mark.parametrize("text", ["明天会下雨吗", "帮我订张火车票", "asdkjh qwe zzz", "🙂🙂", "", "1234"])
def test_out_of_scope_and_gibberish_fall_back(kb: KnowledgeBase, text: str) -> None:
    decision = kb.decide(text)
    assert decision.kind == "fallback"
    assert decision.intent is None


def test_vague_question_asks_instead_of_guessing(kb: KnowledgeBase) -> None:
    decision = kb.decide("电话")
    assert decision.kind == "clarify"
    assert decision.intent is None
    assert decision.candidates and decision.candidates[0].intent.startswith("legal.")


class _Intent:
    def __init__(self, id: str, examples: tuple[str, ...], keywords: tuple[str, ...] = ()) -> None:
        self.id, self.examples, self.keywords, self.out_of_scope = id, examples, keywords, False


def test_close_runner_up_triggers_clarification() -> None:
    matcher = Matcher.build([_Intent("a.one", ("催收打电话给我家人",)), _Intent("a.two", ("催收打电话给我同事",))])
    decision = matcher.match("催收打电话给我")
    assert decision.kind == "clarify"
    assert {c.intent for c in decision.candidates} == {"a.one", "a.two"}


def test_keywords_boost_their_intent() -> None:
    examples = (("a.one", ("催收打电话给我家人",)), ("a.two", ("催收打电话给我同事",)))
    without = Matcher.build([_Intent(i, e) for i, e in examples])
    with_keyword = Matcher.build([_Intent(i, e, ("领导",) if i == "a.two" else ()) for i, e in examples])
    question = "催收打电话给我领导"
    assert without.match(question).kind == "clarify"
    decision = with_keyword.match(question)
    assert decision.candidates[0].intent == "a.two"
    assert decision.score > without.match(question).score


def test_match_json_has_the_documented_shape(kb: KnowledgeBase) -> None:
    data = kb.decide("爆通讯录了怎么办").as_json()
    assert set(data) == {"kind", "intent", "score", "candidates"}
    assert data["kind"] == "answer" and data["intent"] == "legal.contact_contacts"
    assert isinstance(data["score"], float) and 0 <= data["score"] <= 100
    candidates = data["candidates"]
    assert isinstance(candidates, list) and candidates[0] == {
        "intent": "legal.contact_contacts",
        "score": data["score"],
    }


def test_out_of_scope_intents_are_never_offered(kb: KnowledgeBase) -> None:
    decision = kb.decide("今天天气怎么样")
    assert decision.kind == "fallback"
    assert all(not c.intent.startswith("oos.") for c in decision.candidates)


def test_huge_message_is_matched_on_its_start(kb: KnowledgeBase) -> None:
    decision = kb.decide("爆通讯录了怎么办" + "啊" * 10_000)
    assert decision.intent == "legal.contact_contacts"


def test_latin_keyword_fires_next_to_chinese_characters() -> None:
    matcher = Matcher.build(
        [_Intent("a.one", ("法律援助热线能帮我什么",), ("12348",)), _Intent("a.two", ("监管投诉热线能帮我什么",))]
    )
    scores = {c.intent: c.score for c in matcher.scores("12348能帮我什么")}
    assert scores["a.one"] - scores.get("a.two", 0.0) >= 10.0  # the keyword's boost, not just the shared words


def test_keyword_that_most_intents_use_anyway_is_ignored() -> None:
    # 25 intents that all talk about 催收; one lists 催收 as its keyword, which would boost it on every message.
    topics = (
        "家人 单位 半夜 辱骂 威胁 上门 曝光 律师 利息 外包 报警 监管 平台 "
        "屏蔽 删帖 协会 援助 证据 模板 回复 隐私 协商 征信 录音 起诉"
    )
    intents = [
        _Intent(f"t.n{number}", (f"催收{topic}怎么办", f"{topic}的问题"), ("催收",) if number == 0 else ())
        for number, topic in enumerate(topics.split())
    ]
    matcher = Matcher.build(intents)
    assert len(matcher.keywords) == 0
    assert matcher.match("催收半夜打电话").candidates[0].intent == "t.n2"
