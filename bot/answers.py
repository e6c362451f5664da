"""How an answer reads on the user's screen: the region it applies to, its sources in one line, when it was checked.

    answer_text(answer, locale, region)   the answer, with a preface when it describes mainland rules for a user
                                          elsewhere, then "依据：…" in one line and "核对于 2026-11"
    more_text(answer, locale, region)     the details behind the "more" button, with the same preface
    sources_line(answer, locale)          "依据：民法典第1033条；GB/T 45251—2025（推荐性国家标准）"

Content may write {emergency} where a user should call for help now; it becomes 110 for mainland China and
Taiwan and 999 for Hong Kong. Nobody outside mainland China and Taiwan is ever told to call 110.
"""

from __future__ import annotations

import re

from .knowledge import SOURCED_GROUPS, Answer
from .messages import say
from .models import Locale
from .region import Region

_EMERGENCY: dict[Region | None, str] = {None: "110", "mainland": "110", "hk": "999", "tw": "110"}
_PLACEHOLDER = re.compile(r"\{emergency\}")


def fill(text: str, locale: Locale, region: Region | None) -> str:
    """`text` with {emergency} replaced by the number to call where the user is."""
    number = _EMERGENCY.get(region) or say("local_emergency", locale)
    return _PLACEHOLDER.sub(number, text)


def preface(answer: Answer, locale: Locale, region: Region | None) -> str | None:
    """One line saying that a mainland answer describes mainland rules, for a user known to be elsewhere."""
    if region in (None, "mainland") or answer.region == region or answer.intent.startswith("meta."):
        return None
    return say(f"preface.{region}", locale)


def sources_line(answer: Answer, locale: Locale) -> str:
    separator = "; " if locale == "en" else "；"
    return say("sources", locale) + separator.join(source.short for source in answer.sources)


def checked_line(answer: Answer, locale: Locale) -> str | None:
    if answer.reviewed is None:
        return None
    return f"{say('checked', locale)} {answer.reviewed:%Y-%m}"


def answer_text(answer: Answer, locale: Locale, region: Region | None) -> str:
    parts: list[str] = []
    first = preface(answer, locale, region)
    if first:
        parts.append(first)
    parts.append(fill(answer.text, locale, region))
    footer: list[str] = []
    if answer.sources:
        footer.append(sources_line(answer, locale))
    checked = checked_line(answer, locale)
    if checked and (answer.sources or answer.intent.split(".", 1)[0] in SOURCED_GROUPS):
        footer.append(checked)
    text = "\n".join(parts)
    return text + "\n\n" + "\n".join(footer) if footer else text


def more_text(answer: Answer, locale: Locale, region: Region | None) -> str | None:
    if not answer.more:
        return None
    first = preface(answer, locale, region)
    body = fill(answer.more, locale, region)
    return f"{first}\n{body}" if first else body
