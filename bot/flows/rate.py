"""The loan-cost exchange: a message that describes a loan gets its real annual rate; a missing figure, one question.

    detect(text, decision)         what to do with a message: LoanTerms (answer with the rate), Missing (ask),
                                   Absurd (say why no rate can be given), or None (not a rate question)
    answer(terms, locale, region)  the figure, how it was reached, what it means where the user is, next steps
    combined(draft, text, missing) the loan told so far plus the answer to the question asked

Parsing and computing are `bot.rates` (pure, tested on their own); this module decides when a message is a
rate question and words the exchange. The figures typed live only in the flow's memory (`bot.flows.memory`)
until the rate is given; the usage event says "rate", never a number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..actions import Action
from ..matcher import CRISIS_INTENT
from ..models import Button, Locale, Match, Reply
from ..patterns import lazy
from ..rates import Absurd, LoanTerms, Missing, compute, explain, may_hold_figures, meaning, parse, read_number
from ..region import Region
from .steps import localised

if TYPE_CHECKING:
    from ..knowledge import KnowledgeBase

FLOW = "rate"
INTENT = "legal.interest_fees"
STATEMENT_INTENT = "rights.debt_statement"
NEGOTIATE_INTENT = "rights.negotiate"
MAX_ASKS = 2  # one question, and once more if the answer did not help; then the flow steps aside
# Words that make a message with figures a question about its cost, even when the matcher saw another topic.
_COST_WORDS = lazy(
    r"年化|利率|利息|费率|费用|手续费|砍头|高利贷|合法|合理|多少|算一下|算算|贵|"
    r"年化|利率|利息|費率|費用|手續費|高利貸|合理|年息|月息|日息|幾多|几多|"
    r"\b(apr|interest|rate|fees?|legal|how much|usury|loan shark)\b",
    re.IGNORECASE,
)
_BARE = lazy(r"^[\s,，、;；/]*$")


@dataclass(frozen=True)
class RateDraft:
    """The loan as told so far, waiting for the figure asked for. Flow memory only."""

    text: str
    missing: tuple[str, ...]
    asks: int = 1


def _about_cost(decision: Match) -> bool:
    if decision.intent == INTENT:
        return True
    return (
        decision.kind in ("clarify", "overview", "fallback")
        and bool(decision.candidates)
        and (decision.candidates[0].intent == INTENT)
    )


def detect(text: str, decision: Match) -> LoanTerms | Missing | Absurd | None:
    """What the rate exchange makes of a message, or None when it is not a question about a loan's cost."""
    if decision.intent == CRISIS_INTENT:
        return None
    on_topic = _about_cost(decision)
    if not on_topic and not may_hold_figures(text):
        return None  # off the topic, only LoanTerms counts, and without a number there are none: no parse
    parsed = parse(text)
    if isinstance(parsed, LoanTerms):
        quoted = parsed.quoted_rate
        if parsed.periods is None and quoted is not None:
            if quoted[0] == "year":
                return None  # an annual rate and nothing else: nothing to work out, the ordinary answer says more
            if decision.topic is not None:
                return None  # a rate alone, out of scope ("an investment app pays 0.1% a day")
        other_answer = decision.kind == "answer" and not on_topic
        if other_answer and not _COST_WORDS.search(text):
            return None  # a story with figures in it, asking about something else
        return parsed
    if not on_topic:
        return None
    if isinstance(parsed, Absurd):
        return parsed
    if len(parsed.fields) < 3:
        return parsed  # some figures were given: ask for the rest
    return None


def bare_numbers(text: str) -> list[str] | None:
    """The numbers of a reply that is nothing but numbers ("8500", "1000 12", "八千五"), or None."""
    tokens = [token for token in re.split(r"[\s,，、;；/]+", text.strip()) if token]
    if not tokens or any(read_number(token) is None for token in tokens):
        return None
    return tokens


# A bare number answering a question gets the words that say which figure it is.
_CUES = {"amount": "到手{}", "received_or_payment": "每期还{}", "periods": "分{}期"}


MAX_GUESSED_PERIODS = 60  # a bare whole number up to this, when payments and their number are both missing


def combined(draft: RateDraft, text: str) -> str:
    """What the user told so far and their reply, as one description `rates.parse` can read: bare numbers get
    the words of the figures asked for ("12" after "每期还多少、还几期？" is the number of payments)."""
    numbers = bare_numbers(text)
    if numbers is None or len(numbers) > len(draft.missing):
        return f"{draft.text}\n{text}"
    if len(numbers) == len(draft.missing):
        pairs = list(zip(draft.missing, numbers, strict=True))  # in the order the question asked for them
    else:
        # Fewer numbers than figures asked for: a small whole number is the number of payments.
        remaining = list(draft.missing)
        pairs = []
        for number in numbers:
            value = read_number(number) or 0.0
            small = value == int(value) and 0 < value <= MAX_GUESSED_PERIODS
            others = [f for f in remaining if f != "periods"]
            field = "periods" if ("periods" in remaining and (small or not others)) else others[0]
            remaining.remove(field)
            pairs.append((field, number))
    cued = [_CUES[field].format(number) for field, number in pairs]
    return f"{draft.text}\n{' '.join(cued)}"


def restarts(draft: RateDraft, reply: Missing) -> bool:
    """Whether a reply describes a loan of its own (it names the amount) rather than adding the figure asked for."""
    return "amount" not in draft.missing and "amount" not in reply.fields and len(reply.fields) < 3


def gave_figures(text: str) -> bool:
    """Whether a reply has any figure in it at all; a reply without one is a new question, not an answer."""
    return bool(re.search(r"\d|[一二两三四五六七八九十百千万]", text))


_WORDS = {
    "headline": ("这笔借款的真实成本：", "The real cost of this loan:"),
    "estimate": (
        "以上按你给的数字估算，以合同和还款计划为准。",
        "This is worked out from the figures you gave; the contract and repayment schedule are what count.",
    ),
    "statement": ("要一份费用明细", "Ask for a statement of fees"),
    "complain": ("帮我写投诉信", "Help me write a complaint"),
    "negotiate": ("怎么协商还款", "How to negotiate repayment"),
    "cancelled": ("好的，不算了，刚才的数字已经删除。", "OK, I've dropped it and deleted the figures."),
}


def say(key: str, locale: Locale) -> str:
    hans, english = _WORDS[key]
    return localised(hans, english, locale)


def answer(kb: KnowledgeBase, terms: LoanTerms, locale: Locale, region: Region | None) -> Reply | Absurd:
    cost = compute(terms)
    if isinstance(cost, Absurd):
        return cost
    lines = [say("headline", locale), *explain(cost, locale, region), *meaning(cost, locale, region)]
    lines.append(say("estimate", locale))
    buttons: list[Button] = []
    if STATEMENT_INTENT in kb.intents:
        buttons.append(Action("answer", STATEMENT_INTENT).button(say("statement", locale)))
    buttons.append(Action("flow", "complain.fees").button(say("complain", locale)))
    if NEGOTIATE_INTENT in kb.intents:
        buttons.append(Action("answer", NEGOTIATE_INTENT).button(say("negotiate", locale)))
    return Reply("\n".join(lines), tuple(buttons))
