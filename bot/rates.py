"""Loan cost: recognise a loan described in a message and work out its real annualised rate.

Pure and synchronous (no I/O beyond the cached script converters of `bot.text`), so the dialog can call it on
any channel and tests can run it directly:

    parse(text)              -> LoanTerms | Missing | Absurd
    may_hold_figures(text)   -> False when `parse` cannot find one number, so cannot return LoanTerms
    compute(terms)           -> Cost | Absurd
    explain(cost, locale)    -> how the figure was reached (two or three lines)
    meaning(cost, locale)    -> what the figure means under the rules of the user's region
    question_for(missing, …) -> one question asking for what is missing
    absurd_message(absurd, …)-> why no figure can be given

Results, not exceptions: parsing and computing never raise on what a user typed. `parse` returns `LoanTerms`
only when `compute` can give a figure for them; `Missing` names what to ask for; `Absurd` says why the input
cannot be a loan (a negative amount, zero instalments, 日息50%, a 10,000-digit number…).

Conventions (the same as `tests/data/rates.yaml`, written independently):

- cash at the start = money received − a fee paid separately at the start; a fee deducted from the loan is
  already missing from the money received (that deduction is 砍头息);
- every period the borrower pays the instalment plus any per-period fee; the per-period rate r is the
  internal rate of return of those flows; `apr` = r × periods a year (12, 52, 365; 365/days or 12/months
  for a single repayment), `effective` = (1 + r)^(periods a year) − 1;
- a quoted rate with no schedule: daily × 365 or monthly × 12, compounded for `effective`; a quoted annual
  rate has no `effective` (its compounding is unknown);
- 等额本息 (annuity): a level instalment on the declining balance; flat (月平息, 分期手续费): the fee is charged
  on the original principal every period and the principal is repaid in equal parts.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

from .models import Locale
from .patterns import LazyPattern, lazy
from .region import Region
from .text import has_cjk, to_simplified, to_traditional

__all__ = [
    "Absurd",
    "AbsurdReason",
    "Cost",
    "LoanTerms",
    "Missing",
    "MissingField",
    "Period",
    "Repayment",
    "absurd_message",
    "cash_flows",
    "compute",
    "explain",
    "irr",
    "may_hold_figures",
    "meaning",
    "parse",
    "question_for",
    "read_number",
]

Period = Literal["month", "week", "day", "once"]
Repayment = Literal["annuity", "flat"]
MissingField = Literal["amount", "received_or_payment", "periods"]
AbsurdReason = Literal[
    "negative",
    "zero",
    "too_large",
    "out_of_range",
    "received_more_than_borrowed",
    "fee_exceeds_money",
    "no_cost",
    "rate_too_high",
    "incomplete",
]

PERIODS_PER_YEAR: dict[str, int] = {"month": 12, "week": 52, "day": 365}
MISSING_ORDER: tuple[MissingField, ...] = ("amount", "received_or_payment", "periods")

# Limits past which the figures cannot be a personal loan; they keep arithmetic finite and messages honest.
MAX_AMOUNT = 1e9
MAX_PERIODS = 1200
MAX_DAYS = 3650
MAX_MONTHS = 120
MAX_DIGITS = 15  # beyond this a float no longer holds the number exactly, and it is no amount anyone borrowed
MAX_TEXT = 20_000
# Quoted rates above these are almost always a slip (日息10% = 3,650% a year; the writer meant 0.1%?).
MAX_DAILY_RATE = 0.05
MAX_MONTHLY_RATE = 0.5
MAX_ANNUAL_RATE = 10.0
MAX_FLAT_RATE = 0.2
MAX_APR = 1000.0  # 100,000% a year from the user's own figures: one of them is wrong


# ---------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class LoanTerms:
    """A loan as the borrower described it. Field names and meanings follow `tests/data/rates.yaml`.

    Amounts are in the currency the user wrote (元, HK$, NT$…); rates are fractions (日息万五 = 0.0005).
    `received` is the cash actually in hand (a fee deducted from the loan is already taken off);
    `fee_upfront` is a fee paid separately at the start. `payment` is the instalment as stated, without
    `fee_per_period`; None when the schedule comes from `total_repaid` or a rate. For a single repayment
    `period` is "once", `periods` is 1 and `days` or `months` says when.
    """

    borrowed: float | None = None
    received: float | None = None
    fee_upfront: float = 0.0
    periods: int | None = None
    period: Period | None = None
    payment: float | None = None
    total_repaid: float | None = None
    fee_per_period: float | None = None
    days: int | None = None
    months: int | None = None
    daily_rate: float | None = None
    monthly_rate: float | None = None
    annual_rate_quoted: float | None = None
    monthly_fee_rate: float | None = None
    repayment: Repayment | None = None

    def as_json(self) -> dict[str, object]:
        """The fields the message gave or implied (None and a zero up-front fee left out)."""
        return {
            key: value
            for key, value in asdict(self).items()
            if value is not None and not (key == "fee_upfront" and value == 0)
        }

    @property
    def quoted_rate(self) -> tuple[Literal["day", "month", "year"], float] | None:
        """The lender's quoted rate, daily first: what a loan app usually advertises."""
        if self.daily_rate is not None:
            return "day", self.daily_rate
        if self.monthly_rate is not None:
            return "month", self.monthly_rate
        if self.annual_rate_quoted is not None:
            return "year", self.annual_rate_quoted
        return None


@dataclass(frozen=True)
class Missing:
    """The message lacks figures needed for a rate: `fields` in the order a question should ask for them."""

    fields: tuple[MissingField, ...]


@dataclass(frozen=True)
class Absurd:
    """The figures cannot describe a loan. `reason` is a stable key; `absurd_message` words it for users."""

    reason: AbsurdReason
    detail: str = ""  # for logs and volunteers (which figure), never user text


@dataclass(frozen=True)
class Cost:
    """What the loan costs, on the money actually received.

    `method` is "irr" when a repayment schedule was known and "quoted" when only a quoted rate was.
    `rate_per_period` is the internal rate of return per period (for "quoted", the quoted rate itself).
    `total_repaid` counts every instalment and per-period fee; `total_cost` adds the separate up-front fee
    and takes off the money received; `cost_ratio` = `total_cost` ÷ `cash_at_start`.
    """

    terms: LoanTerms
    method: Literal["irr", "quoted"]
    apr: float
    effective: float | None
    rate_per_period: float
    periods_per_year: float
    deducted_up_front: float = 0.0
    cash_at_start: float | None = None
    instalment: float | None = None  # what leaves the borrower's pocket each period, fees included
    total_repaid: float | None = None
    total_cost: float | None = None
    cost_ratio: float | None = None

    def as_json(self) -> dict[str, object]:
        return {
            "terms": self.terms.as_json(),
            "method": self.method,
            "apr": self.apr,
            "effective": self.effective,
            "total_cost": self.total_cost,
            "cost_ratio": self.cost_ratio,
            "deducted_up_front": self.deducted_up_front,
        }


# ---------------------------------------------------------------------------------------------- numbers

_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
    "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7, "捌": 8, "玖": 9,
}  # fmt: skip
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_D = "".join(_CN_DIGITS)
_U = "".join(_CN_SMALL) + "".join(_CN_BIG)

# One number as people type it: 12,000 (commas are removed before), 1.2万, 4万8, 一万零八百, 八千五, 5k, 3w,
# with an optional sign, currency and percent sign. Arabic digits may be followed by Chinese units and, after
# a unit, more digits; a Chinese numeral is Chinese throughout. Everything after the body is optional, so a
# match never backtracks into the body (long digit runs stay linear).
_NUMBER = lazy(
    rf"(?P<sign>(?<![\d.a-z])-\s*|负\s*)?"
    rf"(?:(?P<cur>(?:hk|nt|us)?\$|rmb|¥|cny|hkd|ntd|twd|usd)\s*)?"
    rf"(?P<sign2>-\s*)?"
    rf"(?P<body>\d+(?:\.\d+)?(?:[{_U}][{_D}{_U}\d.]*)?|[{_D}十拾](?:[{_D}{_U}]|点(?=[{_D}]))*)"
    rf"(?:(?P<kw>[kw])(?![a-z]))?"
    rf"(?P<pct>\s*[%‰‱])?"
    rf"(?P<unit>\s*(?:块钱|块|元|蚊|圆|港币|港元|港纸|新台币|台币|人民币|rmb|hkd|ntd|yuan|dollars?|bucks))?"
)
# A lone 一/十 that is part of a word, not a number: 一共, 一次, 一起, 一下, 一些, 十分…
_WORD_AFTER_ONE = set("共次起下些直样般定切旦致概点半边同再会")
_WORD_BEFORE_ONE = set("统唯万周期拜之第")
# A digit right after a unit is shorthand (一万二 = 12000) unless a counter follows: 两千一个月 = 2000 a month.
_COUNTER_AFTER = set("个次天周年期月礼星号")


class _TooLong(ValueError):
    """A digit run too long to be an amount."""


def _body_value(body: str) -> float | None:
    """The value of a numeral body: Arabic, Chinese, or Arabic digits with Chinese units (4万8 = 48000)."""
    total = 0.0  # completed 万/亿 groups
    section = 0.0  # below the current 万
    current: float | None = None  # digits not yet multiplied by a unit
    last_unit = 1.0
    biggest = 0.0
    zero = False  # a 零 since the last unit: the next digit is not shorthand (一万零八 = 10008)
    i = 0
    while i < len(body):
        ch = body[i]
        if "0" <= ch <= "9":
            j = i
            while j < len(body) and ("0" <= body[j] <= "9" or body[j] == "."):
                j += 1
            digits = body[i:j]
            if sum(c != "." for c in digits) > MAX_DIGITS:
                raise _TooLong(digits[:20])
            if current is not None or digits.count(".") > 1:
                return None
            current = float(digits)
            i = j
            continue
        if ch in _CN_DIGITS:
            if _CN_DIGITS[ch] == 0:
                zero = True
            elif current is not None:
                return None  # 一二三 is not a number people write for amounts
            else:
                current = float(_CN_DIGITS[ch])
            i += 1
            continue
        if ch == "点":
            j = i + 1
            fraction = ""
            while j < len(body) and body[j] in _CN_DIGITS:
                fraction += str(_CN_DIGITS[body[j]])
                j += 1
            current = (current or 0.0) + float("0." + (fraction or "0"))
            i = j
            continue
        if ch in _CN_SMALL:
            unit = _CN_SMALL[ch]
            section += (current if current is not None else 1.0) * unit
            current, last_unit, zero = None, unit, False
            i += 1
            continue
        if ch in _CN_BIG:
            big = _CN_BIG[ch]
            part = section + (current or 0.0)
            if part == 0:
                return None
            total = (total + part) * big if biggest and big > biggest else total + part * big
            biggest = max(biggest, big)
            section, current, last_unit, zero = 0.0, None, big, False
            i += 1
            continue
        return None
    value = total + section
    if current is not None:
        shorthand = last_unit > 1 and not zero and current < 10 and current == int(current) and value > 0
        value += current * last_unit / 10 if shorthand else current
    return value


@dataclass(frozen=True)
class _Token:
    value: float | None  # None: too many digits to be an amount
    percent: bool = False
    currency: bool = False
    negative: bool = False


def _read_token(match: re.Match[str], text: str) -> tuple[_Token, int] | None:
    """The token for a `_NUMBER` match and where it ends, or None when the match is a word, not a number."""
    body = match["body"]
    end = match.end()
    before = text[match.start("body") - 1] if match.start("body") > 0 else ""
    after = text[match.end("body")] if match.end("body") < len(text) else ""
    if body in ("一", "十") and (after in _WORD_AFTER_ONE or before in _WORD_BEFORE_ONE):
        return None
    if body == "十" and after == "分" and before not in "息率利":
        return None  # 十分 = very
    if len(body) == 1 and body in _CN_DIGITS and before in _WORD_BEFORE_ONE:
        return None  # 周一, 星期三, 统一
    if (
        len(body) >= 2
        and body[-1] in _CN_DIGITS
        and body[-2] in "百佰千仟万亿"
        and after in _COUNTER_AFTER
        and not match["kw"]
        and not match["pct"]
        and not match["unit"]
    ):
        body = body[:-1]  # 两千一个月: the 一 counts the month
        end = match.start("body") + len(body)
    try:
        value = _body_value(body)
    except _TooLong:
        return _Token(None, currency=bool(match["cur"] or match["unit"])), end
    if value is None:
        return None
    if end == match.end():
        if match["kw"]:
            value *= 1000 if match["kw"] == "k" else 10_000
        percent = match["pct"]
        if percent:
            value /= {"%": 100, "‰": 1000, "‱": 10_000}[percent.strip()]
    else:
        percent = None
    return (
        _Token(
            value,
            percent=bool(percent),
            currency=bool(match["cur"] or (match["unit"] and end == match.end())),
            negative=bool(match["sign"] or match["sign2"]),
        ),
        end,
    )


def read_number(text: str) -> float | None:
    """The value of one number as typed (一万二, 4万8, 1.2万, 5k, 12,000, 0.05%), or None if it is not one."""
    prepared = _fold(text)
    match = _NUMBER.fullmatch(prepared.strip())
    if match is None:
        return None
    read = _read_token(match, prepared.strip())
    if read is None or read[1] != len(prepared.strip()) or read[0].value is None:
        return None
    token, value = read[0], read[0].value
    return -value if token.negative else value


# ---------------------------------------------------------------------------------------------- preparing text

_SHORTHAND_UNIT = lazy(r"(?<=\d)[wk](?=\d)")
_THOUSANDS = lazy(r"(?<![\d.])(?<!\d,)\d{1,3}(?:,\d{3})+(?!\d|,\d)")
_DIALECT = (
    ("咗", "了"), ("嘅", "的"), ("係", "是"), ("喺", "在"), ("冇", "没有"), ("几多", "多少"),
    ("唔", "不"), ("佢", "他"), ("一年半", "18个月"), ("半年", "6个月"),
)  # fmt: skip
_CN_NUM = "0-9零〇一二两三四五六七八九十百"
_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|april|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?"
    r"|nov(?:ember)?|dec(?:ember)?)\b"
)
_NOISE = [
    # Dates: 2024年12月1号, 112年3月 (ROC years), 3月15号, 03/15/2024, 2024-03-15, March 15.
    lazy(rf"(?<!\d)\d{{2,4}}年\s*[{_CN_NUM}]{{1,3}}\s*月(?:\s*[{_CN_NUM}]{{1,3}}\s*[日号])?"),
    lazy(rf"(?<![{_CN_NUM}])[{_CN_NUM}]{{1,3}}\s*月\s*[{_CN_NUM}]{{1,3}}\s*[日号]"),
    lazy(r"(?<!\d)\d{3,4}年(?![化利息率])(?:底|初|中)?"),
    lazy(rf"(?<![{_CN_NUM}])[{_CN_NUM}]{{1,3}}\s*号"),
    lazy(r"\b\d{1,4}[/-]\d{1,2}[/-]\d{1,4}\b"),
    lazy(
        rf"\b{_MONTH_NAME}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?![.\d]*\s*%)(?:,?\s*\d{{4}})?"
        rf"|\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH_NAME}(?:\s+\d{{4}})?"
    ),
    # How late, how long ago, which instalment: 逾期3天, 3 days overdue, 第3期, 已还3期, 还剩5期, 3个月前.
    lazy(
        rf"(?:逾期|超期|拖欠|晚还|迟还|延期|拖了|晚了|已经逾期)\s*(?:了)?\s*[{_CN_NUM}]+\s*(?:个)?\s*(?:天|日|周|个月|月|期|次|年)"
    ),
    lazy(rf"(?<![{_CN_NUM}])[{_CN_NUM}]+\s*(?:个)?\s*(?:天|日|周|个月|月|年)\s*(?:前|以前|之前)"),
    lazy(rf"第\s*[{_CN_NUM}]+\s*(?:期|个月|月|周|天|日|次|笔|个|年)?"),
    lazy(rf"(?:已经还了|已还了|已还|还了|还剩|剩下|剩余|剩|还有)\s*[{_CN_NUM}]+\s*期"),
    lazy(r"(?<!\d)\d+\s*(?:days?|weeks?|months?)\s+(?:overdue|late|past due|behind|ago)"),
    lazy(r"(?:overdue|late|past due|behind)\s+(?:by\s+|for\s+)?\d+\s*(?:days?|weeks?|months?)"),
    # Numbers that name things: phone, ID, order and reference numbers, products (360借条, 714高炮).
    lazy(r"(?<!\d)1[3-9]\d{9}(?!\d)"),
    lazy(
        r"(?:尾号|后四位|后四码|后4位|身份证号?|身分证号?|卡号|账号|手机号码?|电话号码?|电话|订单号|单号|合同号|编号|工号"
        r"|ref(?:erence)?\.?\s*(?:no\.?|number|#)?|order\s*(?:no\.?|number|#)|invoice\s*(?:no\.?|#)|\bno\.|#)"
        r"\s*:?\s*\d[\d-]*"
    ),
    lazy(r"(?:360|58|51)\s*(?=借条|借款|金融|数科|好借|信用卡|贷)|714(?=高炮|的|贷|口子|网贷|app|类)"),
]
_RATE_SHORTHAND = [
    # 千分之一 = 0.1%, 万分之五 = 0.05%, 日息万五 = 0.05% a day, 百分之二 = 2%.
    (lazy(rf"百分之\s*([{_D}十点\d.]+)"), 1.0),
    (lazy(rf"千分之\s*([{_D}十点\d.]+)"), 0.1),
    (lazy(rf"万分之\s*([{_D}十点\d.]+)"), 0.01),
    (lazy(rf"(?<=日息|日利|天息)\s*万\s*([{_D}\d.]+)"), 0.01),
    (lazy(rf"(?<=日利率|日利息)\s*万\s*([{_D}\d.]+)"), 0.01),
]


_EN_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "fifteen": 15, "eighteen": 18, "twenty": 20, "thirty": 30, "thirty-six": 36,
    "forty-eight": 48, "sixty": 60,
}  # fmt: skip
_EN_COUNT = lazy(
    rf"\b({'|'.join(sorted(_EN_NUMBERS, key=len, reverse=True))})(?=\s+(?:equal\s+)?(?:monthly\s+|weekly\s+)?"
    r"(?:days?|weeks?|months?|years?|payments?|instal))"
)


_EN_ONE_SPAN = lazy(r"\b(for|in|over|after|within)\s+an?\s+(day|week|month|year)\b")


def _fold(text: str) -> str:
    """NFKC, Simplified, case-folded, Cantonese in Mandarin, thousands commas gone, 1w7 and two weeks in digits."""
    text = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), text)  # before NFKC: a full-width ， is a pause
    folded = to_simplified(unicodedata.normalize("NFKC", text)).casefold().replace("⟨", "").replace("⟩", "")
    for dialect, mandarin in _DIALECT:
        folded = folded.replace(dialect, mandarin)
    folded = _EN_COUNT.sub(lambda m: str(_EN_NUMBERS[m[1]]), folded)  # two weeks, twelve monthly payments
    folded = _EN_ONE_SPAN.sub(r"\1 1 \2", folded)  # for a year, after a month
    return _SHORTHAND_UNIT.sub(lambda m: "万" if m.group() == "w" else "千", folded)  # 1w7 = 1万7, 2k5 = 2千5


def _rate_shorthand(text: str) -> str:
    for pattern, scale in _RATE_SHORTHAND:

        def percent(match: re.Match[str], scale: float = scale) -> str:
            try:
                value = _body_value(match[1])
            except _TooLong:
                return match.group()  # left to the tokeniser, which reports it
            return match.group() if value is None else f"{value * scale:.6g}%"

        text = pattern.sub(percent, text)
    return text


def _tokenise(text: str) -> tuple[str, list[_Token]]:
    """Replace every number with ⟨index⟩; the tokens carry their values."""
    out: list[str] = []
    tokens: list[_Token] = []
    position = 0
    while position < len(text):
        match = _NUMBER.search(text, position)
        if match is None:
            break
        read = _read_token(match, text)
        if read is None:
            out.append(text[position : match.end("body")])
            position = match.end("body")
            continue
        token, end = read
        out.append(text[position : match.start()])
        out.append(f"⟨{len(tokens)}⟩")
        tokens.append(token)
        position = end
    out.append(text[position:])
    return "".join(out), tokens


# ---------------------------------------------------------------------------------------------- reading terms


def _n(name: str) -> str:
    """A number slot in a pattern: `_Reader.take(match, name)` reads it."""
    return rf"⟨(?P<n_{name}>\d+)⟩"


def _filled(match: re.Match[str], *names: str) -> str:
    """The first of the number slots `names` that the match filled ("" if none)."""
    return next((name for name in names if match.groupdict().get(f"n_{name}")), "")


# What follows a count or a span rather than an amount: 三个月, 12期, 3 days.
# 年化, 月息, 日息 are rates, not spans.
_YEAR = "年(?![化利息率])"
_MONTH = "月(?![息利供付还费平])"
_DAY = "日(?![息利])"
_COUNTED = (
    rf"\s*(?:个半|个)?\s*(?:{_MONTH}|天|{_DAY}|周|礼拜|星期|{_YEAR}|期(?![限数])|号|次|条|通|岁|笔|倍)"
    r"|\s*(?:-\s*)?(?:days?|weeks?|months?|years?|yrs?|times?|instal|install|payments?)\b"
)
_COUNTED_RE = lazy(_COUNTED)
_AMOUNT_END = rf"(?!{_COUNTED})"
# Words that may stand between a keyword and its number: 到手只有八千五, 借的是1万, got about 8.5k.
_FILL = (
    r"(?:[了的是也只有才就约共为给都个钱我:\s]|大概|大约|差不多|总共|一共|金额"
    r"|\b(?:a|an|of|about|around|approximately|only|just|me|was|is|roughly)\b)*?"
)
_UNITS: dict[str, str] = {
    "期": "", "每期": "", "次": "", "每次": "",
    "个月": "month", "月": "month", "每个月": "month", "每月": "month", "month": "month", "months": "month",
    "monthly": "month", "mo": "month", "mos": "month",
    "周": "week", "个礼拜": "week", "礼拜": "week", "个星期": "week", "星期": "week", "每个礼拜": "week",
    "每礼拜": "week", "每个星期": "week", "每星期": "week", "每周": "week", "week": "week", "weeks": "week",
    "weekly": "week", "wk": "week",
    "天": "day", "日": "day", "每天": "day", "每日": "day", "day": "day", "days": "day", "daily": "day",
    "年": "year", "year": "year", "years": "year", "yr": "year", "yrs": "year",
}  # fmt: skip


def _rx(pattern: str) -> LazyPattern:
    return lazy(pattern)


_DAILY_WORDS = (
    r"日息|日利率|日利息|日利|日化利率|每天利息|每日利息|一天利息|天息|daily interest rate|daily rate|daily interest"
)
_MONTHLY_WORDS = (
    r"月息|月利率|月利息|月利|月化利率|每月利息|每个月利息|monthly interest rate|monthly rate|monthly interest"
)
_ANNUAL_WORDS = (
    r"年化利率|年化|年利率|年息|年利|annual percentage rate|annual interest rate|annual rate|annual interest"
    r"|interest rate|apr"
)
_RATE_LEAD = _rx(
    rf"(?:(?P<d>{_DAILY_WORDS})|(?P<m>{_MONTHLY_WORDS})|(?P<y>{_ANNUAL_WORDS}))"
    rf"(?:\s|是|为|:|才|只有|只要|大概|约|高达|达到|有|\bof\b|\bis\b|\bat\b|\babout\b|\bonly\b|\bjust\b)*"
    rf"{_n('a')}(?:(?P<fen>分)(?!\s*⟨\d+⟩\s*期|期)(?:{_n('b')})?|(?P<li>厘)|(?P<hao>毫))?"
)
# Said without a period, N分利 / 利息N分 is a monthly rate in everyday speech (一分利 = 1% a month).
_RATE_FOLK = _rx(rf"(?:利息|利率|利)\s*(?:是|为)?\s*{_n('a')}\s*分(?!期|\s*⟨)|{_n('b')}\s*分(?:钱)?(?:利|息)")
_RATE_TRAIL = _rx(
    rf"{_n('a')}\s*(?:(?:a|per|each|every|/|an|一|每)\s*(?P<t>day|month|year|annum|天|日|月|年)\b"
    r"|(?P<t2>daily|monthly|annually|p\.?\s?a\.?|apr|per annum)\b)"
)
_FLAT_WORDS = (
    r"月平息|平息|每期手续费率|每期手续费|每月手续费率|每月手续费|每期费率|月费率|分期手续费率|分期费率|手续费率"
    r"|monthly flat rate|flat monthly rate|flat rate|monthly fee rate|monthly handling fee"
)
_FLAT = _rx(rf"(?:{_FLAT_WORDS})(?:\s|是|为|:|每期|每月|per month)*{_n('a')}")
_FLAT_AFTER = _rx(rf"手续费\s*(?:每期|每月|每个月)\s*(?:是|为|:)?\s*{_n('a')}")

_BORROW_WORDS = (
    r"借款金额|借款|合同金额|合同额|合同上?写|贷款金额|贷款|信贷|(?<!期)(?<!月)本金|分期|借|贷"
    r"|loan amount|loan of|a loan for|borrowed|borrowing|borrow|borowed|took out|principal|lent me|loaned me|loan:?"
)
_BORROW = _rx(rf"(?:{_BORROW_WORDS})\s*{_FILL}{_n('a')}{_AMOUNT_END}")
# 借咗財務公司8萬, 借了朋友5000: the lender named between 借 and the amount.
_BORROW_FROM = _rx(
    r"借了?\s*[\u4e00-\u9fffa-z]{0,6}?(?:公司|银行|平台|财仔|朋友|亲戚|同事|当铺|网贷|app)"
    rf"\s*{_FILL}{_n('a')}{_AMOUNT_END}"
)
_BORROW_AFTER = _rx(
    rf"{_n('a')}\s*(?:的)?\s*(?:personal |payday |cash |online |car |bank )?(?:loan|借款|贷款)(?!\s*(?:app|company))"
)
_RECEIVE_WORDS = (
    r"实际到手|实际到账|实际拿到|实际收到|实际放款|实际给了?我?|给了我|到手|到首|到账|实拿|实收|实得|拿到手|拿到|放款|下款|打款"
    r"|入账|收到|得到"
    r"|actually got|got|get|received|receive|recieved|rcvd|deposited|disbursed|paid out|credited|cash in hand"
)
_RECEIVE = _rx(rf"(?:{_RECEIVE_WORDS})\s*{_FILL}{_n('a')}{_AMOUNT_END}")
_RECEIVE_AFTER = _rx(rf"{_n('a')}\s*(?:元|块)?\s*(?:到手|到账|in hand|in my account|hit my account)")

_FEE = _rx(
    r"会员费|服务费|担保费|手续费|管理费|开办费|咨询费|审核费|保险费|中介费|评估费|平台费|信息费|风险金|保证金|砍头息|砍头费|会员"
    r"|(?:(?:service|admin|administration|processing|handling|membership|arrangement|origination|guarantee"
    r"|insurance|management|platform)\s+)?(?:fees?|charges?)|commission"
)
_DEDUCTED_CUE = _rx(
    r"扣|砍头|直接从|预先|deduct|taken off|took off|withheld|kept|out of the loan|from the loan|off the top"
)
_PER_PERIOD_CUE = _rx(
    r"每个?(?:月|期|周|礼拜|星期|天|日)|月付|月交|monthly|weekly|daily|per (?:month|week|day|period|instal)"
    r"|an? (?:month|week|day)|each (?:month|week|day)|every (?:month|week|day)"
)
_DEDUCT = _rx(
    r"(?:扣了|扣除了|扣除|扣掉|扣|砍了|砍头|预扣了?|deducted|took off|taken off|withheld)"
    rf"\s*{_FILL}{_n('a')}{_AMOUNT_END}"
)

_COUNT_UNIT = rf"(?P<u>期|次|个月|{_MONTH}|周|个礼拜|礼拜|个星期|星期|天|{_DAY}|{_YEAR})"
_COUNT_SPLIT = _rx(rf"分\s*(?:成)?\s*{_n('a')}\s*{_COUNT_UNIT}")
_COUNT_PAY = _rx(rf"(?<!已)(?:还|供|缴|交|付|共|总共|一共|连续还|连续)\s*{_n('a')}\s*{_COUNT_UNIT}")
_COUNT_BARE = _rx(rf"{_n('a')}期(?![限息利数])|(?:期数|还款期数|分期数)\s*(?:是|为|:)?\s*{_n('b')}")
_COUNT_EN = _rx(
    rf"{_n('a')}\s*(?:-\s*)?(?:equal\s+)?(?P<u>monthly|weekly|daily)?\s*(?:equal\s+)?"
    rf"(?:payments?|instal(?:l)?ments?|repayments?)\b(?:\s*of\s*{_n('b')})?"
)

_PAY_EVERY = _rx(
    rf"(?P<u>每期|每次|每个月|每月|每个礼拜|每礼拜|每个星期|每星期|每周|每天|每日)"
    rf"\s*(?:都|要|需要|需|得|固定|应|大概|约|还要)?\s*(?:还款|还|供|缴|交|付|给|扣)?\s*(?:款|钱)?\s*(?:是|为|:)?\s*"
    rf"{_n('a')}{_AMOUNT_END}"
)
# How often, when the amount is given per time: 一个星期还一次 每次还1000, once a week.
_FREQUENCY = _rx(
    rf"(?:每|{_n('o')}\s*个?)\s*(?P<u>月|周|礼拜|星期|天|日)\s*(?:还|供|缴|交|付)\s*一次"
    r"|once (?:a|per|every) (?P<v>month|week|day)"
)
# Interest stated as money per day or month: 一天利息10块, 利息一个月300.
_INTEREST_PER = _rx(
    rf"(?:每个?|{_n('o')}\s*个?)\s*(?P<u>天|日|月|周)\s*(?:的)?\s*利息\s*(?:是|为|要|有)?\s*{_n('a')}{_AMOUNT_END}"
    rf"|利息\s*(?:是|为)?\s*(?:每个?|{_n('e')}\s*个?)\s*(?P<v>天|日|月|周)\s*(?:是|为|要)?\s*{_n('c')}{_AMOUNT_END}"
    rf"|interest (?:of )?{_n('b')} (?:a|per|every) (?P<w>day|month|week)"
)
_PAY_SHORT = _rx(rf"(?P<u>月|周)\s*(?:还款|还|供|缴|交|付)\s*(?:是|为|:)?\s*{_n('a')}{_AMOUNT_END}")
_PAY_ONE_UNIT = _rx(
    rf"{_n('o')}\s*个?\s*(?P<u>月|周|礼拜|星期|天)\s*(?:要|得)?\s*(?:还|供|缴|交|付)\s*{_n('a')}{_AMOUNT_END}"
)
_PAY_PER_UNIT = _rx(rf"{_n('a')}\s*(?:元|块)?\s*(?:每|{_n('o')})\s*个?\s*(?P<u>月|期|周|礼拜|星期|天)")
_PAY_EN = _rx(
    rf"{_n('a')}\s*(?:/|\ba\b|\bper\b|\beach\b|\bevery\b|\ban\b)\s*(?P<u>month|week|day|mo|wk)\b"
    rf"|{_n('b')}\s*(?P<v>monthly|weekly|daily)\b(?!\s*(?:payments?|instal|repayments?))"
    rf"|(?P<w>monthly|weekly|daily)\s+(?:payments?|instal(?:l)?ments?|repayments?)\s*(?:of|is|are|:|=)?\s*{_n('c')}"
    rf"|(?:payments?|instal(?:l)?ments?)\s*(?:of|is|are|:|=)\s*{_n('e')}"
)

_SPAN_UNIT = rf"(?P<u>个半月|个月|天|{_DAY}|周|个礼拜|礼拜|个星期|星期|{_YEAR})"
_SPAN_TERM_BEFORE = _rx(rf"(?:借了|借|贷了|贷|用了|用|期限|为期|借期|周期)\s*(?:是|为|了)?\s*{_n('a')}\s*{_SPAN_UNIT}")
_SPAN_TERM_AFTER = _rx(rf"{_n('a')}\s*{_SPAN_UNIT}\s*(?:后|以后|之后|内|到期)")
_SPAN_BARE = _rx(rf"{_n('a')}\s*(?P<u>个月|个礼拜|个星期|周)")
_SPAN_DAYS = _rx(rf"{_n('a')}\s*(?P<u>天)")  # 借了2000 7天 还2600: days alone are the loan's term
_SPAN_EN = _rx(
    rf"(?:(?P<pre>for|over|in|after|within|term of|lasting|across|spread over)\s+)?{_n('a')}\s*(?:-\s*)?"
    r"(?P<u>days?|weeks?|months?|years?|yrs?|mos?)\b"
)

_TOTAL = _rx(
    rf"(?:总共|一共|总计|合计|共计|总|共)\s*(?:要|需要|需|得|应|应该)?\s*(?:还款|还|付|缴|交|给)?\s*(?:了)?\s*(?:金额)?"
    rf"\s*(?:是|为|:)?\s*{_n('a')}{_AMOUNT_END}"
    r"|(?:还款总额|还款金额|应还金额|应还|总还款"
    r"|total(?: repaid| repayment| to repay| payable| due)?(?: of| is| was| =)?:?)"
    rf"\s*{_n('b')}{_AMOUNT_END}"
    rf"|{_n('c')}\s*(?:in total|total)\b"
    rf"|\bwants?\s+{_n('g')}\s+back\b"
)
_TOTAL_ONCE = _rx(
    r"(?:后|以后|之后|到期|到时候?|一次性?)\s*(?:要|需要|需|得|就|再|应|应该)?\s*(?:一次性?)?"
    r"\s*(?:还款|还本付息|还本息|还|付|缴|交|给|归还)(?:本息|本金和利息)?"
    rf"\s*(?:是|为|:)?\s*{_n('a')}{_AMOUNT_END}"
)
_TOTAL_PLAIN = _rx(
    r"(?:pay back|payback|paying back|repay|repaying|return|pay|paying|owe|还款|还)"
    rf"\s*(?:back)?\s*{_n('a')}{_AMOUNT_END}"
)
_INTEREST = _rx(rf"(?:利息|interest)(?:\s|一共|总共|共|是|为|要|有|\bof\b|\bis\b|:)*{_n('a')}{_AMOUNT_END}")
_ONCE_CUE = _rx(
    r"到期一次|一次性还|一次还|到期还|还本付息|到期后还"
    r"|lump sum|in one (?:go|payment)|one-off|single payment|all at once"
)
_FLAT_CUE = _rx(r"\bflat\b|平息|按本金算|按借款本金")
_ANNUITY_CUE = _rx(r"等额本息|等额|equal (?:monthly |weekly )?(?:payments|instal(?:l)?ments)|amorti[sz]")
_CLAUSE_BREAK = lazy(r"[,;.!?，。；！？、\n]")


@dataclass
class _Found:
    """What the rules read from one message, before it is checked and turned into `LoanTerms`."""

    borrowed: float | None = None
    received: float | None = None
    deducted: float = 0.0
    fee_upfront: float = 0.0
    fee_per_period: float | None = None
    payment: float | None = None
    payment_unit: str = ""
    frequency: str = ""  # 一个星期还一次: how often, said apart from the amount
    total: float | None = None
    interest: float | None = None
    interest_per: tuple[float, str] | None = None  # (amount, "day" | "month" | "week")
    count: float | None = None
    count_unit: str = ""
    spans: list[tuple[float, str, str]] = field(default_factory=list)  # (value, unit, "term" | "split" | "bare")
    daily_rate: float | None = None
    monthly_rate: float | None = None
    annual_rate: float | None = None
    flat_rate: float | None = None
    once: bool = False
    annuity: bool = False
    problem: Absurd | None = None


class _Reader:
    """Applies the rules in order; a number used by one rule is not used again."""

    def __init__(self, text: str, tokens: list[_Token], cjk: bool) -> None:
        self.text = text
        self.tokens = tokens
        self.cjk = cjk
        self.used: set[int] = set()
        self.found = _Found()

    def matches(self, pattern: LazyPattern) -> Iterator[re.Match[str]]:
        """Matches whose numbers are all still unused."""
        for match in pattern.finditer(self.text):
            slots = [int(value) for name, value in match.groupdict().items() if value and name.startswith("n_")]
            if not any(slot in self.used for slot in slots):
                yield match

    def token(self, match: re.Match[str], name: str) -> _Token:
        return self.tokens[int(match[f"n_{name}"])]

    def take(self, match: re.Match[str], name: str) -> float:
        """Use the number in slot `name`; a negative or endless number is recorded as the problem."""
        index = int(match[f"n_{name}"])
        self.used.add(index)
        token = self.tokens[index]
        if token.value is None:
            self.found.problem = self.found.problem or Absurd("too_large", "a number with too many digits")
            return 0.0
        if token.negative:
            self.found.problem = self.found.problem or Absurd("negative", match.group())
            return -token.value
        return token.value

    def clause(self, position: int) -> tuple[int, int]:
        """The clause around `position`: punctuation ends one, and in Chinese so does a space."""
        breaks = [m.start() for m in _CLAUSE_BREAK.finditer(self.text)]
        if self.cjk:
            breaks += [m.start() for m in re.finditer(r"\s", self.text)]
        start = max((b + 1 for b in breaks if b < position), default=0)
        end = min((b for b in breaks if b >= position), default=len(self.text))
        return start, end

    def read(self) -> _Found:
        for step in (
            self._flat_rates,
            self._rates,
            self._folk_rate,
            self._amounts,
            self._fees,
            self._counts,
            self._payments,
            self._spans,
            self._totals,
            self._fallback,
        ):
            step()
        self.found.once = self.found.once or bool(_ONCE_CUE.search(self.text))
        self.found.annuity = bool(_ANNUITY_CUE.search(self.text))
        if self.found.flat_rate is None and self.found.monthly_rate is not None and _FLAT_CUE.search(self.text):
            self.found.flat_rate, self.found.monthly_rate = self.found.monthly_rate, None  # 1.2% a month flat
        return self.found

    def _flat_rates(self) -> None:
        for pattern in (_FLAT, _FLAT_AFTER):
            for match in self.matches(pattern):
                token = self.token(match, "a")
                if self.found.flat_rate is None and (token.percent or (token.value or 0) < 5):
                    value = self.take(match, "a")
                    self.found.flat_rate = value if token.percent else value / 100

    def _rates(self) -> None:
        found = self.found
        for match in self.matches(_INTEREST_PER):
            one, slot = _filled(match, "o", "e"), _filled(match, "a", "c", "b")
            if (one and self.token(match, one).value != 1) or self.token(match, slot).percent:
                continue
            if one:
                self.take(match, one)
            unit = _UNITS[match["u"] or match["v"] or match["w"] or "天"]
            found.interest_per = found.interest_per or (self.take(match, slot), unit)
        for match in self.matches(_RATE_TRAIL):
            if not self.token(match, "a").percent:
                continue
            unit = match["t"] or match["t2"] or ""
            value = self.take(match, "a")
            if unit in ("day", "天", "日", "daily"):
                found.daily_rate = found.daily_rate if found.daily_rate is not None else value
            elif unit in ("month", "月", "monthly"):
                found.monthly_rate = found.monthly_rate if found.monthly_rate is not None else value
            else:
                found.annual_rate = found.annual_rate if found.annual_rate is not None else value
        for match in self.matches(_RATE_LEAD):
            token = self.token(match, "a")
            if token.currency or (not token.percent and (token.value or 0) > 100):
                continue
            base = 0.001 if match["d"] else 0.01 if match["m"] else 0.1
            value = self.take(match, "a")
            if token.percent:
                rate = value
            elif match["fen"]:
                small = _filled(match, "b") and (self.token(match, "b").value or 10) < 10
                tenth = self.take(match, "b") / 10 if small else 0.0
                rate = (value + tenth) * base
            elif match["li"]:
                rate = value * base / 10
            elif match["hao"]:
                rate = value * base / 100
            else:
                rate = value / 100
            if match["d"] and found.daily_rate is None:
                found.daily_rate = rate
            elif match["m"] and found.monthly_rate is None:
                found.monthly_rate = rate
            elif match["y"] and found.annual_rate is None:
                found.annual_rate = rate

    def _folk_rate(self) -> None:
        for match in self.matches(_RATE_FOLK):
            slot = _filled(match, "a", "b")
            if self.found.monthly_rate is None and not self.token(match, slot).percent:
                self.found.monthly_rate = self.take(match, slot) / 100

    def _first_amount(self, *patterns: LazyPattern) -> float | None:
        for pattern in patterns:
            for match in self.matches(pattern):
                if not self.token(match, "a").percent:
                    return self.take(match, "a")
        return None

    def _amounts(self) -> None:
        self.found.borrowed = self._first_amount(_BORROW, _BORROW_FROM, _BORROW_AFTER)
        self.found.received = self._first_amount(_RECEIVE, _RECEIVE_AFTER)

    def _fees(self) -> None:
        """A fee word with the nearest amount in its clause: deducted, per period, or paid at the start."""
        found = self.found
        for fee in _FEE.finditer(self.text):
            start, end = self.clause(fee.start())
            best: tuple[int, int] | None = None
            for slot in re.finditer(r"⟨(\d+)⟩", self.text[start:end]):
                index = int(slot[1])
                token = self.tokens[index]
                if index in self.used or token.percent:
                    continue
                slot_start, slot_end = start + slot.start(), start + slot.end()
                if _COUNTED_RE.match(self.text, slot_end):
                    continue  # a count (期, 个月), not an amount
                distance = slot_start - fee.end() if slot_start >= fee.end() else fee.start() - slot_end
                if best is None or distance < best[0]:
                    best = (distance, index)
            if best is None or best[0] > (10 if self.cjk else 25):
                continue
            index = best[1]
            self.used.add(index)
            token = self.tokens[index]
            if token.value is None or token.negative:
                self.found.problem = self.found.problem or Absurd("negative" if token.negative else "too_large", "fee")
                continue
            window = self.text[start:end]
            # 開辦費5,000 直接從撥款扣: the next clause may say how the fee was taken, if it has no number of its own.
            following = self.text[end + 1 : self.clause(end + 1)[1]] if end < len(self.text) else ""
            if (
                _DEDUCTED_CUE.search(window)
                or fee.group().startswith("砍头")
                or ("⟨" not in following and _DEDUCTED_CUE.search(following))
            ):
                found.deducted += token.value
            elif _PER_PERIOD_CUE.search(window):
                found.fee_per_period = (found.fee_per_period or 0.0) + token.value
            else:
                found.fee_upfront += token.value
        for match in self.matches(_DEDUCT):
            if not self.token(match, "a").percent:
                found.deducted += self.take(match, "a")

    def _counts(self) -> None:
        found = self.found
        for pattern in (_COUNT_SPLIT, _COUNT_PAY, _COUNT_BARE, _COUNT_EN):
            for match in self.matches(pattern):
                slot = _filled(match, "a", "b")
                token = self.token(match, slot)
                if found.count is not None or token.percent or token.currency:
                    continue
                found.count = self.take(match, slot)
                found.count_unit = _UNITS.get(match.groupdict().get("u") or "", "")
                if pattern is _COUNT_EN and _filled(match, "b") and found.payment is None:
                    found.payment = self.take(match, "b")
                    found.payment_unit = found.count_unit

    def _payments(self) -> None:
        found = self.found
        for match in self.matches(_FREQUENCY):
            if _filled(match, "o") and self.token(match, "o").value != 1:
                continue
            if _filled(match, "o"):
                self.take(match, "o")
            found.frequency = _UNITS[match["u"] or match["v"]]
            break
        for pattern in (_PAY_EVERY, _PAY_SHORT, _PAY_ONE_UNIT, _PAY_PER_UNIT, _PAY_EN):
            for match in self.matches(pattern):
                if found.payment is not None:
                    return
                groups = match.groupdict()
                one = _filled(match, "o")
                if one and self.token(match, one).value != 1:
                    continue
                name = _filled(match, "a", "b", "c", "e")
                if self.token(match, name).percent:
                    continue
                found.payment = self.take(match, name)
                unit = groups.get("u") or groups.get("v") or groups.get("w") or ""
                found.payment_unit = _UNITS.get(unit, "")
                if one:
                    self.take(match, one)

    def _spans(self) -> None:
        found = self.found
        for pattern, kind in (
            (_SPAN_TERM_BEFORE, "term"),
            (_SPAN_TERM_AFTER, "term"),
            (_SPAN_BARE, "bare"),
            (_SPAN_DAYS, "term"),
        ):
            for match in self.matches(pattern):
                if self.token(match, "a").percent:
                    continue
                value = self.take(match, "a")
                unit = match["u"]
                if unit == "个半月":
                    found.spans.append((value + 0.5, "month", kind))
                else:
                    found.spans.append((value, _UNITS[unit], kind))
        for match in self.matches(_SPAN_EN):
            if self.token(match, "a").percent:
                continue
            value = self.take(match, "a")
            unit = _UNITS.get(match["u"], _UNITS.get(match["u"].rstrip("s"), "month"))
            pre = match["pre"] or ""
            kind = "split" if pre in ("over", "across", "spread over") else "term" if pre else "bare"
            found.spans.append((value, unit, kind))

    def _totals(self) -> None:
        found = self.found
        for match in self.matches(_TOTAL_ONCE):
            if found.total is None and not self.token(match, "a").percent:
                found.total = self.take(match, "a")
                found.once = True
        for pattern in (_TOTAL, _TOTAL_PLAIN):
            for match in self.matches(pattern):
                name = _filled(match, "a", "b", "c", "g")
                if found.total is None and not self.token(match, name).percent:
                    found.total = self.take(match, name)
        for match in self.matches(_INTEREST):
            if found.interest is None and not self.token(match, "a").percent:
                found.interest = self.take(match, "a")

    def _fallback(self) -> None:
        """An amount in a currency that no rule claimed is what was borrowed: 卡數分期 $12,000."""
        found = self.found
        if found.borrowed is not None or found.received is not None:
            return
        for index, token in enumerate(self.tokens):
            if index not in self.used and token.currency and not token.percent:
                self.used.add(index)
                if token.value is None or token.negative:
                    found.problem = found.problem or Absurd("negative" if token.negative else "too_large", "amount")
                found.borrowed = -(token.value or 0.0) if token.negative else token.value
                return


# ---------------------------------------------------------------------------------------------- from reading to terms

_DAYS_IN = {"day": 1.0, "week": 7.0, "month": 365 / 12, "year": 365.0}


def _in_periods(value: float, unit: str, period: str) -> int:
    """A span in units of `period`: 7年 → 84 months, 3个月 → 13 weeks."""
    if unit == period:
        return round(value)
    if unit == "year":
        return round(value * PERIODS_PER_YEAR[period])
    return round(value * _DAYS_IN[unit] / _DAYS_IN[period])


def _assemble(found: _Found) -> LoanTerms | Missing | Absurd:
    borrowed, received = found.borrowed, found.received
    if received is None and borrowed is not None and found.deducted:
        received = borrowed - found.deducted
    if received is None:
        received = borrowed
    spans = sorted(found.spans, key=lambda span: span[2] == "bare")  # a span with 借/后/for before a bare one
    unit = found.payment_unit or found.frequency or (found.count_unit if found.count_unit in PERIODS_PER_YEAR else "")

    periods: int | None = None
    period: Period | None = None
    days: int | None = None
    months: int | None = None
    if found.count is not None:
        if found.count <= 0:
            return Absurd("negative" if found.count < 0 else "zero", "number of instalments")
        period = _period(unit or "month")
        if found.count_unit in ("year", *PERIODS_PER_YEAR) and found.count_unit != period:
            periods = _in_periods(found.count, found.count_unit, period)
        else:
            periods = round(found.count)
    elif spans:
        value, span_unit, kind = spans[0]
        priced = any(
            rate is not None
            for rate in (found.total, found.daily_rate, found.monthly_rate, found.annual_rate, found.flat_rate)
        )
        # A span is the instalments' count when something is paid each period, or when it is not tied to
        # borrowing (借了三个月, 7天后, for 30 days) and nothing says "in one go": 24 months, over 6 months.
        if found.payment is not None or (kind != "term" and not found.once and priced):
            period = _period(unit or (span_unit if span_unit in PERIODS_PER_YEAR else "month"))
            periods = _in_periods(value, span_unit, period)
        else:
            period, periods = "once", 1
            if span_unit in ("day", "week"):
                days = round(value * _DAYS_IN[span_unit])
            else:
                months = round(value * (12 if span_unit == "year" else 1))
    if periods is not None and periods <= 0:
        return Absurd("zero" if periods == 0 else "negative", "number of instalments")
    daily_rate, monthly_rate, flat_rate = found.daily_rate, found.monthly_rate, found.flat_rate
    principal = borrowed if borrowed is not None else received
    if found.interest_per is not None and principal:
        # Money per period on what was borrowed: with instalments that is a flat rate (利息每月500, 分12期);
        # on a single repayment, simple interest.
        amount, per = found.interest_per
        if per == period and found.payment is None and flat_rate is None:
            flat_rate = amount / principal
        elif per == "month" and monthly_rate is None:
            monthly_rate = amount / principal
        elif per != "month" and daily_rate is None:
            daily_rate = amount / principal / (7 if per == "week" else 1)

    total = found.total
    if total is None and found.interest is not None and (borrowed or received) and found.payment is None:
        total = (borrowed or received or 0.0) + found.interest
    quoted = daily_rate is not None or monthly_rate is not None or found.annual_rate is not None
    has_amount = borrowed is not None or received is not None
    has_repayment = found.payment is not None or total is not None or quoted or flat_rate is not None
    has_periods = periods is not None and (period != "once" or bool(days or months))
    if found.once and found.payment is None and not spans and found.count is None:
        has_periods = False  # 到期一次还 with no date: ask how long
    repayment: Repayment | None = None
    fee_per_period = found.fee_per_period
    if flat_rate is not None:
        repayment = "flat"
        if borrowed is not None and fee_per_period is None:
            fee_per_period = round(borrowed * flat_rate, 2)
    elif quoted and found.payment is None and total is None and period not in (None, "once"):
        repayment = "annuity"
    known: tuple[tuple[MissingField, bool], ...] = (
        ("amount", has_amount),
        ("received_or_payment", has_repayment),
        ("periods", has_periods),
    )
    missing = tuple(name for name, is_known in known if not is_known)
    if missing and not quoted:
        return Missing(missing)
    complete = not missing
    return LoanTerms(
        borrowed=borrowed,
        received=received,
        fee_upfront=found.fee_upfront,
        periods=periods if complete else None,
        period=period if complete else None,
        payment=found.payment if complete and period != "once" else None,
        total_repaid=(total if total is not None else found.payment if period == "once" else None)
        if complete
        else None,
        fee_per_period=fee_per_period,
        days=days if complete else None,
        months=months if complete else None,
        daily_rate=daily_rate,
        monthly_rate=monthly_rate,
        annual_rate_quoted=found.annual_rate,
        monthly_fee_rate=flat_rate,
        repayment=repayment if complete else None,
    )


def _period(unit: str) -> Period:
    return "week" if unit == "week" else "day" if unit == "day" else "month"


# Every number `_NUMBER` reads has a body starting with one of these. Folding may make one (NFKC, Traditional
# numerals, English number words), and so may the rate shorthand (百分之点五); the noise patterns only blank text out.
_FIGURE_START = lazy(rf"[\d{_D}十拾]")


def may_hold_figures(text: str) -> bool:
    """False when `parse` would find no number in `text`, and so could not return LoanTerms (which needs a
    schedule or a quoted rate). Folding only: about a tenth of what `parse` costs, and most messages have no
    figure at all, so the dialog asks this first of every message that is not about the cost of a loan."""
    if len(text) > MAX_TEXT:
        return True  # `parse` says why, not this
    return _FIGURE_START.search(_rate_shorthand(_fold(text))) is not None


def parse(text: str) -> LoanTerms | Missing | Absurd:
    """The loan described in `text`, what is missing to work out its rate, or why it cannot be a loan.

    LoanTerms is returned only when `compute` gives a figure for it: a full schedule, or a quoted rate.
    """
    if len(text) > MAX_TEXT:
        return Absurd("too_large", "message too long")
    folded = _fold(text)
    for noise in _NOISE:
        folded = noise.sub(" ", folded)
    tokenised, tokens = _tokenise(_rate_shorthand(folded))
    found = _Reader(tokenised, tokens, has_cjk(folded)).read()
    if found.problem is not None:
        return found.problem
    terms = _assemble(found)
    if not isinstance(terms, LoanTerms):
        return terms
    cost = compute(terms)
    return cost if isinstance(cost, Absurd) else terms


# ---------------------------------------------------------------------------------------------- computing


_MAX_RATE_PER_PERIOD = 1e4  # 1,000,000% a period: beyond it a rate means nothing


def irr(flows: Sequence[float]) -> float | None:
    """The rate per period at which the flows' net present value is zero (flow k discounted k periods).

    For a loan seen from the borrower: money in first (positive), then payments (negative or zero). Returns
    None when there is no positive root: nothing is paid beyond the money received, or the rate is beyond any
    meaning (over 1,000,000% a period). Bisection: slow but certain, and the same answer on every machine.
    """
    if len(flows) < 2 or flows[0] <= 0 or any(flow > 0 for flow in flows[1:]):
        return None
    if not all(math.isfinite(flow) for flow in flows):
        return None

    def npv(rate: float) -> float:
        discount = 1.0 / (1.0 + rate)
        value = 0.0
        for flow in reversed(flows):  # Horner: flows[0] + d·(flows[1] + d·(flows[2] + …))
            value = value * discount + flow
        return value

    if npv(0.0) >= 0:
        return None
    low, high = 0.0, 1.0
    while npv(high) < 0:
        if high >= _MAX_RATE_PER_PERIOD:
            return None
        low, high = high, min(high * 2, _MAX_RATE_PER_PERIOD)
    for _ in range(200):
        middle = (low + high) / 2
        if middle in (low, high):
            break
        if npv(middle) < 0:
            low = middle
        else:
            high = middle
    return (low + high) / 2


@dataclass(frozen=True)
class _Plan:
    flows: tuple[float, ...]
    periods_per_year: float
    instalment: float
    derived_payment: float  # the instalment before per-period fees, as stated or worked out


def _rate_in(terms: LoanTerms, period: str) -> float | None:
    """The quoted rate per `period` (month, week or day), simple: 日息0.05% → 1.52% a month."""
    quoted = terms.quoted_rate
    if quoted is None:
        return None
    kind, rate = quoted
    per_year = {"day": 365, "month": 12, "year": 1}[kind] * rate
    return per_year / PERIODS_PER_YEAR[period]


def _interest_until(terms: LoanTerms, principal: float) -> float | None:
    """Simple interest on a single repayment from a quoted rate: 借1万 月息2% 三个月 → 600."""
    quoted = terms.quoted_rate
    if quoted is None:
        return None
    kind, rate = quoted
    per_year = {"day": 365, "month": 12, "year": 1}[kind] * rate
    years = terms.days / 365 if terms.days else (terms.months or 0) / 12
    return principal * per_year * years


def _plan(terms: LoanTerms) -> _Plan | None:
    principal = terms.borrowed if terms.borrowed is not None else terms.received
    received = terms.received if terms.received is not None else terms.borrowed
    if principal is None or received is None or terms.period is None or not terms.periods:
        return None
    cash = received - terms.fee_upfront
    if terms.fee_per_period is not None:
        fee = terms.fee_per_period
    elif terms.monthly_fee_rate is not None:
        fee = principal * terms.monthly_fee_rate
    else:
        fee = 0.0
    if terms.period == "once":
        if terms.days:
            per_year = 365 / terms.days
        elif terms.months:
            per_year = 12 / terms.months
        else:
            return None
        total = terms.total_repaid if terms.total_repaid is not None else terms.payment
        if total is None:
            interest = _interest_until(terms, principal)
            if interest is None:
                return None
            total = principal + interest
        return _Plan((cash, -(total + fee)), per_year, total + fee, total)
    n = terms.periods
    payment = terms.payment
    if payment is None and terms.total_repaid is not None:
        payment = terms.total_repaid / n
    if payment is None and terms.repayment == "flat":
        payment = principal / n
    if payment is None:
        rate = _rate_in(terms, terms.period)
        if rate is None:
            return None
        payment = principal * rate / -math.expm1(-n * math.log1p(rate)) if rate > 0 else principal / n
    outflow = payment + fee
    return _Plan((cash, *([-outflow] * n)), PERIODS_PER_YEAR[terms.period], outflow, payment)


def cash_flows(terms: LoanTerms) -> tuple[float, ...] | None:
    """The borrower's cash flows, one a period: money in hand at the start, then each payment (negative)."""
    plan = _plan(terms)
    return None if plan is None else plan.flows


def _check(terms: LoanTerms) -> Absurd | None:
    """Figures no loan can have, in the order a user most likely mistyped them."""
    amounts = {
        "borrowed": terms.borrowed,
        "received": terms.received,
        "payment": terms.payment,
        "total_repaid": terms.total_repaid,
    }
    fees = {"fee_upfront": terms.fee_upfront, "fee_per_period": terms.fee_per_period}
    rates = {
        "daily_rate": (terms.daily_rate, MAX_DAILY_RATE),
        "monthly_rate": (terms.monthly_rate, MAX_MONTHLY_RATE),
        "annual_rate_quoted": (terms.annual_rate_quoted, MAX_ANNUAL_RATE),
        "monthly_fee_rate": (terms.monthly_fee_rate, MAX_FLAT_RATE),
    }
    numbers = [*amounts.values(), *fees.values(), *(rate for rate, _ in rates.values())]
    if any(value is not None and math.isnan(value) for value in numbers):
        return Absurd("out_of_range", "not a number")
    for name, value in [*amounts.items(), *fees.items(), *((k, v) for k, (v, _) in rates.items())]:
        if value is not None and value < 0:
            return Absurd("negative", name)
    for name, value in amounts.items():
        if value is not None and value == 0:
            return Absurd("zero", name)
        if value is not None and value > MAX_AMOUNT:
            return Absurd("too_large", name)
    for name, value in fees.items():
        if value is not None and value > MAX_AMOUNT:
            return Absurd("too_large", name)
    for name, (rate, limit) in rates.items():
        if rate is not None and rate == 0:
            return Absurd("zero", name)
        if rate is not None and rate > limit:
            return Absurd("rate_too_high", name)
    for name, count, limit in (
        ("periods", terms.periods, MAX_PERIODS),
        ("days", terms.days, MAX_DAYS),
        ("months", terms.months, MAX_MONTHS),
    ):
        if count is not None and count < 0:
            return Absurd("negative", name)
        if count is not None and count == 0:
            return Absurd("zero", name)
        if count is not None and count > limit:
            return Absurd("out_of_range", name)
    if terms.borrowed is not None and terms.received is not None and terms.received > terms.borrowed:
        return Absurd("received_more_than_borrowed")
    received = terms.received if terms.received is not None else terms.borrowed
    if received is not None and terms.fee_upfront >= received:
        return Absurd("fee_exceeds_money")
    return None


def _compound(rate: float, per_year: float) -> float | None:
    try:
        return math.expm1(per_year * math.log1p(rate))
    except OverflowError:
        return None


def compute(terms: LoanTerms) -> Cost | Absurd:
    """The annualised cost of `terms`: by internal rate of return when the schedule is known, else from the
    quoted rate. Never raises: impossible figures give `Absurd`."""
    problem = _check(terms)
    if problem is not None:
        return problem
    deducted = 0.0
    if terms.borrowed is not None and terms.received is not None:
        deducted = terms.borrowed - terms.received
    plan = _plan(terms)
    if plan is None:
        quoted = terms.quoted_rate
        if quoted is None:
            return Absurd("incomplete")
        kind, rate = quoted
        per_year = {"day": 365, "month": 12, "year": 1}[kind]
        effective = None if kind == "year" else _compound(rate, per_year)
        return Cost(terms, "quoted", rate * per_year, effective, rate, per_year, deducted)
    cash = plan.flows[0]
    repaid = -math.fsum(plan.flows[1:])
    if repaid <= cash:
        return Absurd("no_cost", f"repaid {repaid:.2f} <= received {cash:.2f}")
    per_period = irr(plan.flows)
    if per_period is None or per_period * plan.periods_per_year > MAX_APR:
        return Absurd("rate_too_high", "schedule")
    return Cost(
        terms,
        "irr",
        per_period * plan.periods_per_year,
        _compound(per_period, plan.periods_per_year),
        per_period,
        plan.periods_per_year,
        deducted,
        cash_at_start=cash,
        instalment=plan.instalment,
        total_repaid=repaid,
        total_cost=repaid - cash,
        cost_ratio=(repaid - cash) / cash,
    )


# ---------------------------------------------------------------------------------------------- wording
# Written in Simplified Chinese and English; Traditional comes from the Simplified text (bot.text).


def _localised(hans: str, english: str, locale: Locale) -> str:
    if locale == "en":
        return english
    return to_traditional(hans) if locale == "zh-Hant" else hans


def _money(amount: float) -> str:
    return f"{round(amount):,}" if abs(amount - round(amount)) < 0.005 else f"{amount:,.2f}"


def _percent(rate: float, *, exact: bool = False) -> str:
    """69%, 9.4%, 2,235%; `exact` for quoted rates, which users compare digit by digit (18.25%)."""
    value = rate * 100
    if exact:
        return f"{value:.4g}%" if value < 1000 else f"{value:,.0f}%"
    if value >= 1000:
        return f"{value:,.0f}%"
    return f"{value:.0f}%" if value >= 10 else f"{value:.1f}%"


_HUGE = 100.0  # an effective rate over 10,000% is shown as "over 10,000%": its digits mean nothing


def _compounded(effective: float | None, locale: Locale) -> str:
    """The compounded figure as a phrase: 约96% / about 96%, or 超过10,000% for a 714 loan's astronomic one."""
    if effective is None:
        return ""
    if effective > _HUGE:
        return "over 10,000%" if locale == "en" else "超过10,000%"
    return f"about {_percent(effective)}" if locale == "en" else f"约{_percent(effective)}"


_PER_HANS = {"month": ("个月", "每月", "按月"), "week": ("周", "每周", "按周"), "day": ("天", "每天", "按日")}
_PER_EN = {"month": ("monthly", "month"), "week": ("weekly", "week"), "day": ("daily", "day")}
_QUOTED_HANS = {"day": "日息", "month": "月息", "year": "年化"}
_QUOTED_EN = {"day": "a day", "month": "a month", "year": "a year"}


def _quoted_words(terms: LoanTerms) -> tuple[str, str] | None:
    quoted = terms.quoted_rate
    if quoted is None:
        return None
    kind, rate = quoted
    return f"{_QUOTED_HANS[kind]}{_percent(rate, exact=True)}", f"{_percent(rate, exact=True)} {_QUOTED_EN[kind]}"


def _schedule_line(cost: Cost, locale: Locale) -> str:
    """First line: what came in, what goes out, what that costs."""
    terms = cost.terms
    received = terms.received if terms.received is not None else terms.borrowed
    cash, repaid, total_cost, ratio = cost.cash_at_start, cost.total_repaid, cost.total_cost, cost.cost_ratio
    assert received is not None and cash is not None and repaid is not None  # an "irr" Cost has them all
    assert total_cost is not None and ratio is not None and cost.instalment is not None
    fee = terms.fee_upfront
    hans = f"到手{_money(received)}元"
    english = f"You received {_money(received)}"
    if fee:
        hans += f"，另外先付了{_money(fee)}元费用，实际可用{_money(cash)}元"
        english += f" and paid {_money(fee)} in fees at the start, leaving {_money(cash)}"
    per_fee = cost.instalment - (terms.payment or 0.0) if terms.payment is not None else None
    if terms.period == "once":
        span_hans = f"{terms.days}天" if terms.days else f"{terms.months}个月"
        span_en = f"{terms.days} days" if terms.days else f"{terms.months} months"
        hans += f"，{span_hans}后一次还{_money(repaid)}元"
        english += f"; you repay {_money(repaid)} in one go after {span_en}"
        quoted = _quoted_words(terms)
        if terms.total_repaid is None and quoted is not None:
            hans += f"（按{quoted[0]}单利算）"
            english += f" (simple interest at {quoted[1]})"
    else:
        assert terms.period is not None
        count, every, _ = _PER_HANS[terms.period]
        adjective = _PER_EN[terms.period][0]
        n = terms.periods
        if terms.repayment == "flat" and terms.payment is None:
            principal = terms.borrowed or received
            part = principal / (n or 1)
            fee_each = cost.instalment - part
            hans += f"，{n}{count}{every}还本金{_money(part)}元加手续费{_money(fee_each)}元"
            english += f"; {n} {adjective} payments of {_money(part)} principal plus a {_money(fee_each)} fee"
        else:
            hans += f"，{n}{count}{every}还{_money(cost.instalment)}元"
            english += f"; {n} {adjective} payments of {_money(cost.instalment)}"
            if per_fee:
                hans += f"（含费用{_money(per_fee)}元）"
                english += f" (including a {_money(per_fee)} fee)"
            quoted = _quoted_words(terms)
            if terms.repayment == "annuity" and quoted is not None:
                hans += f"（按{quoted[0]}等额本息算）"
                english += f" (equal payments at {quoted[1]})"
        english += f", {_money(repaid)} in all"
        hans += f"，共还{_money(repaid)}元"
    base_hans = "实际可用金额" if fee else "到手金额"
    base_en = "the money you could use" if fee else "what you received"
    hans += f"；总成本{_money(total_cost)}元，是{base_hans}的{ratio * 100:.0f}%。"
    english += f". The cost is {_money(total_cost)}, {ratio * 100:.0f}% of {base_en}."
    return _localised(hans, english, locale)


def _rate_line(cost: Cost, locale: Locale) -> str:
    """Second line: the annual figure and how it was reached."""
    terms = cost.terms
    if cost.method == "quoted":
        quoted = terms.quoted_rate
        assert quoted is not None
        kind, rate = quoted
        if kind == "year":
            return _localised(
                f"年化{_percent(rate, exact=True)}已经是按年计算的利率；没有还款计划，算不出按复利折算的数字。",
                f"{_percent(rate, exact=True)} a year is already an annual rate; without a repayment schedule "
                "there is no compounded figure.",
                locale,
            )
        times_hans, times_en, per = ("365天", "365 days", "按日") if kind == "day" else ("12个月", "12 months", "按月")
        return _localised(
            f"{_QUOTED_HANS[kind]}{_percent(rate, exact=True)}，"
            f"乘以{times_hans}是年化{_percent(cost.apr, exact=True)}；"
            f"{per}复利{_compounded(cost.effective, 'zh-Hans')}。",
            f"{_percent(rate, exact=True)} {_QUOTED_EN[kind]} times {times_en} is {_percent(cost.apr, exact=True)} "
            f"a year; compounded, {_compounded(cost.effective, 'en')}.",
            locale,
        )
    if terms.period == "once":
        days = f"{terms.days}天" if terms.days else f"{terms.months}个月"
        span_en = f"{terms.days} days" if terms.days else f"{terms.months} months"
        times = f"365÷{terms.days}" if terms.days else f"12÷{terms.months}"
        return _localised(
            f"按内部收益率法折算：{days}的成本是{_percent(cost.rate_per_period)}，×{times}，年化约{_percent(cost.apr)}"
            f"（这样一期接一期滚动借，复利{_compounded(cost.effective, 'zh-Hans')}）。",
            f"As an internal rate of return: {_percent(cost.rate_per_period)} for {span_en}, × {times}, about "
            f"{_percent(cost.apr)} a year ({_compounded(cost.effective, 'en')} compounded, borrowing again "
            "each time).",
            locale,
        )
    assert terms.period is not None
    adjective = _PER_EN[terms.period][0]
    return _localised(
        f"按内部收益率法折算，年化约{_percent(cost.apr)}"
        f"（{_PER_HANS[terms.period][2]}复利{_compounded(cost.effective, 'zh-Hans')}）。",
        f"As an internal rate of return, about {_percent(cost.apr)} a year "
        f"({cost.rate_per_period * 100:.2f}% a {_PER_EN[terms.period][1]} × {cost.periods_per_year:.0f}; "
        f"compounded {adjective}, {_compounded(cost.effective, 'en')}).",
        locale,
    )


def _note_line(cost: Cost, locale: Locale, region: Region | None) -> str | None:
    """Third line, the most useful of: money deducted up front, a flat fee, a quoted rate that hides costs."""
    terms = cost.terms
    if cost.deducted_up_front > 0 and terms.borrowed is not None and terms.received is not None:
        borrowed, received, deducted = _money(terms.borrowed), _money(terms.received), _money(cost.deducted_up_front)
        if region in ("hk", "tw"):
            return _localised(
                f"合同写借款{borrowed}元，实际到手{received}元：{deducted}元被预先扣除，上面按实际到手的钱计算。",
                f"The contract says {borrowed} but you received {received}: {deducted} was deducted up front, "
                "so the figures above are worked out on what you actually received.",
                locale,
            )
        return _localised(
            f"合同写借款{borrowed}元，实际到手{received}元，{deducted}元被预先扣除（砍头息）。"
            f"《民法典》第670条：利息不得预先在本金中扣除，预先扣除的，按实际借到的{received}元计算本金。",
            f"The contract says {borrowed} but you received {received}: {deducted} was deducted up front (砍头息). "
            "Under Article 670 of China's Civil Code, interest may not be deducted from the principal in "
            f"advance; if it was, the loan counts as the {received} actually received.",
            locale,
        )
    if terms.repayment == "flat" and terms.monthly_fee_rate is not None and cost.method == "irr":
        fee, looks = _percent(terms.monthly_fee_rate, exact=True), _percent(terms.monthly_fee_rate * 12, exact=True)
        return _localised(
            f"每期手续费{fee}看上去只是年化{looks}，但它一直按最初的本金收，而要还的本金每期都在减少，所以实际年化高得多。",
            f"A {fee} fee per period looks like {looks} a year, but it is charged on the original amount every "
            "time while what you owe keeps falling, so the real rate is much higher.",
            locale,
        )
    quoted = _quoted_words(terms)
    if quoted is not None and cost.method == "irr" and terms.repayment != "annuity" and terms.total_repaid is not None:
        kind, rate = terms.quoted_rate or ("year", 0.0)
        simple = rate * {"day": 365, "month": 12, "year": 1}[kind]
        if abs(simple - cost.apr) > 0.005:
            return _localised(
                f"对方报的是{quoted[0]}（折合年化{_percent(simple, exact=True)}），把实际到手的钱和所有还款算进去，"
                f"是年化约{_percent(cost.apr)}。",
                f"The lender quoted {quoted[1]} ({_percent(simple, exact=True)} a year); counting what you really "
                f"received and everything you repay, it is about {_percent(cost.apr)} a year.",
                locale,
            )
    if cost.method == "quoted":
        return _localised(
            "报出来的利率不含服务费、会员费等费用，也没算预先扣掉的钱。告诉我到手多少、每期还多少、还几期，就能算出全部成本的真实年化。",
            "A quoted rate leaves out service and membership fees and money deducted up front. Tell me what you "
            "received, each payment and how many there are, and I can work out the real annual cost.",
            locale,
        )
    return None


def explain(cost: Cost, locale: Locale, region: Region | None = None) -> list[str]:
    """Two or three short lines: how the figure was reached, and what was deducted up front (砍头息).

    `region` only changes the legal reference: 《民法典》第670条 is mainland law, so it is cited unless the
    user is in Hong Kong or Taiwan.
    """
    lines = [] if cost.method == "quoted" else [_schedule_line(cost, locale)]
    lines.append(_rate_line(cost, locale))
    note = _note_line(cost, locale, region)
    if note is not None:
        lines.append(note)
    return lines


def meaning(cost: Cost, locale: Locale, region: Region | None = None) -> list[str]:
    """What the figure means under the rules of the user's region, framed as docs/sources.md allows.

    Mainland (the default): the courts' cap for private lending (4 × one-year LPR; 12% for contracts since
    May 2025) with the plain note that licensed lenders fall under financial regulation instead, so the loan
    is never declared illegal here; the lender's duty to show the annualised rate. Hong Kong: the Money Lenders
    Ordinance. Taiwan: 民法 art. 205.
    """
    quoted = cost.method == "quoted"
    figure = _percent(cost.apr, exact=quoted)
    this_hans = f"按这个利率，年化{figure}。" if quoted else f"这笔年化约{figure}。"
    this_en = f"At this rate, {figure} a year." if quoted else f"This loan costs about {figure} a year."
    if region == "hk":
        return [
            _localised(
                f"{this_hans}香港《放债人条例》（第163章）：2022年12月30日起订立的贷款，年利率超过48%属违法、"
                "不可强制执行，超过36%推定为敲诈性；具体按条例的计算方法为准。",
                f"{this_en} Under Hong Kong's Money Lenders Ordinance (Cap. 163), for "
                "loans made since 30 December 2022, a rate above 48% a year is an offence and cannot be enforced, "
                "and above 36% is presumed extortionate; the ordinance's own method of calculation applies.",
                locale,
            ),
            _localised(
                "持牌放债人名单可在公司注册处查到；对放债人的投诉由警方处理，对银行的投诉可找金管局（2878 1378）。",
                "The Companies Registry lists licensed money lenders; the police handle complaints about money "
                "lenders, and the HKMA (2878 1378) complaints about banks.",
                locale,
            ),
        ]
    if region == "tw":
        return [
            _localised(
                f"{this_hans}台湾《民法》第205条（2021年7月20日起）：约定年利率超过16%的，超过部分的约定无效。",
                f"{this_en} Under Taiwan's Civil Code art. 205 (since 20 July 2021), "
                "interest agreed above 16% a year is void for the part above 16%.",
                locale,
            ),
            _localised(
                "可以打银行公会债务咨询专线（02-8596-1629）；和金融机构有争议，先向机构申诉，30天内没有答复的，"
                "可在60天内向金融消费评议中心（0800-789-885）申请评议。",
                "The Bankers Association's debt line (02-8596-1629) can advise; in a dispute with a financial "
                "firm, complain to it first, and if it does not answer within 30 days, apply to the Financial "
                "Ombudsman Institution (0800-789-885) within 60 days.",
                locale,
            ),
        ]
    above = cost.apr > 0.12
    lines = [
        _localised(
            f"{this_hans}民间借贷（个人或没有放贷资质的机构放的款）中，法院不支持超过合同成立时一年期LPR四倍的利息；"
            "2025年5月以来签订的合同，这条线是年化12%" + ("，这笔超过了。" if above else "，这笔没有超过。"),
            f"{this_en} In private lending (from a person or a firm without a lending "
            "licence), courts do not support interest above four times the one-year LPR at the time of the "
            "contract: 12% a year for contracts made since May 2025"
            + (", and this loan is above it." if above else ", and this loan is not above it."),
            locale,
        ),
        _localised(
            "银行、消费金融公司、小贷公司等持牌机构受金融监管规定约束，不适用这条线，所以不能据此说借款违法；"
            "但贷款方必须以年化利率明示全部借款成本，包括与借款直接相关的费用（中国人民银行公告〔2021〕第3号）。",
            "Banks, consumer-finance and small-loan companies and other licensed lenders fall under financial "
            "regulation instead, so this alone does not make the loan illegal; but every lender must show the "
            "annualised rate of the whole cost, fees directly related to the loan included (PBoC Announcement "
            "No. 3 of 2021).",
            locale,
        ),
    ]
    if above:
        lines.append(
            _localised(
                "觉得收费过高：先向对方要费用明细、协商；银行和消费金融公司可以打12378投诉，小贷公司向它注册地的地方金融管理局投诉，"
                "要法律意见可以打12348。超出的部分法院一般不支持，但不要因此直接不还。",
                "If the charges look too high, ask the lender for a statement of every fee and negotiate; complain "
                "about banks and consumer-finance companies on 12378 and about small-loan companies to the local "
                "financial regulator where they are registered; call 12348 for legal advice. A court would not "
                "support the excess, but do not simply stop paying.",
                locale,
            )
        )
    return lines


_QUESTIONS: dict[tuple[MissingField, ...], tuple[str, str]] = {
    ("amount",): ("借了多少钱、实际到手多少？", "How much did you borrow, and how much actually reached you?"),
    ("received_or_payment",): (
        "每期还多少钱（或者一共要还多少）？",
        "How much is each payment (or how much do you repay in all)?",
    ),
    ("periods",): ("要还几期，或者借了多久？", "How many payments are there, or for how long is the loan?"),
    ("amount", "received_or_payment"): (
        "借了多少、到手多少？每期还多少？",
        "How much did you borrow and actually receive, and how much is each payment?",
    ),
    ("amount", "periods"): (
        "借了多少、到手多少？要还几期？",
        "How much did you borrow and actually receive, and how many payments are there?",
    ),
    ("received_or_payment", "periods"): ("每期还多少、还几期？", "How much is each payment, and how many are there?"),
    ("amount", "received_or_payment", "periods"): (
        "到手多少钱？每期还多少、还几期？",
        "How much did you actually receive, how much is each payment, and how many payments are there?",
    ),
}


def question_for(missing: Missing, locale: Locale) -> str:
    """One question asking for everything that is missing, with an example of an answer that works."""
    key = tuple(name for name in MISSING_ORDER if name in missing.fields) or MISSING_ORDER
    hans, english = _QUESTIONS[key]
    return _localised(
        hans + "（比如：借1万，到手8500，分12期，每期还1000）",
        english + ' (for example: "borrowed 10,000, received 8,500, 12 monthly payments of 1,000")',
        locale,
    )


_ABSURD: dict[AbsurdReason, tuple[str, str]] = {
    "negative": (
        "数字里有负数（借款、期数或还款额），这样算不出利率。请检查后再发一次。",
        "One of the numbers is negative (the loan, the number of payments or a payment), so there is no rate "
        "to work out. Please check and send it again.",
    ),
    "zero": (
        "有个数字是0（期数、金额或利率），这样算不出利率。请检查后再发一次。",
        "One of the numbers is zero (payments, an amount or a rate), so there is no rate to work out. Please "
        "check and send it again.",
    ),
    "too_large": (
        "这个数字太大了，不像是一笔借款。请检查后再发一次。",
        "That number is too large to be a loan. Please check it and send it again.",
    ),
    "out_of_range": (
        "期数或借款期限不合常理（比如几百年），请检查后再发一次。",
        "The number of payments or the length of the loan cannot be right (hundreds of years?). Please check "
        "and send it again.",
    ),
    "received_more_than_borrowed": (
        "到手的钱比借款金额还多，这不太可能。请检查这两个数字。",
        "You received more than you borrowed, which cannot be right. Please check those two numbers.",
    ),
    "fee_exceeds_money": (
        "先付的费用不比到手的钱少，这样算不出利率。请检查一下。",
        "The fee paid at the start is as much as the money received, so there is no rate to work out. Please check.",
    ),
    "no_cost": (
        "按这些数字，还的钱不比到手的钱多，没有利息可算。请检查每期还多少、还几期。",
        "With these numbers you repay no more than you received, so there is no interest to work out. Please "
        "check each payment and how many there are.",
    ),
    "rate_too_high": (
        "这个利率高得不合常理（比如日息10%等于一年3650%），可能是写错了，比如把0.1%写成了10%。请核对合同或借款页面上的数字。",
        "That rate is too high to be right (10% a day would be 3,650% a year); it may be a slip, such as 10% "
        "for 0.1%. Please check the number in the contract or the app.",
    ),
    "incomplete": (
        "信息还不够，算不出利率。",
        "There is not enough information to work out a rate.",
    ),
}


def absurd_message(absurd: Absurd, locale: Locale) -> str:
    """Why no figure can be given, in words safe to show the user."""
    hans, english = _ABSURD[absurd.reason]
    return _localised(hans, english, locale)
