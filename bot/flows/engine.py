"""Guided flows for the dialog: start one, take the next answer, skip, back, cancel, and serve long output in parts.

    Flows.start_complaint(ctx, preset)   the first question of /complain
    Flows.start_rate(ctx, text, missing) one question for the figure a loan description lacks
    Flows.on_action(ctx, value)          a flow button (or its number typed on a text channel)
    Flows.on_text(ctx, text, question)   a typed message while a flow waits; None when it is not an answer
    Flows.reask(ctx) / resume_offer(ctx) the question again; after care mode, an offer to carry on
    Flows.drop(user)                     /cancel, /forget, a crisis that ends it: the answers are deleted

The dialog calls these after the safety check, so a crisis signal always comes first. A flow's state lives
only in `FlowMemory` (this process, two hours at most); nothing here touches the store or the log, and the
`FlowTurn` handed back says only what kind of event to count ("flow", "letter", "rate").
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..actions import Action
from ..models import Button, Locale, Reply
from ..rates import Absurd, LoanTerms, Missing, absurd_message, parse, question_for
from ..region import Region
from ..text import forget_recent_texts
from ..usage import CST
from . import complaint, rate
from .letters import CONDUCT, LETTER_REGIONS
from .memory import FLOW_SECONDS, MAX_USERS, FlowMemory
from .pages import paginate
from .steps import Progress, Step, ask, control_word, frame, label, localised, numbers, picked_by_numbers

if TYPE_CHECKING:
    from ..knowledge import KnowledgeBase


@dataclass(frozen=True)
class Pages:
    """Output still to be sent, one page a turn (a channel with a byte limit). Flow memory only."""

    pages: tuple[tuple[Reply, ...], ...]
    sent: int = 1
    letters: tuple[str, ...] = ()


FlowState = Progress | rate.RateDraft | Pages


@dataclass(frozen=True)
class Context:
    """What a flow needs to know about the message and the person: never their words beyond this turn."""

    user: str
    kb: KnowledgeBase
    locale: Locale
    region: Region | None
    options: tuple[str, ...] = ()  # the payloads last offered: typed numbers pick among them
    reply_bytes: int | None = None  # the channel's limit for one turn, when it has one


@dataclass(frozen=True)
class FlowTurn:
    replies: list[Reply]
    kind: str = "flow"  # the usage event: "flow", "letter", "rate", "cancel"
    intent: str | None = None  # for "letter": which letters ("letters:lender+police"); never the answers
    region: Region | None = None  # a region the user chose inside the flow: the session keeps it
    ended: bool = False


_WORDS = {
    "cancelled": (
        "好的，已取消，你刚才的回答已经删除。直接打字提问，或选一个话题：",
        "OK, cancelled; your answers have been deleted. Type your question, or pick a topic:",
    ),
    "stale": (
        "那是前面一步的按钮。现在的问题是：",
        "That button belongs to an earlier question. This is the current one:",
    ),
    "not_understood": (
        "没看懂这个回答。请点一个选项，或回复选项前的数字；也可以说“跳过”“返回”。想先问别的问题，发 /cancel。",
        'I didn\'t understand that answer. Tap an option or reply with its number; you can also say "skip" or '
        '"back". To ask something else first, send /cancel.',
    ),
    "expired": (
        "刚才的步骤已经中断了：为了保护你的隐私，我不在磁盘上保存你的回答，服务重启或超过2小时就会删掉。要重新开始吗？",
        "What we were doing was interrupted: to protect your privacy I never save your answers to disk, so they "
        "are gone after a restart or after 2 hours. Start again?",
    ),
    "restart": ("重新写投诉信", "Write the complaint again"),
    "resume": (
        "你刚才在写投诉信，回答还在（2小时后自动删除）。要继续吗？",
        "You were writing a complaint; your answers are still here (deleted after 2 hours). Carry on?",
    ),
    "resume_yes": ("继续写", "Carry on"),
    "resume_no": ("不写了，删除回答", "Stop and delete my answers"),
    "continue": ("继续写投诉信", "Back to the complaint"),
    "next_part": ("下一部分（{number}/{count}）", "Next part ({number}/{count})"),
    "more_parts": ("回复“1”看下一部分。", 'Reply "1" for the next part.'),
    "rate_again": ("还差一点：", "Almost there: "),
    "rate_cancel": ("（不想算了就发 /cancel）", " (/cancel to drop it)"),
    "rate_gave_up": (
        "这些数字我还是读不出来，先不算了，刚才的数字已经删除。可以照这个样子再发一次：“借1万，到手8500，分12期，每期还1000”。",
        "I still can't read those figures, so I've dropped it and deleted them. You can send it again like "
        'this: "borrowed 10,000, received 8,500, 12 monthly payments of 1,000".',
    ),
}


def say(key: str, locale: Locale) -> str:
    hans, english = _WORDS[key]
    return localised(hans, english, locale)


class Flows:
    """The guided flows of one process, with their memory."""

    def __init__(
        self,
        *,
        seconds: float = FLOW_SECONDS,
        max_users: int = MAX_USERS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.memory: FlowMemory[FlowState] = FlowMemory(seconds=seconds, max_users=max_users, clock=clock)

    # --- what the dialog asks

    def active(self, user: str) -> bool:
        return self.memory.get(user) is not None

    def waiting_complaint(self, user: str) -> bool:
        return isinstance(self.memory.get(user), Progress)

    def drop(self, user: str) -> bool:
        return self._drop(user)

    def _drop(self, user: str) -> bool:
        forget_recent_texts()  # the story's words may still be in the cache of recently normalised texts
        return self.memory.drop(user)

    def label(self, value: str, ctx: Context) -> str | None:
        """The label of a flow button, so a typed label picks it as a tap would."""
        state = self.memory.get(ctx.user)
        if isinstance(state, Progress):
            found = label(value, complaint.catalogue(complaint.region_of(state)), ctx.locale)
            if found is not None:
                return found
        if value == "cancel":
            return frame("cancel", ctx.locale)
        words = {"resume": "resume_yes", "complain": "restart"}
        return say(words[value], ctx.locale) if value in words else None

    # --- starting

    def start_complaint(self, ctx: Context, preset: str | None = None, told: str = "") -> FlowTurn:
        """The first question; `told` is the message that asked for the complaint, whose facts start ticked."""
        if not ctx.kb.letters.regions():
            return FlowTurn([Reply(complaint.say("unavailable", ctx.locale))], ended=True)
        progress = complaint.start(ctx.region, preset, complaint.told(told) if told else frozenset())
        self.memory.put(ctx.user, progress, new=True)
        return FlowTurn([self._ask(ctx, progress, intro=complaint.intro(progress, ctx.locale))])

    def start_rate(self, ctx: Context, text: str, missing: Missing) -> FlowTurn:
        self.memory.put(ctx.user, rate.RateDraft(text, missing.fields), new=True)
        return FlowTurn([self._rate_question(ctx, missing)])

    def rate_answer(self, ctx: Context, found: LoanTerms | Absurd) -> FlowTurn:
        """The rate for a loan described in full, or why there is none."""
        self._drop(ctx.user)
        if isinstance(found, LoanTerms):
            reply = rate.answer(ctx.kb, found, ctx.locale, ctx.region)
            if not isinstance(reply, Absurd):
                return FlowTurn([reply], kind="rate", intent=rate.INTENT, ended=True)
            found = reply
        return FlowTurn([Reply(absurd_message(found, ctx.locale))], kind="rate_absurd", intent=rate.INTENT, ended=True)

    # --- answers

    def on_action(self, ctx: Context, value: str) -> FlowTurn | None:
        """A flow button; None when there is no flow to take it (it expired, or the bot restarted)."""
        op, _, rest = value.partition(".")
        if op == "complain":
            preset = rest if rest in CONDUCT else None
            return self.start_complaint(ctx, preset)
        if op == "cancel":
            self._drop(ctx.user)
            return FlowTurn([Reply(say("cancelled", ctx.locale))], kind="cancel", ended=True)
        state = self.memory.get(ctx.user)
        if state is None:
            return None
        if isinstance(state, Pages):
            if op == "page":
                return self._next_page(ctx, state)
            return None
        if isinstance(state, rate.RateDraft):
            return None
        if op == "resume":
            return FlowTurn([self._ask(ctx, state)])
        step_id, _, choice = rest.partition(".")
        if step_id != state.step:
            return FlowTurn([self._ask(ctx, state, intro=say("stale", ctx.locale))])
        step = self._step(state)
        if op == "c" and step.choice(choice) is not None:
            return self._choose(ctx, state, step, choice)
        if op == "skip":
            return self._advance(ctx, state.skip())
        if op == "next":
            return self._advance(ctx, state.forward())
        if op == "back":
            back = state.back()
            self.memory.put(ctx.user, back)
            return FlowTurn([self._ask(ctx, back)])
        return FlowTurn([self._ask(ctx, state, intro=say("stale", ctx.locale))])

    def on_text(self, ctx: Context, text: str, *, question: bool) -> FlowTurn | None:
        """A typed message while a flow waits. None: it is not an answer (a new question; the dialog answers
        it, and the flow waits on). `question` says the matcher is sure it is a question it can answer."""
        state = self.memory.get(ctx.user)
        if state is None:
            return None
        word = control_word(text)
        if word == "cancel":
            self._drop(ctx.user)
            return FlowTurn([Reply(say("cancelled", ctx.locale))], kind="cancel", ended=True)
        if isinstance(state, Pages):
            if word == "next":
                return self._next_page(ctx, state)
            return None
        if isinstance(state, rate.RateDraft):
            return self._rate_reply(ctx, state, text, question)
        step = self._step(state)
        if word == "skip":
            return self._advance(ctx, state.skip())
        if word == "back":
            back = state.back()
            self.memory.put(ctx.user, back)
            return FlowTurn([self._ask(ctx, back)])
        if word == "next" and step.multi:
            return self._advance(ctx, state.forward())
        typed_numbers = numbers(text)
        if typed_numbers is not None:
            chosen = picked_by_numbers(typed_numbers, ctx.options, step.id) if step.multi else None
            if chosen is None:
                return None  # several numbers where one was asked for, or not this step's: ask again
            return self._advance(ctx, self._set(state, step, chosen).forward())
        if step.typed and not question:
            return self._advance(ctx, complaint.answer_typed(state, step, text))
        return None

    def reask(self, ctx: Context) -> FlowTurn | None:
        """The current question again, with a line on how to answer it."""
        state = self.memory.get(ctx.user)
        if isinstance(state, Progress):
            return FlowTurn([self._ask(ctx, state, intro=say("not_understood", ctx.locale))])
        return None

    def continue_button(self, ctx: Context) -> Button | None:
        """Under an answer given in the middle of the complaint: a way back to it, or to the next letter part."""
        state = self.memory.get(ctx.user)
        if isinstance(state, Progress):
            return Action("flow", "resume").button(say("continue", ctx.locale))
        if isinstance(state, Pages) and state.sent < len(state.pages):
            text = say("next_part", ctx.locale).format(number=state.sent + 1, count=len(state.pages))
            return Action("flow", "page").button(text)
        return None

    def resume_offer(self, ctx: Context) -> Reply | None:
        if not isinstance(self.memory.get(ctx.user), Progress):
            return None
        buttons = (
            Action("flow", "resume").button(say("resume_yes", ctx.locale)),
            Action("flow", "cancel").button(say("resume_no", ctx.locale)),
        )
        return Reply(say("resume", ctx.locale), buttons)

    def expired(self, locale: Locale) -> Reply:
        return Reply(say("expired", locale), (Action("flow", "complain").button(say("restart", locale)),))

    # --- the complaint's steps

    def _step(self, progress: Progress) -> Step:
        return complaint.catalogue(complaint.region_of(progress))[progress.step]

    def _ask(self, ctx: Context, progress: Progress, *, intro: str = "") -> Reply:
        return ask(self._step(progress), progress, ctx.locale, intro=intro)

    def _set(self, progress: Progress, step: Step, chosen: frozenset[str]) -> Progress:
        exclusive = {choice.id for choice in step.choices if choice.exclusive}
        if chosen & exclusive and len(chosen) > 1:
            chosen = chosen - exclusive  # "none yet" with something else: the something else
        return progress.with_picked(step.id, chosen).with_typed(step.id, None)

    def _choose(self, ctx: Context, progress: Progress, step: Step, choice: str) -> FlowTurn:
        if not step.multi:
            chosen = self._set(progress, step, frozenset({choice})).forward()
            region = self._region_choice(step, choice)
            intro = complaint.say("unnamed", ctx.locale) if (step.id, choice) == ("lender", "app") else ""
            turn = self._advance(ctx, chosen, intro=intro)
            return replace(turn, region=region) if region is not None else turn
        current = progress.chosen(step.id)
        exclusive = {c.id for c in step.choices if c.exclusive}
        if choice in current:
            updated = current - {choice}
        elif choice in exclusive:
            updated = frozenset({choice})
        else:
            updated = (current - exclusive) | {choice}
        toggled = progress.with_picked(step.id, updated)
        self.memory.put(ctx.user, toggled)
        return FlowTurn([self._ask(ctx, toggled)])

    def _region_choice(self, step: Step, choice: str) -> Region | None:
        if step.id != "region":
            return None
        return next((r for r in LETTER_REGIONS if r == choice), None)

    def _advance(self, ctx: Context, progress: Progress, *, intro: str = "") -> FlowTurn:
        if not progress.done:
            self.memory.put(ctx.user, progress)
            return FlowTurn([self._ask(ctx, progress, intro=intro)])
        # The letters are written: the answers go now, before anything is sent.
        self._drop(ctx.user)
        today = dt.datetime.fromtimestamp(self.clock(), CST).date()
        replies, written = complaint.finish(ctx.kb, progress, ctx.locale, today)
        intent = "letters:" + "+".join(written) if written else None
        kind = "letter" if written else "flow"
        if ctx.reply_bytes is None:
            return FlowTurn(replies, kind=kind, intent=intent, ended=True)
        pages = paginate(replies, ctx.reply_bytes, ctx.locale)
        if len(pages) == 1:
            return FlowTurn(pages[0], kind=kind, intent=intent, ended=True)
        state = Pages(tuple(tuple(page) for page in pages), 1, written)
        self.memory.put(ctx.user, state, new=True)
        return FlowTurn(self._page(ctx, state), kind=kind, intent=intent)

    # --- pages

    def _page(self, ctx: Context, state: Pages) -> list[Reply]:
        page = list(state.pages[state.sent - 1])
        count = len(state.pages)
        if state.sent >= count:
            return page
        button = Action("flow", "page").button(say("next_part", ctx.locale).format(number=state.sent + 1, count=count))
        last = page[-1]
        page[-1] = Reply(last.text, (*last.buttons, button), last.attachment, last.copy)
        return page

    def _next_page(self, ctx: Context, state: Pages) -> FlowTurn:
        following = replace(state, sent=state.sent + 1)
        if following.sent >= len(state.pages):
            self._drop(ctx.user)  # the last part: the letters leave memory as they are sent
        else:
            self.memory.put(ctx.user, following)
        return FlowTurn(self._page(ctx, following), ended=following.sent >= len(state.pages))

    # --- the rate question

    def _rate_question(self, ctx: Context, missing: Missing, *, again: bool = False) -> Reply:
        # No buttons: the answer is a number, and on WeChat a number picks a button.
        text = question_for(missing, ctx.locale) + say("rate_cancel", ctx.locale)
        if again:
            text = say("rate_again", ctx.locale) + text
        return Reply(text)

    def _rate_reply(self, ctx: Context, draft: rate.RateDraft, text: str, question: bool) -> FlowTurn | None:
        if question or not rate.gave_figures(text):
            self._drop(ctx.user)  # a new question, not the figure asked for: the exchange steps aside
            return None
        alone = parse(text)
        if isinstance(alone, LoanTerms) or (isinstance(alone, Missing) and rate.restarts(draft, alone)):
            draft = rate.RateDraft("", draft.missing, draft.asks)  # a new loan described: start from it
        told = rate.combined(draft, text).strip()
        parsed = parse(told)
        if isinstance(parsed, (LoanTerms, Absurd)):
            return self.rate_answer(ctx, parsed)
        if draft.asks >= rate.MAX_ASKS:
            self._drop(ctx.user)
            return FlowTurn(
                [Reply(say("rate_gave_up", ctx.locale))], kind="rate_absurd", intent=rate.INTENT, ended=True
            )
        self.memory.put(ctx.user, rate.RateDraft(told, parsed.fields, draft.asks + 1))
        return FlowTurn([self._rate_question(ctx, parsed, again=True)])
