"""Accuracy floors on the bundled content: a content edit that breaks matching fails CI.

Floors (issue 3): ≥ 95 % top-1 on the intents' own held-out `tests`; ≥ 90 % on eval/sample.yaml with
every crisis item routed to crisis and every out-of-scope item falling back. eval/dev.yaml is an
independent set written without looking at the examples; its floor guards against overfitting.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.evaluation import evaluate, held_out, load_labelled
from bot.knowledge import KnowledgeBase

REPO = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def bundled(bundled_knowledge: KnowledgeBase) -> KnowledgeBase:
    return bundled_knowledge  # `load_knowledge(REPO)` without errors, once per run (conftest)


def test_catalogue_is_complete(bundled: KnowledgeBase) -> None:
    answerable = bundled.answerable()
    assert len(answerable) >= 45
    # The numbers live in content-rules.yaml, where `anxin lint` reads them too.
    assert bundled.rules.min_examples >= 15
    assert bundled.rules.min_tests >= 4
    for intent in answerable:
        if intent.id != "wellbeing.crisis":
            assert len(intent.examples) >= bundled.rules.min_examples, intent.id
            assert len(intent.tests) >= bundled.rules.min_tests, intent.id
        assert bundled.answers.get((intent.id, "zh-Hans")) is not None, intent.id
        assert bundled.answers.get((intent.id, "en")) is not None, intent.id


def test_held_out_tests_floor(bundled: KnowledgeBase) -> None:
    report = evaluate(bundled, held_out(bundled))
    assert report.total >= 45 * 4
    assert report.correct / report.total >= 0.95, [m for m in report.errors]


def test_sample_floor(bundled: KnowledgeBase) -> None:
    items = load_labelled(REPO / "eval" / "sample.yaml")
    report = evaluate(bundled, items)
    assert report.correct / report.total >= 0.90, report.errors
    for item in items:
        decision = bundled.decide(item.text)
        if item.expected == "wellbeing.crisis":
            assert decision.kind == "crisis", item.text
        if item.expected is None:
            assert decision.kind == "fallback", item.text


def test_dev_set_floor(bundled: KnowledgeBase) -> None:
    report = evaluate(bundled, load_labelled(REPO / "eval" / "dev.yaml"))
    assert report.correct / report.total >= 0.94, report.as_json()["accuracy"]
    # The mistake that hurts most: a confident answer to the wrong question.
    assert report.confident_wrong / report.total <= 0.02


@pytest.mark.parametrize(
    "text",
    [
        "明天北京天气怎么样",
        "what's the weather in Shanghai tomorrow",
        "推荐一个下款快的网贷",
        "哪个平台能借到钱",
        "花呗额度怎么提升",
        "京东怎么退货",
        "白条怎么开通",
        "asdfjkl qwerty",
        "？？？",
        "1234567",
        "🙂🙂🙂",
        # neighbouring topics that share "投诉", "转账" or "花呗" with real questions (issue 11)
        "小区物业乱收停车费，能投诉吗",
        "公司拖了我两个月工资，在哪投诉",
        "how do I add my bank card to huabei",
        "花唄點樣加額度",
        "网上有人说买他的理财产品稳赚，要先转账给他，是骗局吗",
        "我是催收员，晚上十点以后还能打吗",
    ],
)
def test_out_of_scope_and_gibberish_fall_back(bundled: KnowledgeBase, text: str) -> None:
    decision = bundled.decide(text)
    assert decision.kind == "fallback", decision


def test_second_independent_set_floor(bundled: KnowledgeBase) -> None:
    """eval/holdout.yaml is for reporting only: nothing was tuned on it, so this floor measures generalisation."""
    report = evaluate(bundled, load_labelled(REPO / "eval" / "holdout.yaml"))
    assert report.correct / report.total >= 0.95, report.as_json()["accuracy"]
    assert report.confident_wrong / report.total <= 0.02


# Realistic messages (long stories, voice input, Cantonese, Taiwan wording, English, people on the other side
# of a debt), written by people who never saw the examples. The thirty-two dev sets are tuning data
# (realistic-dev-2, -3, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16, -17, -18, -19, -21, -23, -25, -26, -27,
# -28, -29, -30, -31 and -32 were each the holdout until its figure was reported): scripts/tune_matcher.py tunes
# thresholds on them and their failures say which kinds of message need new examples (never their lines). Their floors
# stop a change from undoing that; realistic-holdout-10 (sets OM-OO) and realistic-holdout-11 (OP-OR), never tuned
# on, measure generalisation.
@pytest.mark.parametrize(
    ("name", "accuracy", "out_of_scope", "confident_wrong", "clarify"),
    [
        ("realistic-dev", 0.94, 0.96, 0.022, 0.10),
        ("realistic-dev-2", 0.96, 0.96, 0.02, 0.115),
        # Set C, the holdout until its figure was reported (90.0 %, 85.5 %, 16 of 440, 12.3 %); tuned since.
        ("realistic-dev-3", 0.93, 0.96, 0.025, 0.12),
        # Sets E and H, each measured before it was tuned on (87.5 %, then 90.3 %); tuning data since.
        ("realistic-dev-4", 0.95, 0.90, 0.02, 0.10),
        ("realistic-dev-5", 0.95, 0.90, 0.025, 0.09),
        # Sets D, F and G, the holdout until their figure was reported (89.3 %, 93.8 %, 45 of 1,080, 14.3 %).
        ("realistic-dev-6", 0.94, 0.97, 0.03, 0.115),
        # Sets I, J and K, the holdout until their figure was reported (89.5 %, 93.2 %, 40 of 1,080, 14.0 %); taught
        # since (91.8 %, 96.9 %, 33, 11.9 %).
        ("realistic-dev-7", 0.96, 0.95, 0.035, 0.125),
        # Sets L, M and N, the holdout until their figure was reported (90.8 %, 92.6 %, 37 of 1,080, 12.9 %); taught
        # since on L and M only (93.6 %, 96.3 %, 27, 13.0 %; set N alone 91.1 %, 94.4 %, 17 of 360, 11.4 %).
        ("realistic-dev-8", 0.955, 0.94, 0.02, 0.135),
        # Sets O, P and Q, the holdout until their figure was reported (91.9 %, 92.0 %, 37 of 1,080, 12.2 %); taught
        # since on O and P only (94.0 %, 94.4 %, 28, 10.7 %; set Q alone 91.9 %, 90.7 %, 15 of 360, 11.1 %).
        ("realistic-dev-9", 0.965, 0.92, 0.012, 0.12),
        # Sets R, S and T, the holdout until their figure was reported (92.6 %, 93.2 %, 25 of 1,080, 11.0 %); taught
        # since (94.9 %, 95.1 %, 14, 8.5 %).
        ("realistic-dev-10", 0.955, 0.94, 0.018, 0.095),
        # Sets U, V and W, the holdout until their figure was reported (92.6 %, 95.7 %, 37 of 1,080, 10.5 %); taught
        # since (95.3 %, 95.7 %, 24, 10.1 %).
        ("realistic-dev-11", 0.945, 0.94, 0.025, 0.11),
        # Sets X, Y and Z, the holdout until their figure was reported (92.8 % at 799f84c, 93.1 %, 96.3 %, 31 of 1,080,
        # 8.3 % at fef26f4); taught since (94.9 %, 98.8 %, 22, 8.2 %).
        ("realistic-dev-12", 0.945, 0.98, 0.022, 0.085),
        # Sets MA, MB and MC, the holdout until their figure was reported (94.1 %, 93.8 %, 22 of 1,080, 6.4 % at
        # fef26f4; 94.5 %, 94.4 %, 23, 6.4 % at 3cdfdfe); taught since (96.6 %, 96.9 %, 14, 5.7 %).
        ("realistic-dev-13", 0.955, 0.95, 0.018, 0.07),
        # Sets MD, ME and MF, the holdout until their figure was reported (92.5 %, 91.7 %, 34 of 1,080, 9.6 % on
        # 3cdfdfe; 92.5 %, 91.7 %, 31, 9.3 % at 2f57ae3); taught since (92.4 % -> 96.4 %, 91.7 % -> 99.4 %, 32 -> 9 of
        # 1,080, 9.3 % -> 9.0 %; in scope 92.5 % -> 95.9 %).
        ("realistic-dev-14", 0.955, 0.98, 0.012, 0.095),
        # Sets MG, MH and MI, the holdout until their figure was reported (95.0 %, 93.6 %, 22 of 1,080, 8.5 % on
        # 2f57ae3; 94.9 %, 94.2 %, 20, 8.6 % at e464994); taught since (95.1 % -> 97.4 %, 94.9 % -> 98.7 %, 18 -> 11
        # of 1,080, 8.6 % -> 7.7 %; in scope 95.1 % -> 97.2 %; before: 823489d).
        ("realistic-dev-15", 0.965, 0.97, 0.014, 0.085),
        # Sets MJ, MK and ML, the holdout until their figure was reported (94.1 %, 91.7 %, 26 of 1,080, 10.1 % on
        # e464994; 94.1 %, 91.7 %, 26, 10.2 % at 4375e02); tuning data since.
        ("realistic-dev-16", 0.935, 0.90, 0.026, 0.105),
        # Sets MN, MO and MP, the holdout until its figure was reported (95.6 %, 93.0 %, 23 of 1,080, 5.8 % on 4375e02
        # and at the end of that round); taught since (96.3 %, 96.2 %, 15, 5.9 %).
        ("realistic-dev-17", 0.955, 0.95, 0.016, 0.065),
        # Sets MQ-MV, the holdout until its figure was reported (94.2 %, 91.3 %, 57 of 2,160, 8.4 % at 19bf385); tuning
        # data since.
        ("realistic-dev-18", 0.935, 0.90, 0.028, 0.09),
        # Sets MW-MY, the holdout until its figure was reported (95.7 %, 94.2 %, 18 of 1,080, 6.6 % on 477d3c3 and at
        # the end of that round); tuning data since.
        ("realistic-dev-19", 0.95, 0.92, 0.02, 0.075),
        # Sets NC, ND and NE, measured before they were taught (94.3 %, 88.5 %, 27 of 1,080, 8.5 % at the start of
        # the round after 3940732); taught since (96.7 %, 95.5 %, 14, 8.2 %).
        ("realistic-dev-20", 0.955, 0.93, 0.016, 0.09),
        # Sets MZ, NA and NB, the holdout until its figure was reported (95.7 %, 90.4 %, 20 of 1,080, 6.8 % at the
        # start of the round after 59a4428); taught since (99.2 %, 98.7 %, 4, 5.6 %).
        ("realistic-dev-21", 0.98, 0.97, 0.008, 0.07),
        # Sets NI, NJ and NK, measured before they were taught (94.1 %, 89.1 %, 28 of 1,080, 7.2 % on 96d4260); taught
        # since (97.5 %, 96.8 %, 8, 6.5 %).
        ("realistic-dev-22", 0.965, 0.95, 0.012, 0.075),
        # Sets NF, NG and NH, the holdout until its figure was reported (95.6 %, 94.2 %, 19 of 1,080, 6.1 % on 59a4428,
        # when new; 95.9 %, 95.5 %, 18, 5.6 % at ea06a64); tuning data since.
        ("realistic-dev-23", 0.95, 0.92, 0.02, 0.075),
        # Sets NR, NS and NT, measured before they were taught (94.7 %, 93.6 %, 18 of 1,080, 7.8 % on c87b23a); taught
        # since (96.7 %, 98.7 %, 11, 6.8 %).
        ("realistic-dev-24", 0.96, 0.95, 0.014, 0.075),
        # Sets NL, NM and NN, the holdout until its figure was reported (95.9 %, 94.2 %, 10 of 1,080, 6.8 % on 52d81c5,
        # when new; 96.1 %, 94.9 %, 11, 6.2 % at 0dee8d0); taught since (97.1 %, 98.1 %, 8, 6.1 %).
        ("realistic-dev-25", 0.96, 0.95, 0.012, 0.075),
        # Sets NO, NP and NQ, the holdout until its figure was reported (96.3 %, 94.9 %, 13 of 1,080, 6.9 % on ea06a64,
        # when new; 96.9 %, 96.2 %, 11, 6.9 % at 6e30388); taught since (98.0 %, 99.4 %, 5, 6.8 %).
        ("realistic-dev-26", 0.965, 0.96, 0.01, 0.08),
        # Sets NU, NV and NW, the holdout until its figure was reported (95.7 %, 96.2 %, 20 of 1,080, 5.6 % on 328b40a,
        # when new; 95.7 %, 96.8 %, 20, 5.6 % at 8fd89c1).
        ("realistic-dev-27", 0.95, 0.93, 0.022, 0.07),
        # Sets NX, NY and NZ, the holdout until its figure was reported (94.8 %, 92.9 %, 21 of 1,080, 7.7 % on 6e30388,
        # when new; 95.0 %, 92.3 %, 20, 7.7 % at d366e84).
        ("realistic-dev-28", 0.94, 0.91, 0.021, 0.085),
        # Sets OA, OB and OC, the holdout until its figure was reported (96.0 %, 95.5 %, 19 of 1,080, 5.7 % on 5bb13ee,
        # when new; 96.2 %, 95.5 %, 17, 5.8 % at 14fa04b).
        ("realistic-dev-29", 0.95, 0.93, 0.02, 0.07),
        # Sets OD, OE and OF, the holdout until its figure was reported (94.2 %, 92.3 %, 27 of 1,080, 6.9 % on d366e84,
        # when new; 94.5 %, 92.3 %, 25, 7.0 % at 93a0b59).
        ("realistic-dev-30", 0.935, 0.91, 0.027, 0.08),
        # Sets OG, OH and OI, the holdout until its figure was reported (95.9 %, 97.4 %, 15 of 1,080, 6.5 % on 14fa04b,
        # when new; 96.1 %, 97.4 %, 13, 6.3 % at 10529cf).
        ("realistic-dev-31", 0.95, 0.95, 0.017, 0.075),
        # Sets OJ, OK and OL, the holdout until its figure was reported (95.9 %, 92.9 %, 14 of 1,080, 6.7 % on 53fc7bd,
        # when new; 96.0 %, 93.6 %, 13, 6.7 % at 3e1cd5b); taught since (97.2 %, 95.5 %, 10, 6.2 %).
        ("realistic-dev-32", 0.96, 0.94, 0.013, 0.075),
        # Sets OM, ON and OO, written at the start of the round after 10529cf and measured on its content when new
        # (96.0 %, 96.2 %, 12 of 1,080, 6.3 %); never tuned on. Floors a little under.
        ("realistic-holdout-10", 0.95, 0.94, 0.015, 0.075),
        # Sets OP, OQ and OR, written at the start of the round after 3e1cd5b and measured on its content when new
        # (96.4 %, 96.2 %, 11 of 1,080, 6.8 %); never tuned on. Floors a little under.
        ("realistic-holdout-11", 0.95, 0.94, 0.015, 0.08),
    ],
)
def test_realistic_sets_floor(
    bundled: KnowledgeBase, name: str, accuracy: float, out_of_scope: float, confident_wrong: float, clarify: float
) -> None:
    report = evaluate(bundled, load_labelled(REPO / "eval" / f"{name}.yaml"))
    figures = report.as_json()
    if "holdout" in name:
        # a failure shows a holdout's figures, never its lines: read in a log, they would be tuned on
        figures = {key: value for key, value in figures.items() if key not in ("errors", "per_intent")}
    assert report.correct / report.total >= accuracy, figures
    assert report.out_of_scope_rejected / report.out_of_scope_total >= out_of_scope, figures
    assert report.confident_wrong / report.total <= confident_wrong, figures
    # Fewer questions back (issue 11): "did you mean …?" and overviews together.
    assert report.clarified / report.total <= clarify, figures


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # the README's own example once got "family or employer?" (issue 11)
        ("催收打给我妈合法吗", "legal.contact_contacts"),
        ("How do I complain about a debt collector?", "report.platform"),
        ("collectors keep calling my parents", "legal.contact_contacts"),
        ("佢哋日日打畀我老細，咁都得？", "legal.contact_employer"),
        ("討債公司一直打給我爸媽，這樣合法嗎", "legal.contact_contacts"),
        # "how do I report it?", one of the three questions people ask most, once went to the employer answer
        ("How do I report a debt collector harassing me?", "report.platform"),
        ("怎么举报暴力催收", "report.platform"),
        # what the writer fears most decides, over the platform the story names (Alipay scored higher)
        ("花呗逾期两个月了，支付宝那边一般怎么处理？催收还说要起诉我。我最怕的是，会不会坐牢？", "consequence.jail"),
        # what the writer has put up with is story, what comes after "but" is asked (each was an overview before)
        ("每天几十个催收电话我都习惯了，但是现在他们打到我单位去了，这样合法吗", "legal.contact_employer"),
        ("一天几十个电话我已经习惯了，可是现在他们开始打给我爸妈，这样合法吗", "legal.contact_contacts"),
        ("一天打几十个电话我都忍了，但是现在天天半夜打，晚上这么晚打电话不违规吗", "legal.call_hours"),
    ],
)
def test_plain_questions_get_an_answer_not_a_choice(bundled: KnowledgeBase, text: str, intent: str) -> None:
    decision = bundled.decide(text)
    assert (decision.kind, decision.intent) == ("answer", intent), decision


def test_several_problems_get_an_overview(bundled: KnowledgeBase) -> None:
    decision = bundled.decide("calls all day, photoshopped me as wanted, went to my parents' home")
    assert decision.kind == "overview", decision
    assert {"legal.call_frequency", "legal.home_visit"} <= {c.intent for c in decision.candidates}


@pytest.mark.parametrize(
    "text",
    [
        "The collectors keep calling my parents and my boss. Is that legal?",
        "催收天天打给我爸妈和我领导，合法吗",
        "佢哋打畀我阿媽同老細，咁都得？",
        "討債的一直打給我爸媽跟我主管，這樣合法嗎？",
    ],
)
def test_family_and_boss_named_side_by_side_under_one_question_get_an_overview(
    bundled: KnowledgeBase, text: str
) -> None:
    """One clause, two things done, one "is that legal?" about both: one line on each, not "which of these?"."""
    decision = bundled.decide(text)
    assert decision.kind == "overview", decision
    assert [c.intent for c in decision.candidates] == ["legal.contact_contacts", "legal.contact_employer"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # the question names one of the things done: that one is answered
        (
            "They call me at midnight and they call my mother-in-law. Is calling that late even allowed?",
            "legal.call_hours",
        ),
        ("催收打到我公司又打给我爸妈，打到公司这个合法吗", "legal.contact_employer"),
    ],
)
def test_a_question_that_names_one_of_several_things_done_gets_its_answer(
    bundled: KnowledgeBase, text: str, intent: str
) -> None:
    decision = bundled.decide(text)
    assert (decision.kind, decision.intent) == ("answer", intent), decision


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # a greeting or thanks in front of the question used to win as a near copy of the greeting's examples
        ("你好，请问催收打给我妈合法吗", "legal.contact_contacts"),
        ("thanks! also can they call my boss?", "legal.contact_employer"),
        ("Hello, collectors keep calling my parents. Is that legal?", "legal.contact_contacts"),
        # and a courtesy on its own, or with a few friendly words after it, stays one
        ("你好", "meta.greeting"),
        ("hello, how are you", "meta.greeting"),
        ("谢谢你，我知道了", "meta.thanks"),
        ("多謝晒，幫到我好多", "meta.thanks"),
    ],
)
def test_a_greeting_or_thanks_in_front_of_a_question_lets_the_question_decide(
    bundled: KnowledgeBase, text: str, intent: str
) -> None:
    decision = bundled.decide(text)
    assert (decision.kind, decision.intent) == ("answer", intent), decision
