"""Loan cost: the independent phrasings of tests/data/rates.yaml, the issue's reference points, the IRR and
numeral properties, the wording rules of docs/sources.md, and `anxin rate` as volunteers run it."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import anxin, eval_items
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.rates import (
    Absurd,
    Cost,
    LoanTerms,
    Missing,
    Period,
    absurd_message,
    compute,
    explain,
    irr,
    may_hold_figures,
    meaning,
    parse,
    question_for,
    read_number,
)

DATA = Path(__file__).parent / "data" / "rates.yaml"
ITEMS: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))
REFERENCE = "借了10000 到手8500 分12期 每期还1000 年化多少"
# Fields of an item's `expect` that describe the loan rather than the result.
TERM_FIELDS = (
    "borrowed",
    "received",
    "fee_upfront",
    "periods",
    "period",
    "payment",
    "total_repaid",
    "fee_per_period",
    "days",
    "months",
    "daily_rate",
    "monthly_rate",
    "annual_rate_quoted",
    "monthly_fee_rate",
    "repayment",
)


def _items(kind: str) -> list[Any]:
    def wanted(expect: dict[str, Any]) -> bool:
        if kind == "absurd":
            return bool(expect.get("absurd"))
        if kind == "missing":
            return "missing" in expect
        return "apr" in expect

    return [pytest.param(item, id=f"{number:02d}") for number, item in enumerate(ITEMS, 1) if wanted(item["expect"])]


def _close(expected: float, got: float) -> bool:
    """The data file's tolerance: 0.001, or 0.1% of the figure for the astronomic 714-loan rates."""
    return abs(got - expected) <= max(0.001, 0.001 * abs(expected))


def _cost(text: str) -> Cost:
    terms = parse(text)
    assert isinstance(terms, LoanTerms), terms
    cost = compute(terms)
    assert isinstance(cost, Cost), cost
    return cost


def test_the_data_file_has_the_phrasings_the_issue_asks_for() -> None:
    assert len(ITEMS) == 73
    assert {item["lang"] for item in ITEMS} == {"zh-Hans", "zh-Hant", "en"}


@pytest.mark.parametrize("item", _items("numeric"))
def test_a_described_loan_gets_the_expected_annual_rate(item: dict[str, Any]) -> None:
    expect = item["expect"]
    cost = _cost(item["text"])
    assert _close(expect["apr"], cost.apr), (cost.apr, expect["apr"])
    if expect.get("effective") is not None:
        assert cost.effective is not None and _close(expect["effective"], cost.effective)


@pytest.mark.parametrize("item", _items("numeric"))
def test_a_described_loan_is_read_as_its_writer_meant(item: dict[str, Any]) -> None:
    terms = parse(item["text"])
    assert isinstance(terms, LoanTerms), terms
    for name in TERM_FIELDS:
        if name in item["expect"]:
            want, got = item["expect"][name], getattr(terms, name)
            assert got == pytest.approx(want) if isinstance(want, float | int) else got == want, name


@pytest.mark.parametrize("item", _items("missing"))
def test_too_little_information_names_what_to_ask_for(item: dict[str, Any]) -> None:
    result = parse(item["text"])
    assert isinstance(result, Missing), result
    assert set(result.fields) == set(item["expect"]["missing"])
    assert question_for(result, item["lang"]).strip()


@pytest.mark.parametrize("item", _items("absurd"))
def test_impossible_figures_give_a_reason_and_no_number(item: dict[str, Any]) -> None:
    result = parse(item["text"])
    assert isinstance(result, Absurd), result
    assert all(absurd_message(result, locale) for locale in ("zh-Hans", "zh-Hant", "en"))


# ---------------------------------------------------------------------------------------------- reference points


def test_reference_loan_costs_69_percent_and_96_compounded_with_the_cut_up_front_explained() -> None:
    cost = _cost(REFERENCE)
    assert cost.apr == pytest.approx(0.690, abs=5e-4)
    assert cost.effective == pytest.approx(0.956, abs=5e-4)
    assert (cost.total_cost, cost.deducted_up_front) == (3500, 1500)
    assert cost.cost_ratio == pytest.approx(3500 / 8500)
    lines = explain(cost, "zh-Hans")
    assert 2 <= len(lines) <= 3
    assert lines[0] == "到手8,500元，12个月每月还1,000元，共还12,000元；总成本3,500元，是到手金额的41%。"
    assert lines[1] == "按内部收益率法折算，年化约69%（按月复利约96%）。"
    assert "砍头息" in lines[2] and "《民法典》第670条" in lines[2] and "8,500元计算本金" in lines[2]
    assert "Article 670" in explain(cost, "en")[2]
    assert "砍頭息" in explain(cost, "zh-Hant")[2]


def test_quoted_daily_rate_of_wan_wu_is_18_percent_a_year() -> None:
    cost = _cost("日息万五")
    assert cost.method == "quoted"
    assert cost.apr == pytest.approx(0.1825)
    assert cost.effective == pytest.approx(1.0005**365 - 1)
    assert explain(cost, "zh-Hans")[0] == "日息0.05%，乘以365天是年化18.25%；按日复利约20%。"


def test_a_cut_is_explained_without_mainland_law_for_hong_kong_and_taiwan() -> None:
    cost = _cost("借咗一萬 到手八千五 分12個月 每個月還1000")
    for region in ("hk", "tw"):
        note = explain(cost, "zh-Hant", region)[2]
        assert "1,500元被預先扣除" in note and "民法典" not in note


# ---------------------------------------------------------------------------------------------- what the figure means


def test_mainland_framing_states_the_court_cap_without_calling_the_loan_illegal() -> None:
    lines = meaning(_cost(REFERENCE), "zh-Hans")
    text = "".join(lines)
    assert "一年期LPR四倍" in text and "年化12%" in text and "2025年5月" in text
    assert "持牌机构" in text and "不能据此说借款违法" in text
    assert "中国人民银行公告〔2021〕第3号" in text
    for outdated in ("13.8%", "24%", "36%"):  # the 2015 rule and an old LPR multiple are not current
        assert outdated not in text


def test_a_loan_under_the_cap_is_not_sent_to_complain() -> None:
    lines = meaning(_cost("私人貸款 HK$100,000 還36個月 每月供3,200"), "zh-Hans", "mainland")
    assert "这笔没有超过" in lines[0]
    assert len(lines) == 2 and "12378" not in "".join(lines)


def test_hong_kong_and_taiwan_get_their_own_rules() -> None:
    cost = _cost(REFERENCE)
    hong_kong = "".join(meaning(cost, "zh-Hant", "hk"))
    assert "《放債人條例》" in hong_kong and "48%" in hong_kong and "LPR" not in hong_kong
    taiwan = "".join(meaning(cost, "zh-Hant", "tw"))
    assert "第205條" in taiwan and "16%" in taiwan and "LPR" not in taiwan
    assert "Money Lenders Ordinance" in "".join(meaning(cost, "en", "hk"))


def test_one_question_asks_for_everything_missing() -> None:
    missing = parse("利息高不高")
    assert isinstance(missing, Missing)
    assert question_for(missing, "zh-Hans").startswith("到手多少钱？每期还多少、还几期？")
    assert question_for(missing, "zh-Hant").startswith("到手多少錢？每期還多少、還幾期？")
    assert question_for(missing, "en").startswith("How much did you actually receive")


# ---------------------------------------------------------------------------------------------- reading beyond the file


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("借钱5000，每天还100，还60天", {"borrowed": 5000, "periods": 60, "period": "day", "payment": 100}),
        ("借了五千块钱 一个星期还一次 每次还1000 还6次", {"periods": 6, "period": "week", "payment": 1000}),
        ("我借了两万，每个月还两千一，还12个月", {"borrowed": 20000, "periods": 12, "payment": 2100}),
        ("借了2w，实际到手1w7，每个月还1800，12个月", {"received": 17000, "periods": 12, "payment": 1800}),
        ("借了1000块，一天利息10块，借了10天", {"daily_rate": 0.01, "period": "once", "days": 10}),
        ("借了8萬，每個月利息2400，分24期", {"monthly_fee_rate": 0.03, "repayment": "flat", "periods": 24}),
        ("借了十万 年息一分二 借两年 到期还", {"annual_rate_quoted": 0.12, "period": "once", "months": 24}),
        ("借款金额：10,000.00元 到账金额：9,000.00元 期数：12 每期应还：950.00元", {"received": 9000, "periods": 12}),
        ("3月5号借了1万，到手9000，分12期，每期还950，逾期10天了，电话13900001111", {"borrowed": 10000, "periods": 12}),
        ("I took a $5000 payday loan and owe $5750 in two weeks", {"total_repaid": 5750, "days": 14}),
        ("my loan is 30,000 at 1.2% per month flat, 24 months", {"monthly_fee_rate": 0.012, "repayment": "flat"}),
        ("borrowed 20k, repaying 1,050 monthly for 24 months, with a 1,000 fee off the top", {"received": 19000}),
        ("借咗財務公司8萬 每月供3,800 供24期 手續費扣咗2,000", {"borrowed": 80000, "received": 78000}),
        ("借条上写借款2万 实际给了我1万8 每月还2000 还12个月", {"received": 18000, "periods": 12}),
        (
            "借款本金10000元，借款期限30天，到期应还本息12000元，服务费800元已从放款金额中扣除",
            {"received": 9200, "total_repaid": 12000, "days": 30},
        ),
        ("i borrowed 3000 and they want 3900 back after one month", {"total_repaid": 3900, "months": 1}),
        ("took out a 12k loan, 1,100 a month for a year", {"borrowed": 12000, "periods": 12}),
    ],
)
def test_other_everyday_phrasings_are_read(text: str, expected: dict[str, object]) -> None:
    terms = parse(text)
    assert isinstance(terms, LoanTerms), terms
    assert isinstance(compute(terms), Cost)
    for name, value in expected.items():
        assert getattr(terms, name) == (pytest.approx(value) if isinstance(value, float | int) else value), name


@pytest.mark.parametrize(
    "text",
    [
        "借了6000 每期还580 还有12期没还",  # remaining instalments, not the loan's
        "催收说我逾期了30天 要我今天还5000",
        "订单号20241201889 客服电话95188",
    ],
)
def test_numbers_that_are_not_loan_terms_lead_to_a_question(text: str) -> None:
    assert isinstance(parse(text), Missing)


# ---------------------------------------------------------------------------------------------- properties


def _npv(flows: list[float], rate: float) -> float:
    return sum(flow / (1 + rate) ** k for k, flow in enumerate(flows))


@given(
    received=st.integers(100, 1_000_000),
    periods=st.integers(1, 360),
    markup=st.floats(1.001, 3.0),
    period=st.sampled_from(["month", "week", "day"]),
    cut=st.floats(0.0, 0.5),
)
def test_the_rate_found_reproduces_the_schedule(
    received: int, periods: int, markup: float, period: Period, cut: float
) -> None:
    borrowed = round(received / (1 - cut))
    payment = received * markup / periods
    cost = compute(LoanTerms(borrowed=borrowed, received=received, periods=periods, period=period, payment=payment))
    assert isinstance(cost, Cost)
    flows = [float(received)] + [-payment] * periods
    assert abs(_npv(flows, cost.rate_per_period)) <= 1e-7 * received
    per_year = {"month": 12, "week": 52, "day": 365}[period]
    assert cost.apr == pytest.approx(cost.rate_per_period * per_year)
    assert cost.total_cost == pytest.approx(payment * periods - received)


@given(
    cash=st.floats(1.0, 1e6),
    outflows=st.lists(st.floats(0.0, 1e5), min_size=1, max_size=60),
)
def test_irr_zeroes_the_net_present_value_of_any_schedule(cash: float, outflows: list[float]) -> None:
    assume(sum(outflows) > cash * 1.0001)
    flows = [cash] + [-outflow for outflow in outflows]
    rate = irr(flows)
    if rate is None:  # only beyond 1,000,000% a period
        assert _npv(flows, 1e4) < 0
        return
    assert rate > 0
    assert abs(_npv(flows, rate)) <= 1e-7 * (cash + sum(outflows))


def test_irr_refuses_flows_that_are_not_a_loan() -> None:
    assert irr([100.0, -50.0, -40.0]) is None  # repays less than received
    assert irr([-100.0, 120.0]) is None
    assert irr([100.0]) is None
    assert irr([100.0, -math.inf]) is None


_DIGITS = "零一二三四五六七八九"


def _below_ten_thousand(number: int) -> str:
    text, zero = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = number // unit % 10
        if digit == 0:
            zero = zero or bool(text)
        else:
            text += ("零" if zero else "") + _DIGITS[digit] + name
            zero = False
    return text


def _chinese(number: int) -> str:
    """Standard Chinese numerals (一万零八百, 十二 is written 一十二), for numbers below 10^12."""
    parts = [(number // 10**8, "亿"), (number // 10**4 % 10**4, "万"), (number % 10**4, "")]
    text = ""
    for value, name in parts:
        if value:
            if text and value < 1000:
                text += "零"
            text += _below_ten_thousand(value) + name
        elif text and not text.endswith("零"):
            text += "零"
    return text.rstrip("零") or "零"


@given(st.integers(1, 10**11))
def test_chinese_numerals_round_trip(number: int) -> None:
    assert read_number(_chinese(number)) == number


@given(
    leading=st.integers(1, 99),
    next_digit=st.integers(1, 9),
    unit=st.sampled_from([(10**4, "万"), (1000, "千"), (100, "百")]),
    arabic=st.booleans(),
)
def test_spoken_shorthand_round_trips(leading: int, next_digit: int, unit: tuple[int, str], arabic: bool) -> None:
    """一万二 = 12000, 八千五 = 8500, 4万8 = 48000, 13万5 = 135000."""
    size, name = unit
    assume(arabic or leading < 10)
    head = str(leading) if arabic else _DIGITS[leading]
    tail = str(next_digit) if arabic else _DIGITS[next_digit]
    assert read_number(f"{head}{name}{tail}") == leading * size + next_digit * size // 10


@given(
    borrowed=st.integers(1000, 10**7),
    cut=st.integers(0, 30),
    periods=st.integers(2, 36),
    markup=st.integers(105, 200),
)
def test_a_loan_written_in_chinese_numerals_reads_back(borrowed: int, cut: int, periods: int, markup: int) -> None:
    received = borrowed * (100 - cut) // 100
    payment = received * markup // 100 // periods
    assume(payment * periods > received)
    text = f"借了{_chinese(borrowed)}元 到手{_chinese(received)}元 分{_chinese(periods)}期 每期还{_chinese(payment)}元"
    terms = parse(text)
    assert isinstance(terms, LoanTerms), (text, terms)
    assert (terms.borrowed, terms.received, terms.periods, terms.payment) == (borrowed, received, periods, payment)


@given(st.text(max_size=120))
def test_any_text_gives_a_result_not_an_exception(text: str) -> None:
    result = parse(text)
    assert isinstance(result, LoanTerms | Missing | Absurd)
    if isinstance(result, LoanTerms):
        assert isinstance(compute(result), Cost)


@given(st.text(alphabet="借了到手分期每月周天还万千百十一二五八0123456789.-%k 元日息月息扣费后次之", max_size=60))
def test_loan_like_noise_gives_a_result_and_every_figure_can_be_explained(text: str) -> None:
    result = parse(text)
    if isinstance(result, LoanTerms):
        cost = compute(result)
        assert isinstance(cost, Cost)
        for locale in ("zh-Hans", "zh-Hant", "en"):
            assert 1 <= len(explain(cost, locale)) <= 3
            assert meaning(cost, locale)


@pytest.mark.parametrize("text", ["借了" + "9" * 10_000 + "块", "千分之" + "9" * 30, "日息万" + "9" * 30, "1" * 30_000])
def test_endless_numbers_are_refused_quickly(text: str) -> None:
    assert isinstance(parse(text), Absurd | Missing)


def test_compute_never_raises_on_impossible_terms() -> None:
    for terms in (
        LoanTerms(borrowed=1e20, received=1e20, periods=12, period="month", payment=1.0),
        LoanTerms(borrowed=100.0, received=100.0, periods=10**6, period="day", payment=1.0),
        LoanTerms(borrowed=math.nan, received=100.0, periods=12, period="month", payment=10.0),
        LoanTerms(borrowed=100.0, received=1.0, periods=1, period="day", payment=100.0),  # 100 times in a day
        LoanTerms(received=100.0, periods=12, period="month"),
        LoanTerms(),
    ):
        assert isinstance(compute(terms), Absurd)


# ---------------------------------------------------------------------------------------------- the command line


def test_rate_command_prints_the_figures_as_json(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("rate", "借1万到手8500分12期每期1000", "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["terms"] == {"borrowed": 10000, "received": 8500, "periods": 12, "period": "month", "payment": 1000}
    assert data["apr"] == pytest.approx(0.690, abs=5e-4) and data["effective"] == pytest.approx(0.956, abs=5e-4)
    assert (data["total_cost"], data["deducted_up_front"]) == (3500, 1500)
    assert data["cost_ratio"] == pytest.approx(3500 / 8500)
    assert "砍头息" in data["explanation"][-1] and "一年期LPR四倍" in data["meaning"][0]


def test_rate_command_asks_for_what_is_missing(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("rate", "is 12 installments too many?", "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["missing"] == ["amount", "received_or_payment"]
    assert data["question"].startswith("How much did you borrow and actually receive")


def test_rate_command_refuses_an_absurd_rate_and_rejects_bad_arguments(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("rate", "日息50%", "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["absurd"] == "rate_too_high"
    assert anxin("rate", kb_dir=kb_dir, data_dir=data_dir).returncode == 2
    assert anxin("rate", "x", "--locale", "fr", kb_dir=kb_dir, data_dir=data_dir).returncode == 2


def test_irr_finds_a_root_just_below_the_cap() -> None:
    """A root between the last doubling (8,192) and the cap (10,000) is found, not given up on."""
    rate = irr([2.0, -16387.0])
    assert rate == pytest.approx(8192.5)


# --- the pre-check the dialog asks of every message first ------------------------------------------------------


def test_a_message_said_to_hold_no_figure_never_parses_as_a_loan() -> None:
    """`may_hold_figures` lets the dialog skip `parse` for a message off the topic of cost: it must never be
    False for one that parses as LoanTerms (every phrasing here, every message of the question dev sets and one in
    three of the safety tuning set's 78,000, whose debts are told in the same words: all of them took 26 s)."""
    texts = [item["text"] for item in ITEMS if isinstance(item.get("text"), str)]
    for path in sorted((DATA.parent.parent.parent / "eval").glob("*.yaml")):
        if "holdout" not in path.name:
            items = eval_items(path.name)  # parsed once per run (conftest)
            texts.extend(item["text"] for item in items[:: 3 if path.name.startswith("safety") else 1])
    skipped = [text for text in texts if not may_hold_figures(text)]
    assert skipped, "the pre-check should spare most messages"
    assert not [text for text in skipped if isinstance(parse(text), LoanTerms)]
    assert may_hold_figures("借了一万 到手八千五 分十二期 每期还一千") and may_hold_figures("日息百分之点五")
    assert may_hold_figures("borrowed 5k, pay back over twelve monthly payments")


@given(st.text(alphabet="借到手还期年月日息率点百分之万千两一二十拾壹貳萬 .,%$0123456789abkw①²", max_size=30))
def test_no_figure_no_loan(text: str) -> None:
    if not may_hold_figures(text):
        assert not isinstance(parse(text), LoanTerms)
