"""Which of the options last offered a person picked, when they typed instead of tapping a button.

    pick(text, labels) → Pick(index) | OutOfRange(count) | None

Understood: a bare number ("2", "2.", "#2"), ordinals in Chinese and English ("第二个", "第2項", "選2",
"2号", "the second one", "2nd", "option two"), and the option's own text ("家人要替我还钱吗", give or
take punctuation and script). A number outside the options is reported so the bot can say which ones
exist, instead of treating "5" as a question. The whole message must be the choice: "第二个月" is not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

from .patterns import lazy
from .text import normalise

_CHINESE_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "兩": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_ENGLISH_NUMBERS = {
    "one": 1, "first": 1, "1st": 1,
    "two": 2, "second": 2, "2nd": 2,
    "three": 3, "third": 3, "3rd": 3,
    "four": 4, "fourth": 4, "4th": 4,
    "five": 5, "fifth": 5, "5th": 5,
    "six": 6, "sixth": 6, "6th": 6,
    "seven": 7, "seventh": 7, "7th": 7,
    "eight": 8, "eighth": 8, "8th": 8,
    "nine": 9, "ninth": 9, "9th": 9,
    "ten": 10, "tenth": 10, "10th": 10,
}  # fmt: skip
_NUMBER = r"(\d{1,2}|[一二两兩三四五六七八九十])"
_CHINESE = lazy(rf"^(?:我)?(?:选|選|揀|拣|要)?\s*(?:第)?\s*{_NUMBER}\s*(?:个|個|项|項|条|條|号|號|种|種|吧|啊|呀)?$")
_ENGLISH = lazy(
    r"^(?:i(?: ?m| want| choose| pick)?|the|option|number|no|choice|pick|#)*\s*"
    r"(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|first|second|third|fourth|fifth|sixth|seventh|"
    r"eighth|ninth|tenth|1st|2nd|3rd|[4-9]th|10th)(?: one| option| please)*$"
)
TEXT_MATCH = 88  # how close typed text must be to an option's label (0-100)


@dataclass(frozen=True)
class Pick:
    index: int  # 0-based


@dataclass(frozen=True)
class OutOfRange:
    count: int  # how many options there were


def _number(text: str) -> int | None:
    folded = text.strip().casefold().replace("#", " # ")
    folded = re.sub(r"[\s.、:：)）,，!！。]+$", "", folded).strip()
    chinese = _CHINESE.match(folded)
    if chinese:
        value = chinese.group(1)
        return int(value) if value.isdigit() else _CHINESE_NUMBERS[value]
    english = _ENGLISH.match(re.sub(r"\s+", " ", folded))
    if english:
        value = english.group(1)
        return int(value) if value.isdigit() else _ENGLISH_NUMBERS[value]
    return None


# Button labels are the bot's own words (titles, menu entries), offered again and again: normalised once each.
_label_form = lru_cache(maxsize=4096)(normalise)


def pick(text: str, labels: Sequence[str]) -> Pick | OutOfRange | None:
    """The option `text` chooses among `labels` (in the order offered), if it chooses one at all."""
    if not labels:
        return None
    number = _number(text)
    if number is not None:
        return Pick(number - 1) if 1 <= number <= len(labels) else OutOfRange(len(labels))
    typed = normalise(text)
    if not typed:
        return None
    scores = [fuzz.ratio(typed, _label_form(label)) for label in labels]
    best = max(range(len(labels)), key=scores.__getitem__)
    close = [score for score in scores if score >= TEXT_MATCH]
    return Pick(best) if len(close) == 1 else None  # two labels alike: not a clear choice
