"""Matcher decisions on the fixture knowledge base: answer, clarify, fallback, and the JSON contract."""

from __future__ import annotations

import dataclasses

import pytest

from bot.knowledge import KnowledgeBase
from bot.matcher import (
    LEGALITY,
    REMEDY,
    Analysis,
    Matcher,
    Thresholds,
    asks_how_to_tell,
    asks_if_genuine,
    asks_police,
    clauses,
    complained_in_vain,
    complaint_target,
    coordinated,
    decide,
    focused,
    question_form,
    scam_offer,
    without_place,
)
from bot.models import Candidate


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


# --- deciding from the scores alone (`decide` is a pure function of an Analysis and the thresholds) ----------------

LIMITS = Thresholds()


def _analysis(
    ranked: dict[str, float],
    clauses: tuple[tuple[str, bool], ...] = (),
    conjuncts: tuple[tuple[str, float], ...] = (),
) -> Analysis:
    return Analysis(
        tuple(Candidate(intent, score) for intent, score in ranked.items()),
        tuple(Candidate(intent, 30.0) for intent, _ in clauses),  # each below overview: no several problems
        tuple(asks for _, asks in clauses),
        tuple(Candidate(intent, score) for intent, score in conjuncts),
    )


def test_a_close_call_is_answered_when_the_clauses_and_the_question_name_the_leader() -> None:
    # 7 ahead: too close for the rival rule alone, but the story and the question both name it
    analysis = _analysis(
        {"legal.threats": 40.0, "legal.insults": 33.0}, (("legal.threats", False), ("legal.threats", True))
    )
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent, decision.sure) == ("answer", "legal.threats", False)


@pytest.mark.parametrize(
    ("clauses", "runner_up"),
    [
        ((("legal.threats", False), ("legal.insults", True)), 33.0),  # the question names the runner-up
        ((("legal.threats", False), ("legal.insults", False)), 33.0),  # half the clauses is not most of them
        ((("legal.threats", False), ("legal.threats", True)), 36.0),  # agreed, but only 4 ahead
        ((), 33.0),  # one clause: nothing to agree with
    ],
)
def test_a_close_call_still_asks_when_the_message_does_not_agree(
    clauses: tuple[tuple[str, bool], ...], runner_up: float
) -> None:
    analysis = _analysis({"legal.threats": 40.0, "legal.insults": runner_up}, clauses)
    assert decide(analysis, LIMITS, frozenset()).kind == "clarify"


def test_things_done_side_by_side_under_one_question_get_an_overview_in_the_order_told() -> None:
    # the employer clearly leads, but "打给我爸妈和我领导，合法吗" asks about both
    analysis = _analysis(
        {"legal.contact_employer": 46.0, "legal.contact_contacts": 28.0},
        conjuncts=(("legal.contact_contacts", 50.0), ("legal.contact_employer", 67.0)),
    )
    decision = decide(analysis, LIMITS, frozenset())
    assert decision.kind == "overview"
    assert [c.intent for c in decision.candidates] == ["legal.contact_contacts", "legal.contact_employer"]


@pytest.mark.parametrize(
    "conjuncts",
    [
        (("legal.contact_contacts", 50.0), ("report.police", 60.0)),  # only things done are asked "is it allowed?"
        (("legal.contact_contacts", 50.0), ("legal.contact_employer", 25.0)),  # a conjunct that says too little
        (("legal.contact_contacts", 50.0), ("legal.threats", 50.0)),  # not a likely intent of the whole message
        (("legal.contact_contacts", 50.0), ("legal.contact_contacts", 45.0)),  # one thing, named twice
    ],
)
def test_conjuncts_that_do_not_name_two_things_done_get_no_overview(conjuncts: tuple[tuple[str, float], ...]) -> None:
    analysis = _analysis({"legal.contact_employer": 46.0, "legal.contact_contacts": 28.0}, conjuncts=conjuncts)
    assert decide(analysis, LIMITS, frozenset()).kind == "answer"


@pytest.mark.parametrize(
    ("text", "conjuncts"),
    [
        ("催收天天打给我爸妈和我领导，合法吗", ["催收天天打给我爸妈", "我领导"]),
        (
            "The collectors keep calling my parents and my boss. Is that legal?",
            ["The collectors keep calling my parents ", " my boss"],
        ),
        ("佢哋打畀我阿媽同老細，咁都得？", ["佢哋打畀我阿媽", "老細"]),
        ("他们半夜打电话，还骂我全家，这些都合法吗", ["他们半夜打电话", "还骂我全家"]),
        # the question names its own topic: what comes before it is story
        ("They call me at midnight and call my mother-in-law. Is calling that late even allowed?", []),
        ("催收打到我公司又打给我爸妈，打到公司这个合法吗", []),
        # no question whether it is allowed, or only one thing before it
        ("催收天天打给我爸妈和我领导，我该怎么办", []),
        ("催收天天打给我爸妈，合法吗", []),
    ],
)
def test_coordinated_finds_what_one_question_whether_it_is_allowed_covers(text: str, conjuncts: list[str]) -> None:
    assert coordinated(text) == conjuncts


@pytest.mark.parametrize(
    ("text", "form"),
    [
        ("他们把我的照片发到业主群里，这样合法吗？", LEGALITY),
        ("催收把我的欠款截图发到朋友圈，犯不犯法", LEGALITY),
        ("They posted my photo in a group chat. Is that even allowed?", LEGALITY),
        ("How many times a day can they legally call?", LEGALITY),
        ("他们把我P成通缉令发到抖音上，怎么让平台删掉？", REMEDY),
        ("I know it's illegal. How do I get the post taken down?", REMEDY),
        ("我知道这是违法的。现在只想知道去哪里投诉", REMEDY),
        # whether to act is a remedy too; whether *they* may do something is not
        ("催收堵在我家楼下，我要不要报警", REMEDY),
        ("Can I call the police on them?", REMEDY),
        ("他们可以上门吗", ""),
        # "what do I do" asks nothing in particular; asking both is neither
        ("他们天天打电话骂我，我该怎么办", ""),
        ("这样合法吗？我该去哪里投诉？", ""),
        ("催收打给我妈", ""),
    ],
)
def test_question_form_tells_is_it_allowed_from_what_do_i_do(text: str, form: str) -> None:
    assert question_form(text) == form


@pytest.mark.parametrize(("form", "intent"), [(LEGALITY, "legal.expose_info"), (REMEDY, "report.online_exposure")])
def test_a_close_call_between_what_was_done_and_how_to_act_is_answered_by_the_questions_form(
    form: str, intent: str
) -> None:
    analysis = dataclasses.replace(
        _analysis({"legal.expose_info": 40.0, "report.online_exposure": 36.0}, ()), form=form
    )
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent, decision.sure) == ("answer", intent, False)


@pytest.mark.parametrize(
    ("scores", "form"),
    [
        ({"legal.expose_info": 40.0, "report.online_exposure": 36.0}, ""),  # the question says neither
        ({"legal.threats": 40.0, "legal.insults": 36.0}, LEGALITY),  # both are things done
        ({"rights.privacy": 40.0, "report.online_exposure": 36.0}, REMEDY),  # not a legal.*/report.* pair
    ],
)
def test_the_questions_form_decides_only_between_a_thing_done_and_how_to_act(
    scores: dict[str, float], form: str
) -> None:
    analysis = dataclasses.replace(_analysis(scores, ()), form=form)
    assert decide(analysis, LIMITS, frozenset()).kind == "clarify"


@pytest.mark.parametrize(
    ("text", "genuine"),
    [
        ("收到一条短信说我已经被立案了，这是真的假的", True),
        ("律师函上的电话打不通，我怎么分辨是不是真的律师", True),
        ("Got a court notice on WhatsApp. Is it real?", True),
        ("I got a real court summons from the lender. What now?", False),  # says it is real
        ("法院传票来了，开庭要带什么", False),
        # or whether to trust it
        ("有家公司说收两成服务费帮我跟平台谈减免，靠谱吗", True),
        ("A firm wants 20% upfront to settle my debts for me. Can I trust them?", True),
        # whether a threat of jail is true: the jail answer's question, unless something official could be faked
        ("催收说我再拖下去就要被抓去坐牢，是真的吗", False),
        ("The agent says I'll be arrested if I don't pay by Friday. Is that true?", False),
        ("收到一条短信说我涉嫌诈骗要坐牢，这短信是真的吗", True),
    ],
)
def test_asks_if_genuine(text: str, genuine: bool) -> None:
    assert asks_if_genuine(text) is genuine


@pytest.mark.parametrize(
    ("text", "offer"),
    [
        ("有家债务协商公司说能帮我减一半，靠谱吗", "scam.debt_relief_agency"),
        ("找第三方机构跟平台谈停息挂账，有必要吗", "scam.debt_relief_agency"),
        ("有人说交五千能把征信上的逾期删掉，是真的吗", "scam.credit_repair"),
        ("催收让我把钱转到他个人微信上，是不是骗子", "scam.fake_collector"),
        # English offers: the word boundaries are regex boundaries, not backspace characters
        ("Legit? They repair your credit record for a 2000 RMB fee", "scam.credit_repair"),
        ("Scam? He wants it paid into his personal account", "scam.fake_collector"),
        # no question whether to trust it, or the offer is asked about beside another question: no offer
        ("我想自己跟平台协商分期，怎么谈", ""),
        ("平台客服说可以协商分期，靠谱吗", ""),
        ("花呗能不能协商分期？另外有人说交钱能修复征信，靠谱吗？", ""),
        ("催收说加他微信谈，这家律所是真的吗", ""),
    ],
)
def test_scam_offer(text: str, offer: str) -> None:
    assert scam_offer(text) == offer


@pytest.mark.parametrize(
    ("top", "kind", "intent"),
    [
        ("rights.negotiate", "answer", "scam.debt_relief_agency"),  # negotiating yourself is not what was asked
        ("legal.third_party_agency", "answer", "legal.third_party_agency"),  # a collector's claim: left to the rest
    ],
)
def test_a_question_whether_to_trust_an_offer_picks_the_scam(top: str, kind: str, intent: str) -> None:
    scores = {top: 60.0, "scam.debt_relief_agency": 30.0}
    analysis = dataclasses.replace(_analysis(scores, ()), offer="scam.debt_relief_agency")
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent) == (kind, intent)


@pytest.mark.parametrize(
    ("runner_up", "kind"),
    [
        ("rights.lawsuit", "answer"),  # a fake court notice, not a real lawsuit
        ("legal.third_party_agency", "clarify"),  # is this agency really the platform's? both legal.*: ask
    ],
)
def test_a_question_whether_it_is_genuine_picks_impersonation(runner_up: str, kind: str) -> None:
    analysis = dataclasses.replace(_analysis({runner_up: 40.0, "legal.impersonation": 36.0}, ()), genuine=True)
    decision = decide(analysis, LIMITS, frozenset())
    assert decision.kind == kind
    if kind == "answer":
        assert (decision.intent, decision.sure) == ("legal.impersonation", False)


@pytest.mark.parametrize(
    ("text", "police"),
    [
        ("他们半夜在我家楼下堵我，这种情况能报警吗？", True),
        ("收數佬喺門口潑油，我應唔應該報警？差人會唔會理？", True),
        ("The collector came to my flat and kicked the door. Can I call the police?", True),
        ("他们在门口贴我照片，这合法吗？能报警吗？", False),  # also asks whether it is allowed
        ("他们在群里发我照片违法吗，我能不能报警", False),  # the same in one sentence
        ("报了警，警察说是经济纠纷不管，还能找谁？", False),  # the police were told already
        ("他们一直骂我，我该怎么办", False),
    ],
)
def test_asks_police(text: str, police: bool) -> None:
    assert asks_police(text) is police


@pytest.mark.parametrize(
    ("police", "kind", "intent"),
    [
        (40.0, "answer", "report.police"),  # the story names the act, the question asks about the police
        (30.0, "answer", "legal.home_visit"),  # the police answer is not likely enough on its own
    ],
)
def test_a_question_about_the_police_picks_the_police_answer(police: float, kind: str, intent: str) -> None:
    analysis = dataclasses.replace(_analysis({"legal.home_visit": 70.0, "report.police": police}, ()), police=True)
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent) == (kind, intent)


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("催收骂人，我想直接跟平台客服投诉这个催收员，怎么弄？", "report.platform"),
        ("How do I complain to the bank itself about its collectors?", "report.platform"),
        ("催收天天骚扰，该找哪个监管部门投诉？", "report.regulator"),
        ("想举报这个网贷 是找银保监还是金融局", "report.regulator"),
        ("去哪投诉催收", ""),  # names no one
        ("先跟平台客服投诉还是直接找监管部门？", ""),  # names both
    ],
)
def test_complaint_target(text: str, target: str) -> None:
    assert complaint_target(text) == target


def test_the_complaints_addressee_decides_between_the_lender_and_the_regulator() -> None:
    scores = {"report.regulator": 40.0, "report.platform": 37.0}
    analysis = dataclasses.replace(_analysis(scores, ()), target="report.platform")
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent, decision.sure) == ("answer", "report.platform", False)
    assert decide(_analysis(scores, ()), LIMITS, frozenset()).kind == "clarify"


@pytest.mark.parametrize(
    ("text", "tell"),
    [
        ("收到一张法院传票的照片，让我打一个手机号，怎么分辨是不是真的？", True),
        ("A 'lawyer' emailed me a summons with no case number. How can I tell if it's real?", True),
        ("催收说不还就要坐牢，这是真的吗？", False),  # asks whether the threat is true, not who sent it
    ],
)
def test_asks_how_to_tell(text: str, tell: bool) -> None:
    assert asks_how_to_tell(text) is tell


def test_how_to_tell_a_fake_from_the_real_thing_picks_impersonation() -> None:
    scores = {"consequence.jail": 45.0, "legal.impersonation": 30.0}
    analysis = dataclasses.replace(_analysis(scores, ()), tell=True)
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent, decision.sure) == ("answer", "legal.impersonation", False)
    assert decide(_analysis(scores, ()), LIMITS, frozenset()).intent == "consequence.jail"


@pytest.mark.parametrize(
    ("text", "stuck"),
    [
        ("上周在12378投诉了，到现在都没人回复，他们还天天打，接下来怎么办？", True),
        ("報咗警都冇用，佢哋繼續打嚟，仲可以點做？", True),
        ("I filed a complaint with the regulator a month ago and nothing happened. What's next?", True),
        ("投诉了平台没用，听说可以找互金协会，那边能管吗？", False),  # names where to go next
        ("催收天天打，我该怎么办？", False),  # nothing done yet
        # a complaint told by how often, or as a report to a regulator (dev-15)
        ("投诉了四五次一点用都没有，电话照样打，还能找谁？", True),
        ("向金管會檢舉過了，討債的還是天天打來，接下來怎麼辦？", True),
    ],
)
def test_complained_in_vain(text: str, stuck: bool) -> None:
    assert complained_in_vain(text) is stuck


def test_a_complaint_that_changed_nothing_gets_the_what_next_answer() -> None:
    scores = {"report.police": 50.0, "report.no_response": 30.0}
    analysis = dataclasses.replace(_analysis(scores, ()), stuck=True)
    decision = decide(analysis, LIMITS, frozenset())
    assert (decision.kind, decision.intent, decision.sure) == ("answer", "report.no_response", False)


@pytest.mark.parametrize(
    ("text", "focus"),
    [
        ("催收打到我公司又打给我爸妈。最主要我想问打到公司这个合法吗？", "最主要我想问打到公司这个合法吗"),
        ("利息好高，还天天打电话，我就想知道这个平台有没有牌照？另外……", "就想知道这个平台有没有牌照"),
        ("借了个小app。先问下这利息合法吗？这平台有牌照吗？", "先问下这利息合法吗"),
        ("收數佬日日打嚟，我淨係想知點樣先可以刪咗啲相", "净系想知点样先可以删咗啲相"),
        ("They call my boss. Most importantly, can they post my photo?", "most importantly, can they post my photo"),
        # what the writer fears most is what they ask about: "最担心的是，这种情况我会不会坐牢？"
        ("花呗逾期了，催收说要起诉。最担心的是，我会不会坐牢？", "最担心的是,我会不会坐牢"),
        ("我最驚嘅係會唔會坐監", "最惊嘅系会唔会坐监"),
        ("Calls at night. My biggest worry is, can they call my boss?", "my biggest worry is, can they call my boss"),
        # what the writer has put up with is story; the question comes after "but"
        ("每天几十个电话我都习惯了，但是现在打到我单位去了，这样合法吗", "但是现在打到我单位去了,这样合法吗"),
        ("骂我的话我都忍了，可是半夜三点还打，这个时间违规吗？", "可是半夜三点还打,这个时间违规吗"),
        ("我忍了很久，但是没用", ""),  # "I put up with it for long" is not followed by "but" at once
        ("我最担心孩子知道", ""),  # a worry told, not a question singled out
        ("我先问了平台客服，他们说没办法，怎么办？", ""),  # asked the platform already: story, not focus
        ("催收特别是半夜打电话，合法吗？", ""),  # "especially at night" singles out a time, not a question
        ("催收打给我爸妈合法吗？", ""),
    ],
)
def test_focused_finds_what_the_writer_mainly_wants_to_know(text: str, focus: str) -> None:
    assert focused(text) == focus


def test_what_the_writer_singles_out_is_answered_over_a_louder_aside() -> None:
    """"催收打到我公司又打给我爸妈，还骂得很难听。最主要我想问打到公司这个合法吗？": the insults score higher in the
    story, but the writer says what they want to know."""
    analysis = _analysis({"legal.insults": 53.0, "legal.contact_employer": 38.0}, ())
    focus = Candidate("legal.contact_employer", 38.0)
    decision = decide(dataclasses.replace(analysis, focus=focus), LIMITS, frozenset())
    assert (decision.kind, decision.intent, decision.sure) == ("answer", "legal.contact_employer", False)
    weak = dataclasses.replace(analysis, focus=Candidate("legal.contact_employer", 20.0))
    assert decide(weak, LIMITS, frozenset()).intent == "legal.insults"  # too little in the focused part to go on


def test_a_sentence_ending_in_a_question_mark_asks() -> None:
    """"要不要跟家里坦白？" has no question word the clause pattern knows, but its question mark says it asks."""
    found = clauses("催收说要打给我爸妈。我很纠结，要不要先跟家里坦白？")
    assert found[-1] == ("我很纠结，要不要先跟家里坦白", True)
    assert found[0][1] is False


def test_now_what_is_asked_about_the_sentence_before_it() -> None:
    """"现在怎么办" names nothing: it asks about what was told just before, so that part is the question."""
    found = clauses("我已经跟监管投诉了，结果他们还是照打，现在怎么办？")
    assert found[-1] == ("结果他们还是照打，现在怎么办？", True)


def test_whether_it_is_real_is_asked_about_the_sentence_before_it() -> None:
    """"怎么分辨真假" names nothing: alone it matched the fake collector's "is he real?" and led an overview."""
    found = clauses("有人打电话说是律师。他说我已经被立案了，怎么分辨真假？")
    assert found[-1] == ("他说我已经被立案了，怎么分辨真假", True)


def test_whether_it_is_above_board_is_asked_about_the_sentence_before_it(bundled_knowledge: KnowledgeBase) -> None:
    """"这是正规的吗" names nothing: alone it matched "is this lender licensed?" and outscored the private account the
    collector asked for (realistic-dev-17, -18). "这个平台正规吗" names the platform, so it asks on its own."""
    assert clauses("有人自称催收。他让我把钱转到私人账户里，这是正规的吗？")[-1] == (
        "他让我把钱转到私人账户里，这是正规的吗",
        True,
    )
    assert clauses("催收天天打电话。这个平台正规吗？")[-1] == ("这个平台正规吗", True)
    decision = bundled_knowledge.decide("催收让我把钱转到私人账户里，这是正规的吗？")
    assert (decision.kind, decision.intent) == ("answer", "scam.fake_collector")


def test_not_knowing_what_to_ask_does_not_ask() -> None:
    """"脑子很乱，不知道该问什么" tells how the writer feels; the question is the one that follows."""
    found = clauses("催收天天打电话。我脑子很乱，不知道该问什么。你能帮我做什么？")
    assert found[1] == ("我脑子很乱，不知道该问什么", False)
    # not knowing where to complain is the question itself
    assert clauses("催收天天打电话。我想投诉，不知道去哪里投诉。")[-1][1] is True


def test_a_or_not_a_asks_but_not_after_i_dont_know() -> None:
    """"会不会坐牢啊" with no question mark asks (NO-NQ: the overview led with the calls to the parents instead);
    "也不知道她有没有责任" inside a story tells what the writer is unsure of, unless it ends with a question mark."""
    found = clauses("催收天天打我爸妈电话，还说再不还就立案抓我，欠网贷不还到底会不会坐牢啊")
    assert found[-1] == ("欠网贷不还到底会不会坐牢啊", True)
    assert [asks for _, asks in found[:2]] == [False, False]
    assert clauses("收數佬日日打嚟，我係咪要報警先")[-1][1] is True
    story = clauses("我怕告诉老婆以后她要跟着一起还，也不知道她有没有责任，但更纠结的是到底该不该跟她说")
    assert story[1] == ("也不知道她有没有责任", False)
    assert story[2][1] is True
    assert clauses("我背着老婆欠了好几个平台的网贷。也不知道她有没有责任？")[-1][1] is True


@pytest.mark.parametrize(
    "place", ["我喺香港 ", "我而家住喺荃灣，", "I'm in Hong Kong. ", "我在台灣，", "人在高雄 "]
)
def test_saying_where_one_is_changes_no_topic(bundled_knowledge: KnowledgeBase, place: str) -> None:
    """"我喺香港" picks the Hong Kong answer (bot.region), not the topic: as story words it pulled "財務公司話要上門淋
    紅油" from an answer to a question back."""
    question = "財務公司話要上門淋紅油 我應該點做"
    kb = bundled_knowledge
    alone, placed = kb.decide(question), kb.decide(place + question)
    assert (alone.kind, alone.intent) == ("answer", "legal.threats")
    assert (placed.kind, placed.intent) == (alone.kind, alone.intent)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("我在大陸念書時開了京東白條，回台灣後就忘了繳，現在逾期了會怎樣？", "platform.jd"),
        ("I have an overdue JD Baitiao balance. What happens now?", "platform.jd"),
        ("信用卡遲繳三個月了，接下來會發生什麼事？", "consequence.overdue"),  # a card is no lender with an answer
        ("逾期了会怎么样", "consequence.overdue"),
    ],
)
def test_a_lender_named_in_the_story_gets_its_own_answer(
    bundled_knowledge: KnowledgeBase, text: str, intent: str
) -> None:
    """"What happens now?" after a story naming 白条 is asked about JD's Baitiao: its answer says what JD does next
    (NU-NW, realistic-dev-3); the general one only when no lender with an answer of its own is named."""
    decision = bundled_knowledge.decide(text)
    assert (decision.kind, decision.intent) == ("answer", intent)


def test_only_hong_kong_and_taiwan_are_left_out() -> None:
    """From Hong Kong or Taiwan, being in the mainland says where the loan is (Alipay, JD): it stays; so does where
    the family is."""
    assert without_place("我在香港贷款公司说要上门") == "贷款公司说要上门"
    assert without_place("i m in hong kong the财仔keeps calling") == "the财仔keeps calling"
    assert without_place("我在大陆用的花呗还不出来") == "我在大陆用的花呗还不出来"
    assert without_place("家人在台湾被催收") == "家人在台湾被催收"
    assert without_place("i m in hkd debt") == "i m in hkd debt"


def test_what_to_prepare_is_asked_about_the_sentence_before_it() -> None:
    """"需要准备什么" names nothing of its own: alone it matched "what to prepare for a complaint" (dev-15)."""
    found = clauses("收到法院的传票了。网贷公司告我，下周三开庭。需要准备什么？")
    assert found[-1] == ("网贷公司告我，下周三开庭，需要准备什么", True)


@pytest.mark.parametrize(
    ("pair", "kind"),
    [
        (("rights.negotiate", "scam.debt_relief_agency"), "answer"),  # a paid negotiator: the scam answer
        (("legal.third_party_agency", "scam.fake_collector"), "clarify"),  # the other is a legal.*: ask
        (("legal.impersonation", "scam.fake_collector"), "clarify"),  # both are fakes: ask
    ],
)
def test_a_question_whether_to_trust_it_picks_the_scam(pair: tuple[str, str], kind: str) -> None:
    analysis = dataclasses.replace(_analysis({pair[0]: 40.0, pair[1]: 36.0}, ()), genuine=True)
    decision = decide(analysis, LIMITS, frozenset())
    assert decision.kind == kind
    if kind == "answer":
        assert decision.intent == pair[1]


def test_a_story_clause_raises_no_out_of_scope_intent() -> None:
    """"我是开出租车的" says who asks, not what: only the whole message or a question makes it out of scope."""
    taxi = _Intent("oos.travel", ("我是开出租车的", "打车去机场多少钱", "出租车怎么叫"))
    taxi.out_of_scope = True
    calls = _Intent("legal.call_hours", ("催收半夜打电话合法吗", "催收节假日打电话可以吗", "夜里十一点以后还打电话"))
    matcher = Matcher.build([taxi, calls])
    alone = {c.intent: c.score for c in matcher.scores("我是开出租车的")}["oos.travel"]
    message = "我是开出租车的，白天睡觉。催收可以在夜里十一点以后或者节假日打电话给我吗？"
    scores = {c.intent: c.score for c in matcher.scores(message)}
    assert scores["oos.travel"] < 0.6 * alone  # the whole message's score, not the story's × CONTEXT_WEIGHT
    assert matcher.match(message).intent == "legal.call_hours"
    assert matcher.match("我是开出租车的，想问问打车去机场多少钱？").kind == "fallback"


def _asked(*clauses: tuple[str, float]) -> Analysis:
    ranked = {intent: score for intent, score in sorted(clauses, key=lambda c: -c[1])}
    return Analysis(
        tuple(Candidate(intent, score) for intent, score in ranked.items()),
        tuple(Candidate(intent, score) for intent, score in clauses),
        (True,) * len(clauses),
    )


def test_two_questions_naming_different_problems_get_an_overview_led_by_the_first() -> None:
    # "这利息合法吗？我到底欠多少能不能让他们列清楚？": the second scores higher, the first is asked first
    decision = decide(_asked(("legal.interest_fees", 36.0), ("rights.debt_statement", 60.0)), LIMITS, frozenset())
    assert decision.kind == "overview"
    assert [c.intent for c in decision.candidates] == ["legal.interest_fees", "rights.debt_statement"]


@pytest.mark.parametrize(
    "clauses",
    [
        (("rights.debt_statement", 60.0), ("legal.interest_fees", 36.0)),  # the first asked leads anyway
        (("legal.interest_fees", 30.0), ("rights.debt_statement", 60.0)),  # the first says too little
        (("oos.travel", 50.0), ("rights.debt_statement", 60.0)),  # out of scope is no problem to list
    ],
)
def test_two_questions_get_no_overview_when_the_first_leads_or_names_nothing_clearly(
    clauses: tuple[tuple[str, float], ...],
) -> None:
    decision = decide(_asked(*clauses), LIMITS, frozenset({"oos.travel"}))
    assert decision.kind == "answer"
    assert decision.intent == "rights.debt_statement"


def test_the_likeliest_intents_of_thousands_are_those_one_stable_sort_of_them_all_gives() -> None:
    # Beyond LIKELIEST_SORTED intents only the contenders are sorted; the same indexes must come out in the same
    # order as a stable sort of every score: positives only, best first, ties by index (many ties below).
    import numpy as np

    from bot.matcher import LIKELIEST_SORTED, _likeliest

    def every_score_sorted(scores: np.ndarray, limit: int) -> list[int]:
        best = np.argsort(-scores, kind="stable")[:limit].tolist()
        return [index for index in best if scores[index] > 0]

    rng = np.random.default_rng(19)
    for trial in range(3000):
        size = int(rng.integers(LIKELIEST_SORTED + 1, 6000))
        shape = trial % 4
        if shape == 0:  # half of them positive, all different
            scores = rng.random(size) - 0.5
        elif shape == 1:  # a few values, so ties everywhere, the limit-th among them
            scores = np.round(rng.random(size) * 4) / 4 - 0.25
        elif shape == 2:  # fewer positive scores than the limit
            scores = np.zeros(size)
            scores[rng.integers(0, size, int(rng.integers(0, 8)))] = rng.random()
        else:  # sparse, tied positives
            scores = np.where(rng.random(size) < 0.01, rng.integers(1, 3, size).astype(float), 0.0)
        for limit in (1, 6, 8):
            assert _likeliest(scores, limit) == every_score_sorted(scores, limit), (trial, limit)
