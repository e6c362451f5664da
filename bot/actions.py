"""What a button does, as one typed value, and how the options of a reply are numbered on every channel.

    Action(kind, value).encode()   the short ASCII payload a channel carries (Telegram allows 64 bytes)
    Action.decode(payload)         the action again, or None for anything that is not one of ours
    numbered(replies)              every button of a turn with its number, 1… across all the turn's replies

A person on WeChat or the console types "2" for the second option of the turn; on Telegram they tap it.
Both reach the same action because the numbering is defined here once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from .models import Button, Reply

Kind = Literal["answer", "more", "topic", "menu", "none", "lang", "region", "care", "flow", "feedback"]
_CODE: dict[Kind, str] = {
    "answer": "a",  # an intent's answer
    "more": "m",  # an intent's details
    "topic": "t",  # the questions of one topic
    "menu": "c",  # the topic menu
    "none": "n",  # none of these / not what I meant: the menu
    "lang": "l",  # choose a language
    "region": "r",  # choose a region
    "care": "k",  # a choice in care mode
    "flow": "f",  # a step of a guided flow (bot.flows): start one, answer, skip, back, next part
    "feedback": "h",  # was an answer helpful: `y.<intent>` or `n.<intent>`; `<intent>` alone marks it asked
}
_KIND = {code: kind for kind, code in _CODE.items()}
_VALUE = re.compile(r"^[A-Za-z0-9_.-]{0,60}$")
MAX_PAYLOAD_BYTES = 64


@dataclass(frozen=True)
class Action:
    kind: Kind
    value: str = ""

    def encode(self) -> str:
        return f"{_CODE[self.kind]}:{self.value}"

    @classmethod
    def decode(cls, payload: str) -> Action | None:
        code, separator, value = payload.partition(":")
        kind = _KIND.get(code)
        if kind is None or not separator or not _VALUE.match(value):
            return None
        return cls(kind, value)

    def button(self, label: str) -> Button:
        return Button(label, self.encode())


def numbered(replies: Sequence[Reply]) -> list[tuple[int, Button]]:
    """Every button of one turn with the number a person types to pick it: 1, 2, … across all replies."""
    return list(enumerate((button for reply in replies for button in reply.buttons), 1))


def payloads(replies: Sequence[Reply]) -> tuple[str, ...]:
    """The options a turn offers, in their numbered order: what the session remembers for "2" or "第二个"."""
    return tuple(button.payload for _, button in numbered(replies))
