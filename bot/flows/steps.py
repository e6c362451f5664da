"""A flow made of short questions: each step offers choices as buttons, and skip, back and cancel at every step.

    Step, Choice          what is asked, and the answers offered (one, or several with `multi`)
    Progress              where the user is and what they chose (flow memory only, never stored)
    ask(...)              the step as a Reply: the question, its choices (✓ on chosen ones), then
                          next (multi), skip, back (after the first step) and cancel
    read_typed(...)       what a typed message means in a step: a control word, several numbers, or text

Every button is an `Action("flow", …)` whose value names the step it belongs to (`c.<step>.<choice>`,
`skip.<step>`, `back.<step>`, `next.<step>`), so a button pressed on an older message is recognised as
stale instead of answering the wrong question. Numbers typed on WeChat or the console reach the same actions
through the options the session remembers (`bot.actions.numbered`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal

from ..actions import Action
from ..models import Button, Locale, Reply
from ..patterns import LazyPattern, lazy
from ..text import normalise, to_traditional

CHECK = "✓ "
MAX_TYPED_CHARS = 200  # a lender's name or a collector's number; longer text is cut, never kept beyond the flow


def localised(hans: str, english: str, locale: Locale) -> str:
    if locale == "en":
        return english
    return to_traditional(hans) if locale == "zh-Hant" else hans


@dataclass(frozen=True)
class Choice:
    id: str
    hans: str
    english: str
    exclusive: bool = False  # in a multi step, choosing it clears the others ("none yet")

    def label(self, locale: Locale) -> str:
        return localised(self.hans, self.english, locale)


@dataclass(frozen=True)
class Step:
    id: str
    hans: str  # the question
    english: str
    choices: tuple[Choice, ...] = ()
    multi: bool = False
    typed: bool = False  # typed text is an answer (a lender's name, "since March", a collector's number)

    def prompt(self, locale: Locale) -> str:
        return localised(self.hans, self.english, locale)

    def choice(self, ident: str) -> Choice | None:
        return next((choice for choice in self.choices if choice.id == ident), None)


@dataclass(frozen=True)
class Progress:
    """Where a stepped flow is, and what was answered. Lives in `FlowMemory` only."""

    flow: str
    steps: tuple[str, ...]  # the steps of this run, in order (some are asked only in some cases)
    at: int = 0
    picked: Mapping[str, frozenset[str]] = field(default_factory=lambda: MappingProxyType({}))
    typed: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    history: tuple[int, ...] = ()  # steps shown before this one, for "back"

    @property
    def step(self) -> str:
        return self.steps[self.at]

    @property
    def done(self) -> bool:
        return self.at >= len(self.steps)

    def chosen(self, step: str) -> frozenset[str]:
        return self.picked.get(step, frozenset())

    def with_picked(self, step: str, chosen: frozenset[str]) -> Progress:
        return replace(self, picked=MappingProxyType({**self.picked, step: chosen}))

    def with_typed(self, step: str, text: str | None) -> Progress:
        typed = {key: value for key, value in self.typed.items() if key != step}
        if text:
            typed[step] = text
        return replace(self, typed=MappingProxyType(typed))

    def forward(self) -> Progress:
        return replace(self, at=self.at + 1, history=(*self.history, self.at))

    def back(self) -> Progress:
        if not self.history:
            return self
        return replace(self, at=self.history[-1], history=self.history[:-1])

    def skip(self) -> Progress:
        """Move on, forgetting any answer to this step (so a skipped question says nothing in the letter)."""
        cleared = replace(
            self,
            picked=MappingProxyType({k: v for k, v in self.picked.items() if k != self.step}),
            typed=MappingProxyType({k: v for k, v in self.typed.items() if k != self.step}),
        )
        return cleared.forward()


# --- the words of the frame ---------------------------------------------------------------------------------

_FRAME: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "next": ("下一步 ▶", "Next ▶"),
        "skip": ("跳过", "Skip"),
        "back": ("◀ 返回上一步", "◀ Back"),
        "cancel": ("取消（不写了）", "Cancel"),
        "multi": (
            "可以选几个：点选项（再点一次取消），选好了点“下一步”。打字的话，一次回复几个数字，比如“1 3”。",
            'Pick as many as apply: tap an option (tap again to undo), then "Next". Typing? Send several '
            'numbers at once, like "1 3".',
        ),
        "typed": ("也可以直接打字回答。", "Or type your answer."),
        "chosen": ("已选：", "Chosen: "),
    }
)


def frame(key: str, locale: Locale) -> str:
    hans, english = _FRAME[key]
    return localised(hans, english, locale)


def ask(step: Step, progress: Progress, locale: Locale, *, intro: str = "") -> Reply:
    """The step as one reply: "(2/7) question", how to answer, then the buttons."""
    number, total = progress.at + 1, len(progress.steps)
    lines = [intro] if intro else []
    lines.append(
        f"（{number}/{total}）{step.prompt(locale)}" if locale != "en" else f"({number}/{total}) {step.prompt(locale)}"
    )
    chosen = progress.chosen(step.id)
    if step.multi:
        if chosen:
            labels = [choice.label(locale) for choice in step.choices if choice.id in chosen]
            lines.append(frame("chosen", locale) + ("、" if locale != "en" else ", ").join(labels))
        lines.append(frame("multi", locale))
    elif step.typed and step.choices:
        lines.append(frame("typed", locale))
    buttons: list[Button] = []
    for choice in step.choices:
        mark = CHECK if step.multi and choice.id in chosen else ""
        buttons.append(Action("flow", f"c.{step.id}.{choice.id}").button(mark + choice.label(locale)))
    if step.multi:
        buttons.append(Action("flow", f"next.{step.id}").button(frame("next", locale)))
    buttons.append(Action("flow", f"skip.{step.id}").button(frame("skip", locale)))
    if progress.history:
        buttons.append(Action("flow", f"back.{step.id}").button(frame("back", locale)))
    buttons.append(Action("flow", "cancel").button(frame("cancel", locale)))
    return Reply("\n".join(lines), tuple(buttons))


def label(value: str, steps: Mapping[str, Step], locale: Locale) -> str | None:
    """The plain label a flow button was shown with (no ✓), so typed text can pick it."""
    parts = value.split(".")
    if parts[0] == "c" and len(parts) == 3 and parts[1] in steps:
        choice = steps[parts[1]].choice(parts[2])
        return choice.label(locale) if choice is not None else None
    if parts[0] in ("next", "skip", "back", "cancel"):
        return frame(parts[0], locale)
    return None


# --- typed answers ------------------------------------------------------------------------------------------

Typed = Literal["skip", "back", "next", "cancel"]
_WORDS: Mapping[Typed, LazyPattern] = MappingProxyType(
    {
        "skip": lazy(r"^(跳过|略过|不填|不知道|不清楚|不记得|不想说|skip|pass|don ?t know|i don ?t know|no idea)$"),
        "back": lazy(r"^(返回|上一步|返回上一步|后退|回去|改一下|back|go back|previous|prev)$"),
        "next": lazy(r"^(下一步|好了|好|完成|就这些|就这样|选好了|继续|确定|ok|okay|done|next|that ?s all|continue)$"),
        "cancel": lazy(r"^(取消|不写了|算了|不要了|退出|停止|cancel|stop|quit|exit|never mind|nevermind)$"),
    }
)
_NUMBERS = lazy(r"^\s*\d{1,2}(?:\s*(?:[\s,，、;；/&和及]|and)\s*\d{1,2})+\s*$")


def control_word(text: str) -> Typed | None:
    folded = normalise(text)
    return next((word for word, pattern in _WORDS.items() if pattern.match(folded)), None)


def numbers(text: str) -> list[int] | None:
    """Several option numbers typed at once ("1 3", "1、3、5", "2,4"), or None."""
    if not _NUMBERS.match(text):
        return None
    return [int(found) for found in re.findall(r"\d{1,2}", text)]


def picked_by_numbers(found: Sequence[int], options: Sequence[str], step: str) -> frozenset[str] | None:
    """The choices of `step` that typed numbers point to among the options last offered; None when any number
    is not one of this step's choices."""
    chosen: set[str] = set()
    prefix = f"c.{step}."
    for number in found:
        if not 1 <= number <= len(options):
            return None
        action = Action.decode(options[number - 1])
        if action is None or action.kind != "flow" or not action.value.startswith(prefix):
            return None
        chosen.add(action.value[len(prefix) :])
    return frozenset(chosen)


def clean_typed(text: str) -> str:
    """A typed answer as it may go into a letter: one line of plain text, not too long."""
    one_line = " ".join(text.split())
    return one_line[:MAX_TYPED_CHARS]
