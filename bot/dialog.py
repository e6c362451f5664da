"""The dialog engine: one `Incoming` in, a list of `Reply` out, for every channel alike.

Order of work for a message: commands; the safety check (before anything else, in any state); a number
that picks one of the options last offered; then the matcher's decision. State and usage records go
through the `Store` interface; if the store fails, the user still gets an answer and the failure is
logged once, not per message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from . import care, commands
from .actions import Action, payloads
from .answers import answer_text, fill, more_text
from .choices import OutOfRange, Pick, pick
from .content import display_path
from .flows import complaint as complaint_flow
from .flows import rate as rate_flow
from .flows.engine import Context as FlowContext
from .flows.engine import Flows, FlowTurn
from .knowledge import SOURCED_GROUPS, KnowledgeBase, KnowledgeSource
from .matcher import CRISIS_INTENT
from .messages import LANGUAGE_NAMES, REGION_NAMES, REGION_WORDS, TOPICS, lang_set, region_buttons, say
from .models import LOCALES, Attachment, Button, Feedback, Incoming, Locale, Match, Reply
from .patterns import lazy
from .privacy import keepable
from .rates import Absurd, LoanTerms, Missing
from .redaction import strip_bidi
from .region import REGIONS, Region, update_region
from .safety import Assessment, lean
from .state import CareState, Session, Store, Unanswered, UsageEvent
from .text import detect_locale, encodable, normalise

log = logging.getLogger(__name__)

MAX_RELATED_BUTTONS = 3
MAX_TOPIC_BUTTONS = 10  # a topic's questions and "topics"; a longer topic is paged
TOPIC_PAGE = MAX_TOPIC_BUTTONS - 2  # questions on one page, beside "more questions" and "topics"


def _ask_region(session: Session, intent: str, locale: Locale) -> bool:
    """Whether to ask a Traditional-script writer where they are: the rules, hotlines and emergency numbers
    differ between mainland China, Hong Kong and Taiwan, and the script alone does not say which.

    Asked with the first legal, report or rights answer; not again while the next questions stay on those
    topics (`last_intent`), never once the region is known or chosen, and not in care mode, where replies
    stay short and calm.
    """
    if session.region is not None or locale != "zh-Hant" or intent.split(".", 1)[0] not in SOURCED_GROUPS:
        return False
    if session.care is not None:
        return False
    previous = session.last_intent.split(".", 1)[0] if session.last_intent else None
    return previous not in SOURCED_GROUPS


@dataclass(frozen=True)
class Turn:
    """What the dialog made of one message: the replies, and the usage event to count (None after /forget)."""

    replies: list[Reply]
    event: UsageEvent | None
    session: Session | None = None  # the conversation state to save with the event
    unanswered: tuple[Unanswered, ...] = ()  # a question to keep (BOT_KEEP_UNANSWERED), saved with the event
    read: bool = True  # the session was read from the store (not made up after a read failure)


@dataclass(frozen=True)
class _Outcome:
    replies: list[Reply]
    kind: str
    intent: str | None = None
    score: float = 0.0
    pin_locale: Locale | None = None  # the user chose a language with /lang
    pin_region: Region | None = None  # the user chose a region with /region
    care: CareState | None = None
    care_set: bool = False  # True when `care` replaces the session's care state (None ends care mode)
    unanswered: Unanswered | None = None


# A message that builds on the last answer ("那具体怎么做", "what else can I do"), as opposed to the same
# question sent again (after a failed delivery, say), which should get the same answer again.
_FOLLOW_UP = lazy(
    r"^(那|然后|还有|還有|另外|但是|可是|如果|那么|那麼)|具体|具體|接下来|接下來|下一步|然后呢|然後呢|还能|還能|还可以|還可以|"
    r"\b(what else|then what|and then|what next|what now|more detail|anything else)\b",
    re.IGNORECASE,
)


def _debt_question(intent: str) -> bool:
    """A question about the debt itself, as opposed to small talk or the crisis intent."""
    return intent != CRISIS_INTENT and intent.split(".", 1)[0] not in ("meta", "oos")


# "帮我写投诉信", "help me write a complaint": the guided complaint, rather than the answer about complaints.
_COMPLAINT_REQUEST = lazy(
    r"(帮|替|给|教)我?.{0,4}(写|起草|拟)(一?[份封个篇])?.{0,6}(投诉|举报|申诉|报警材料)|写(一?[份封个篇])?投诉(信|书)"
    r"|投诉(信|书)?(要)?怎么写|\b(help|can you|could you|please)\b.{0,20}\b(write|draft)\b.{0,30}\bcomplain"
    r"|\bcomplaint letter\b"
)
# A message typed in the middle of a flow that is a new question rather than an answer to the flow's question.
_QUESTION = lazy(
    r"吗|嗎|怎么|怎麼|如何|能不能|可不可以|是否|合法|违法|違法|\?|？|\b(what|how|can|is it|should)\b", re.I
)
MAX_ANSWER_LIKE_CHARS = 30


def _a_question(text: str, decision: Match) -> bool:
    """Whether a message typed while a flow waits is a question the knowledge base can answer with confidence."""
    if decision.kind != "answer" or not decision.sure or decision.intent in (None, rate_flow.INTENT):
        return False
    assert decision.intent is not None
    return _debt_question(decision.intent) and (len(text) > MAX_ANSWER_LIKE_CHARS or bool(_QUESTION.search(text)))


def _flow_options(options: tuple[str, ...]) -> bool:
    """Whether the options last offered were a flow's own (a step, a part): a flow was under way."""
    for payload in options:
        action = Action.decode(payload)
        if action is not None and action.kind == "flow" and not action.value.startswith("complain"):
            return True
    return False


CommandHandler = Callable[[KnowledgeBase, Session, str, Locale], Awaitable["_Outcome"]]
MAX_RELOAD_ERRORS = 20  # /reload shows this many content problems; `anxin lint` shows them all


MAX_STATS_DAYS = 3650


def stats_days(argument: str) -> int | None:
    """The days of `/stats DAYS`: 30 without an argument, None unless it is a whole number in range.

    ASCII digits only: "²".isdigit() is true and int("²") raises; at most four of them, as int() refuses
    digit strings beyond a few thousand characters.
    """
    if not argument:
        return 30
    if not (argument.isascii() and argument.isdigit() and len(argument) <= 4):
        return None
    days = int(argument)
    return days if 1 <= days <= MAX_STATS_DAYS else None


def _topic_page(value: str) -> tuple[str, int] | None:
    """A topic button's value: `legal` (its first page) or `legal.1` (a later page)."""
    topic, _, page = value.partition(".")
    if topic not in TOPICS or (page and not page.isdigit()):
        return None
    return topic, int(page or 0)


def _feedback(intent: str, locale: Locale) -> Feedback:
    return Feedback(
        say("feedback_ask", locale),
        say("feedback_typed", locale),
        (
            Action("feedback", f"y.{intent}").button(say("feedback_yes", locale)),
            Action("feedback", f"n.{intent}").button(say("feedback_no", locale)),
        ),
    )


_FEEDBACK_PREFIX = Action("feedback").encode()  # every feedback payload starts so; most options do not
_FLOW_PREFIX = Action("flow").encode()  # a flow's payloads: their labels follow the flow's state


def _is_feedback(payload: str) -> bool:
    # Runs for every option remembered, several times a message: most are told apart by their first letters.
    if not payload.startswith(_FEEDBACK_PREFIX):
        return False
    action = Action.decode(payload)
    return action is not None and action.kind == "feedback"


def _feedback_asked(options: tuple[str, ...]) -> str | None:
    """The intent whose answer was just asked about ("was this helpful?"), if the last turn asked."""
    action = Action.decode(options[-1]) if options else None
    if action is None or action.kind != "feedback" or not action.value:
        return None
    return action.value


_YES = frozenset({"好", "有帮助", "有幫助", "有用", "👍", "yes", "y", "helpful"})
_NO = frozenset({"不好", "没帮助", "沒幫助", "没有帮助", "沒有幫助", "没用", "沒用", "👎", "no", "n", "not helpful"})


def _verdict(text: str) -> bool | None:
    """True for "好" / "yes", False for "不好" / "no", None for anything else (then it is a message)."""
    word = text.strip().strip("。.!！~～ ").casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


MAX_RENDERED = 4096  # entries of each `_Rendered` table; content bounds them, this bounds them again


class _Rendered:
    """What the dialog shows again and again for one knowledge base, worked out once: the topic menu's buttons,
    the label each option was shown with, an answer's text with its buttons. Keyed by content only (a payload
    the bot made, an intent, a locale, a region), never by anything a person wrote; a reload makes a new one."""

    __slots__ = ("answers", "groups", "kb", "labels", "menus", "related", "topics")

    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self.groups = frozenset(intent.group for intent in kb.answerable())
        self.labels: dict[tuple[str, Locale], str] = {}
        self.menus: dict[Locale, tuple[Button, ...]] = {}
        # (intent, locale, region) → (answer text, its "more" and related buttons, its flow buttons)
        self.answers: dict[tuple[str, Locale, Region | None], tuple[str, tuple[Button, ...], tuple[Button, ...]]] = {}
        self.related: dict[tuple[str, Locale], tuple[Button, ...]] = {}
        self.topics: dict[tuple[str, Locale, int], tuple[Button, ...]] = {}


def _kept(table: dict, key: object, value: object) -> None:  # type: ignore[type-arg]
    if len(table) >= MAX_RENDERED:
        table.clear()
    table[key] = value


class Dialog:
    def __init__(
        self,
        knowledge: KnowledgeSource,
        store: Store,
        *,
        keep_unanswered: bool = True,
        clock: Callable[[], float] = time.time,
        flows: Flows | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.store = store
        self.keep_unanswered = keep_unanswered
        self.clock = clock
        # Guided flows keep what people tell them in this process's memory only (bot.flows.memory).
        self.flows = flows or Flows(clock=clock)
        self._commands: dict[str, CommandHandler] = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "lang": self._cmd_lang,
            "region": self._cmd_region,
            "privacy": self._cmd_privacy,
            "forget": self._cmd_forget,
            "cancel": self._cmd_cancel,
            "complain": self._cmd_complain,
            "stats": self._cmd_stats,
            "reload": self._cmd_reload,
        }
        self._store_failing = False
        self._store_errors = 0  # grows with every failed store call; a message that adds none is healthy
        self._rendered: _Rendered | None = None

    def _shown(self, kb: KnowledgeBase) -> _Rendered:
        """The rendered pieces of `kb` (made afresh after a reload: the message's own knowledge base decides)."""
        rendered = self._rendered
        if rendered is None or rendered.kb is not kb:
            rendered = self._rendered = _Rendered(kb)
        return rendered

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Decide, save the conversation state and count the message as delivered, as one turn of the store.
        Channels go through `bot.conversation.Conversation`, which adds per-person order and error handling."""
        async with self.store.turn(incoming.user):
            turn = await self.respond(incoming)
            await self.record(turn, delivered=True)
        return turn.replies

    async def respond(self, incoming: Incoming) -> Turn:
        """The replies to one message, and what to save; `record` saves it all in one store transaction once
        the channel knows whether the reply was delivered (before it acknowledges the message)."""
        kb = self.knowledge.current  # one knowledge base for the whole message, even if a reload happens
        errors_before = self._store_errors
        session = await self._load(incoming.user)
        read = self._store_errors == errors_before
        text = encodable(incoming.text or "").strip()
        locale = self._locale(session, text, incoming.language)
        if text and not text.startswith("/"):
            simplified = detect_locale(text) == "zh-Hans"
            region, pinned = update_region(session.region, session.region_pinned, text, simplified)
            session = session.replace(locale=locale, region=region, region_pinned=pinned)
        else:
            session = session.replace(locale=locale)

        outcome: _Outcome
        if incoming.button is not None:
            outcome = self._on_button(kb, session, encodable(incoming.button), locale, incoming.reply_bytes)
        elif text.startswith("/"):
            outcome = await self._on_command(kb, session, incoming, text, locale)
            if outcome.kind == "forget":
                return Turn(outcome.replies, None)  # nothing may be written back for a user who just left
        elif not text:
            outcome = _Outcome([Reply(say("media" if incoming.media else "empty", locale))], "media")
        else:
            outcome = await self._on_text(kb, session, incoming, text, locale)

        if outcome.pin_locale is not None:
            locale = outcome.pin_locale
            session = session.replace(locale=locale, locale_pinned=True)
        if outcome.pin_region is not None:
            session = session.replace(region=outcome.pin_region, region_pinned=True)
        if outcome.care_set:
            session = session.replace(care=outcome.care)
        replies = outcome.replies
        if self._ask_feedback(outcome, session):
            assert outcome.intent is not None
            replies = [*replies[:-1], dataclasses.replace(replies[-1], feedback=_feedback(outcome.intent, locale))]
            outcome = dataclasses.replace(outcome, replies=replies)
        options = payloads(replies)
        if replies and replies[-1].feedback is not None:
            # Last, after the numbered options: "好" or "不好" then rates the answer; numbers stay as they were.
            options = (*options, Action("feedback", outcome.intent or "").encode())
        last_intent = outcome.intent if outcome.kind in ("answer", "crisis") else session.last_intent
        saved = session.replace(options=options, last_intent=last_intent, updated_at=self.clock())
        event = UsageEvent(
            incoming.user, incoming.channel, locale, outcome.kind, outcome.intent, outcome.score, self.clock()
        )
        kept = (outcome.unanswered,) if outcome.unanswered is not None else ()
        return Turn(outcome.replies, event, saved, kept, read)

    async def record(self, turn: Turn, *, delivered: bool) -> None:
        """Save the turn (session, usage event, unanswered question) in one transaction; a reply that could not
        be delivered is counted as `failed`, not as answered."""
        if turn.event is None and turn.session is None:
            return  # /forget: nothing may be written back for a user who just left
        event = turn.event if delivered or turn.event is None else dataclasses.replace(turn.event, kind="failed")
        try:
            await self.store.save_turn(turn.session, event, turn.unanswered)
        except Exception:
            self._store_failed("write")
            return
        if turn.read:
            # Only a message whose read *and* writes worked ends an outage: with a read-only database
            # reads succeed and writes fail, which must not log once per message.
            self._store_recovered()

    # --- decisions -----------------------------------------------------------------------------------

    async def _on_text(
        self, kb: KnowledgeBase, session: Session, incoming: Incoming, text: str, locale: Locale
    ) -> _Outcome:
        asked = _feedback_asked(session.options)
        if asked is not None:
            verdict = _verdict(text)
            if verdict is not None:
                return self._on_feedback(kb, session, verdict, asked, locale)
        offered = [payload for payload in session.options if not _is_feedback(payload)]
        if offered:
            # "2", "第二个", "the second one" or an option's own text picks what was offered last.
            chosen = pick(text, [self._label(kb, payload, locale, session) for payload in offered])
            if isinstance(chosen, Pick):
                return self._on_button(kb, session, offered[chosen.index], locale, incoming.reply_bytes)
            if isinstance(chosen, OutOfRange):
                labels = [Button(self._label(kb, p, locale, session), p) for p in offered]
                return _Outcome(
                    [Reply(say("out_of_range", locale).format(count=chosen.count), tuple(labels))], "button"
                )
        now = self.clock()
        in_care = care.active(session.care, now)
        assessment = kb.assess(text)  # safety first, in every state
        decision = kb.match(text)
        if assessment.at_risk and in_care is not None:
            # Already staying with them: "我已经吃了" answers what was asked before, and that reading wins over a
            # fresh check-in when it means danger, or when only the net (not a rule) saw a risk in the words.
            choice = kb.care.reading(kb.safety.canonical(text), in_care)
            if choice == "danger" or (choice is not None and assessment.net_only):
                return self._care_choice(kb, session, in_care, choice, locale)
        if assessment.at_risk:
            # A flow under way waits in memory (two hours at most); care mode offers it again when it ends.
            reply = care.start(kb.care, assessment, in_care, locale, session.region, now)
            replies = [Reply(reply.text, reply.buttons)]
            return _Outcome(replies, assessment.level, CRISIS_INTENT, 100.0, care=reply.state, care_set=True)
        if in_care is not None:
            # Message text in care mode is never kept, not even as an unanswered question.
            return self._in_care(kb, session, in_care, text, decision, locale)
        guided = self._guided(kb, session, text, decision, locale, incoming.reply_bytes)
        if guided is not None:
            return guided
        if decision.kind == "answer" and decision.intent is not None:
            if decision.intent == session.last_intent and _FOLLOW_UP.search(text):
                return self._again(kb, session, decision.intent, locale, decision.score)
            replies = self._answer(kb, decision.intent, locale, session)
            unsure = None
            if not decision.sure:
                # Answered as the only plausible intent, below the answer threshold: volunteers should see it.
                if self.keep_unanswered and decision.score < kb.matcher.thresholds.answer:
                    unsure = Unanswered(incoming.user, incoming.channel, locale, keepable(text), self.clock())
                last = replies[-1]
                replies[-1] = Reply(last.text, (*last.buttons, Action("none").button(say("not_this", locale))))
            return _Outcome(replies, "answer", decision.intent, decision.score, unanswered=unsure)
        if decision.kind == "overview":
            return _Outcome([self._overview(kb, session, decision, locale)], "overview", None, decision.score)
        checked = lean(assessment, decision)
        if checked.at_risk:
            # Nothing understood, and the safety net leaned towards a risk: ask whether they are safe rather than
            # show a menu of topics ("I'm OK, back to my question" is one of the choices). Never kept as text.
            reply = care.start(kb.care, checked, None, locale, session.region, now)
            replies = [Reply(reply.text, reply.buttons)]
            return _Outcome(replies, checked.level, CRISIS_INTENT, 100.0, care=reply.state, care_set=True)
        kept = None
        if self.keep_unanswered and (decision.kind == "fallback" or decision.score < kb.matcher.thresholds.answer):
            kept = Unanswered(incoming.user, incoming.channel, locale, keepable(text), self.clock())
        # The bot's best guess goes with the event, so statistics can say which topics fail, and how.
        guess = decision.topic or (decision.candidates[0].intent if decision.candidates else None)
        if decision.kind == "clarify":
            return _Outcome([self._clarify(kb, decision, locale)], "clarify", guess, decision.score, unanswered=kept)
        replies = [self._fallback(kb, session, decision, text, locale)]
        return _Outcome(replies, "fallback", guess, decision.score, unanswered=kept)

    def _guided(
        self,
        kb: KnowledgeBase,
        session: Session,
        text: str,
        decision: Match,
        locale: Locale,
        reply_bytes: int | None,
    ) -> _Outcome | None:
        """A message for a guided flow: an answer to the question a flow asked, a request for a complaint
        letter, or a loan described in figures. None: an ordinary question. Never kept as unanswered text."""
        ctx = self._flow_context(kb, session, locale, reply_bytes)
        if self.flows.active(session.user):
            turn = self.flows.on_text(ctx, text, question=_a_question(text, decision))
            if turn is not None:
                return self._flow_outcome(turn)
            if self.flows.waiting_complaint(session.user):
                if decision.kind == "answer" and decision.intent is not None and _debt_question(decision.intent):
                    # A question in the middle of the complaint: answer it, with a way back to the complaint.
                    return self._answer_then_continue(kb, session, ctx, decision, locale)
                reask = self.flows.reask(ctx)
                if reask is not None:
                    return self._flow_outcome(reask)
            elif self.flows.continue_button(ctx) is not None and decision.kind == "answer":
                # Letter parts still to send (WeChat): answer, and keep the way to the next part.
                return self._answer_then_continue(kb, session, ctx, decision, locale)
        elif _flow_options(session.options) and not (decision.kind == "answer" and decision.sure):
            # The options were a flow's, but the flow is gone (a restart, or two hours passed): say so,
            # rather than reading a lender's name or a figure as a question.
            return _Outcome([self.flows.expired(locale)], "flow_expired")
        if _COMPLAINT_REQUEST.search(normalise(text)):
            return self._flow_outcome(self.flows.start_complaint(ctx, told=text))
        found = rate_flow.detect(text, decision)
        if isinstance(found, Missing):
            return self._flow_outcome(self.flows.start_rate(ctx, text, found))
        if isinstance(found, (LoanTerms, Absurd)):
            outcome = self._flow_outcome(self.flows.rate_answer(ctx, found))
            if outcome.kind != "rate" and rate_flow.INTENT in kb.intents:
                # No figure for these numbers: say why, then what the rules are.
                return dataclasses.replace(
                    outcome, replies=[*outcome.replies, *self._answer(kb, rate_flow.INTENT, locale, session)]
                )
            return outcome
        return None

    def _answer_then_continue(
        self, kb: KnowledgeBase, session: Session, ctx: FlowContext, decision: Match, locale: Locale
    ) -> _Outcome:
        assert decision.intent is not None
        replies = self._answer(kb, decision.intent, locale, session)
        button = self.flows.continue_button(ctx)
        if button is not None:
            last = replies[-1]
            replies[-1] = dataclasses.replace(last, buttons=(*last.buttons, button))
        return _Outcome(replies, "answer", decision.intent, decision.score)

    def _flow_context(
        self, kb: KnowledgeBase, session: Session, locale: Locale, reply_bytes: int | None = None
    ) -> FlowContext:
        options = tuple(payload for payload in session.options if not _is_feedback(payload))  # numbered ones only
        return FlowContext(session.user, kb, locale, session.region, options, reply_bytes)

    def _flow_outcome(self, turn: FlowTurn) -> _Outcome:
        return _Outcome(turn.replies, turn.kind, turn.intent, 0.0, pin_region=turn.region)

    def _in_care(
        self, kb: KnowledgeBase, session: Session, state: CareState, text: str, decision: Match, locale: Locale
    ) -> _Outcome:
        """A message while the bot is staying with someone: a follow-up, a debt question, or just talk."""
        choice = kb.care.reading(kb.safety.canonical(text), state)
        if choice is not None and choice != "thanks":
            return self._care_choice(kb, session, state, choice, locale)
        asked = decision.intent if decision.kind == "answer" else None
        if decision.kind == "clarify" and decision.candidates:
            asked = decision.candidates[0].intent  # in care mode, no "did you mean" menus: the likeliest one
        if asked is not None and _debt_question(asked):
            if not any(key.startswith("check:") for key in state.used):
                # Before answering, one gentle check; "I'm OK, back to my question" then answers it.
                pending = state.replace(pending=asked, messages=state.messages + 1)
                reply = care.compose(kb.care, "check", pending, locale, session.region)
                return _Outcome([Reply(reply.text, reply.buttons)], "care", care=reply.state, care_set=True)
            footer = care.compose(kb.care, "footer", state.replace(messages=state.messages + 1), locale, session.region)
            replies = self._answer(kb, asked, locale, session)
            last = replies[-1]
            replies[-1] = Reply(f"{last.text}\n\n{footer.text}", last.buttons)
            return _Outcome(replies, "answer", asked, decision.score, care=footer.state, care_set=True)
        # Just talk: about someone else at risk, the next reply about helping them ("她现在叫不醒 怎么办" when the nets
        # no longer flag it); otherwise a reply that listens.
        kind = "thanks" if choice == "thanks" else "other" if state.other else "listen"
        reply = care.compose(kb.care, kind, state.replace(messages=state.messages + 1), locale, session.region)
        return _Outcome([Reply(reply.text, reply.buttons)], "care", care=reply.state, care_set=True)

    def _care_choice(
        self, kb: KnowledgeBase, session: Session, state: CareState, choice: str, locale: Locale
    ) -> _Outcome:
        reply = care.follow(kb.care, choice, state, locale, session.region)
        if reply is not None:
            return _Outcome([Reply(reply.text, reply.buttons)], "care", care=reply.state, care_set=True)
        # Leaving care mode: say so with a line in view, then the question asked meanwhile, or the menu.
        goodbye = care.goodbye(kb.care, state, locale, session.region)
        resume = self.flows.resume_offer(self._flow_context(kb, session, locale))
        if resume is not None:
            # A complaint was under way when the crisis signal came: offer it again, never push it.
            return _Outcome([Reply(goodbye), resume], "care", care_set=True)
        if state.pending is not None and state.pending in kb.intents:
            return _Outcome([Reply(goodbye), *self._answer(kb, state.pending, locale, session)], "care", care_set=True)
        return _Outcome([self._menu(kb, locale, goodbye)], "care", care_set=True)

    def _ask_feedback(self, outcome: _Outcome, session: Session) -> bool:
        """Ask "was this helpful?" after an answer to a debt question; not in care mode, which stays calm."""
        if outcome.kind != "answer" or outcome.intent is None or not _debt_question(outcome.intent):
            return False
        if outcome.care_set or care.active(session.care, self.clock()) is not None:
            return False
        return bool(outcome.replies)

    def _on_feedback(self, kb: KnowledgeBase, session: Session, helpful: bool, intent: str, locale: Locale) -> _Outcome:
        """👍 or 👎 (or "好" / "不好") for the answer just given. Counted once, as an event with the intent and
        the verdict only, and only while that answer is the last one: an old button says thank you, no more."""
        counted = _feedback_asked(session.options) == intent and intent in kb.intents
        if helpful:
            return _Outcome([Reply(say("feedback_thanks", locale))], "helpful" if counted else "button", intent)
        reply = self._menu(kb, locale, say("feedback_sorry", locale))
        return _Outcome([reply], "unhelpful" if counted else "button", intent)

    def _on_button(
        self, kb: KnowledgeBase, session: Session, payload: str, locale: Locale, reply_bytes: int | None = None
    ) -> _Outcome:
        action = Action.decode(payload)
        if action is None:
            return _Outcome([self._menu(kb, locale, say("stale", locale))], "button")
        kind, value = action.kind, action.value
        if kind == "flow":
            ctx = self._flow_context(kb, session, locale, reply_bytes)
            if value == "rate":
                return self._flow_outcome(
                    self.flows.start_rate(ctx, "", Missing(("amount", "received_or_payment", "periods")))
                )
            turn = self.flows.on_action(ctx, value)
            if turn is None:
                return _Outcome([self.flows.expired(locale)], "flow_expired")
            return self._flow_outcome(turn)
        if kind == "feedback" and value[:2] in ("y.", "n."):
            return self._on_feedback(kb, session, value[0] == "y", value[2:], locale)
        if kind == "care" and value in care.CHOICES:
            state = care.active(session.care, self.clock()) or CareState("concern", self.clock())
            return self._care_choice(kb, session, state, value, locale)
        if kind == "answer" and value in kb.intents:
            if value == CRISIS_INTENT:
                now = self.clock()
                started = care.start(
                    kb.care, Assessment("crisis"), care.active(session.care, now), locale, session.region, now
                )
                return _Outcome(
                    [Reply(started.text, started.buttons)], "crisis", value, 100.0, care=started.state, care_set=True
                )
            return _Outcome(self._answer(kb, value, locale, session), "answer", value, 100.0)
        if kind == "more" and value in kb.intents:
            answer = kb.answer(value, locale, session.region)
            more = more_text(answer, locale, session.region) if answer is not None else None
            if more:
                buttons = self._related_buttons(kb, value, locale)
                return _Outcome([Reply(more, buttons)], "answer", value, 100.0)
        if kind == "topic" and _topic_page(value) is not None:
            topic, page = _topic_page(value) or ("", 0)
            return _Outcome([self._topic(kb, topic, locale, page)], "button")
        if kind == "menu":
            return _Outcome([self._menu(kb, locale, say("menu", locale))], "button")
        if kind == "none":
            return _Outcome([self._menu(kb, locale, say("fallback", locale))], "fallback")
        if kind == "lang":
            chosen = next((loc for loc in LOCALES if loc == value), None)
            if chosen is not None:
                return _Outcome([Reply(lang_set(chosen))], "command", pin_locale=chosen)
        if kind == "region":
            region = next((r for r in REGIONS if r == value), None)
            if region is not None:
                reply = self._menu(kb, locale, say(f"region_set.{region}", locale))
                return _Outcome([reply], "command", pin_region=region)
        return _Outcome([self._menu(kb, locale, say("stale", locale))], "button")

    async def _on_command(
        self, kb: KnowledgeBase, session: Session, incoming: Incoming, text: str, locale: Locale
    ) -> _Outcome:
        parsed = commands.parse(text)
        command = commands.find(parsed[0]) if parsed else None
        admin = incoming.role == "admin"
        if parsed is None or command is None or (command.admin_only and not admin):
            # An admin command answers like an unknown one for everyone else.
            return _Outcome([Reply(say("unknown_command", locale) + "\n" + commands.help_text(locale))], "command")
        handler = self._commands[command.name]
        return await handler(kb, session, parsed[1], locale)

    async def _cmd_start(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        return _Outcome([self._menu(kb, locale, self._welcome(kb, locale))], "command")

    async def _cmd_help(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        return _Outcome([self._menu(kb, locale, say("menu", locale))], "command")

    async def _cmd_privacy(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        answer = kb.answer("meta.privacy", locale)
        return _Outcome([Reply(answer.text if answer else say("privacy", locale))], "command")

    async def _cmd_lang(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        return self._on_lang(argument, locale)

    async def _cmd_region(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        return self._on_region(kb, argument, locale)

    async def _cmd_forget(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        self.flows.drop(session.user)  # whatever a flow was told goes first, even if the store fails
        try:
            await self.store.forget(session.user)
        except Exception:
            log.exception("forget failed")
            return _Outcome([Reply(say("forget_failed", locale))], "command")
        return _Outcome([Reply(say("forgotten", locale))], "forget")

    async def _cmd_cancel(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        if self.flows.drop(session.user):
            return _Outcome([self._menu(kb, locale, say("cancelled", locale))], "cancel")
        return _Outcome([self._menu(kb, locale, say("nothing_to_cancel", locale))], "command")

    async def _cmd_complain(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        return self._flow_outcome(self.flows.start_complaint(self._flow_context(kb, session, locale)))

    async def _cmd_stats(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        from . import stats  # only for this command: the module costs every start 25-50 ms to import

        days = stats_days(argument)
        if days is None:
            return _Outcome([Reply(say("stats_usage", locale).format(most=MAX_STATS_DAYS))], "command")
        try:
            report = await stats.collect(self.store, days, kb=kb)
        except Exception:
            log.exception("stats: the store could not be read")
            return _Outcome([Reply(say("stats_unavailable", locale))], "command")
        page = Attachment(f"anxin-stats-{days}d.html", stats.render_html(report, locale).encode("utf-8"))
        return _Outcome([Reply(stats.render_text(report, locale), attachment=page)], "command")

    async def _cmd_reload(self, kb: KnowledgeBase, session: Session, argument: str, locale: Locale) -> _Outcome:
        errors = await asyncio.to_thread(self.knowledge.reload)
        if not errors:
            count = len(self.knowledge.current.intents)
            return _Outcome([Reply(say("reloaded", locale).format(count=count))], "command")
        # Content files may hold direction overrides; they must not turn an admin's report around.
        lines = [strip_bidi(str(error)) for error in errors[:MAX_RELOAD_ERRORS]]
        if len(errors) > MAX_RELOAD_ERRORS:
            lines.append(f"… (+{len(errors) - MAX_RELOAD_ERRORS}, anxin lint)")
        kept = self.knowledge.stood_in
        if kept:
            files = ", ".join(display_path(path) for path in kept)
            head = say("reload_kept", locale).format(count=len(errors), files=files)
        else:
            head = say("reload_left_out", locale).format(count=len(errors))
        return _Outcome([Reply(head + "\n" + "\n".join(lines))], "command")

    def _on_lang(self, argument: str, locale: Locale) -> _Outcome:
        wanted = {
            "zh-hans": "zh-Hans",
            "zh": "zh-Hans",
            "cn": "zh-Hans",
            "简体": "zh-Hans",
            "简体中文": "zh-Hans",
            "zh-hant": "zh-Hant",
            "tw": "zh-Hant",
            "hk": "zh-Hant",
            "繁體": "zh-Hant",
            "繁体": "zh-Hant",
            "繁體中文": "zh-Hant",
            "en": "en",
            "english": "en",
        }.get(argument.casefold())
        if wanted is None:
            buttons = tuple(Action("lang", code).button(name) for code, name in LANGUAGE_NAMES.items())
            return _Outcome([Reply(say("lang_choose", locale), buttons)], "command")
        chosen = next(loc for loc in LOCALES if loc == wanted)
        return _Outcome([Reply(lang_set(chosen))], "command", pin_locale=chosen)

    def _on_region(self, kb: KnowledgeBase, argument: str, locale: Locale) -> _Outcome:
        wanted = REGION_WORDS.get(argument.casefold())
        if wanted is None:
            return _Outcome([Reply(say("region_choose", locale), region_buttons(locale))], "command")
        return _Outcome([self._menu(kb, locale, say(f"region_set.{wanted}", locale))], "command", pin_region=wanted)

    # --- replies --------------------------------------------------------------------------------------

    def _answer(self, kb: KnowledgeBase, intent: str, locale: Locale, session: Session | None = None) -> list[Reply]:
        region = session.region if session is not None else None
        answers = self._shown(kb).answers
        key = (intent, locale, region)
        rendered = answers.get(key)
        if rendered is None:
            answer = kb.answer(intent, locale, region)
            if answer is None:
                return [self._menu(kb, locale, say("stale", locale))]
            first = (Action("more", intent).button(say("more", locale)),) if answer.more else ()
            rendered = (
                answer_text(answer, locale, region),
                (*first, *self._related_buttons(kb, intent, locale)),
                self._flow_buttons(intent, locale),
            )
            _kept(answers, key, rendered)
        text, buttons, flows = rendered
        if session is not None and _ask_region(session, intent, locale):
            text += "\n\n" + say("region_ask", locale)
            buttons = (*buttons, *region_buttons(locale))
        return [Reply(text, (*buttons, *flows))]  # flows last: the numbers of the others stay as they were

    def _again(self, kb: KnowledgeBase, session: Session, intent: str, locale: Locale, score: float) -> _Outcome:
        """A follow-up that matches the answer just given: the details, or the next questions, not a repeat."""
        answer = kb.answer(intent, locale, session.region)
        related = self._related_buttons(kb, intent, locale)
        more = more_text(answer, locale, session.region) if answer is not None else None
        if more:
            return _Outcome([Reply(more, related)], "answer", intent, score)
        return _Outcome(
            [Reply(say("next_question", locale), (*related, Action("menu").button(say("topics", locale))))],
            "answer",
            intent,
            score,
        )

    def _overview(self, kb: KnowledgeBase, session: Session, decision: Match, locale: Locale) -> Reply:
        """Several problems in one message: one line on each, and a button to each full answer."""
        lines = [say("overview", locale)]
        buttons: list[Button] = []
        for number, candidate in enumerate(decision.candidates, 1):
            # The first line of the answer for the user's region, with {emergency} filled in.
            answer = kb.answer(candidate.intent, locale, session.region)
            first = answer.text.strip().split("\n", 1)[0] if answer is not None else ""
            summary = fill(first, locale, session.region)
            lines.append(f"{number}. {kb.title(candidate.intent, locale)}\n{summary}")
            buttons.append(Action("answer", candidate.intent).button(kb.title(candidate.intent, locale)))
        return Reply("\n\n".join(lines), tuple(buttons))

    def _fallback(self, kb: KnowledgeBase, session: Session, decision: Match, text: str, locale: Locale) -> Reply:
        """Nothing to answer: what Anxin is for, said kindly to someone upset, or about the topic they raised."""
        if decision.topic is not None:
            answer = kb.answer(decision.topic, locale, session.region)
            if answer is not None:
                return self._menu(kb, locale, fill(answer.text, locale, session.region))
        if kb.care.distressed(text):
            line = care.fill(kb.care, "{line}", locale, session.region, 1)
            return self._menu(kb, locale, say("distress", locale).format(line=line))
        return self._menu(kb, locale, say("fallback", locale))

    def _label(self, kb: KnowledgeBase, payload: str, locale: Locale, session: Session) -> str:
        """The label a button with this payload was shown with: typed text can pick it. A flow's labels depend on
        the flow's state; every other label only on the content, and is kept (`_Rendered`)."""
        labels = self._shown(kb).labels
        key = (payload, locale)
        found = labels.get(key)
        if found is not None:
            return found
        label = self._make_label(kb, payload, locale, session)
        if not payload.startswith(_FLOW_PREFIX):
            _kept(labels, key, label)
        return label

    def _make_label(self, kb: KnowledgeBase, payload: str, locale: Locale, session: Session) -> str:
        action = Action.decode(payload)
        if action is None:
            return ""
        kind, value = action.kind, action.value
        if kind == "flow":
            if value == "rate":
                return say("rate_button", locale)
            if value.startswith("complain"):
                return say("complain_button", locale)
            if value == "page":
                return ""  # "1" picks it; its label changes with the part number
            return self.flows.label(value, self._flow_context(kb, session, locale)) or ""
        if kind == "answer":
            return kb.title(value, locale)
        if kind == "topic" and value in TOPICS:
            return say(f"topic.{value}", locale)
        if kind == "topic" and _topic_page(value) is not None:
            return say("more_questions", locale)
        if kind == "care" and value in kb.care.labels:
            return kb.care.buttons_label(value, locale)
        if kind == "region" and value in REGION_NAMES:
            return REGION_NAMES[value][locale]  # typing "香港" answers "where are you?"
        if kind == "lang":
            return next((name for code, name in LANGUAGE_NAMES.items() if code == value), value)
        return {"more": say("more", locale), "menu": say("topics", locale), "none": say("none_of_these", locale)}.get(
            kind, value
        )

    def _flow_buttons(self, intent: str, locale: Locale) -> tuple[Button, ...]:
        """Under every legal.* and report.* answer, the guided complaint (about what the answer is about); under
        the answer on interest, working out the real rate."""
        if intent.split(".", 1)[0] not in ("legal", "report"):
            return ()
        buttons: list[Button] = []
        if intent == rate_flow.INTENT:
            buttons.append(Action("flow", "rate").button(say("rate_button", locale)))
        preset = complaint_flow.PRESETS.get(intent)
        value = f"complain.{preset}" if preset else "complain"
        buttons.append(Action("flow", value).button(say("complain_button", locale)))
        return tuple(buttons)

    def _related_buttons(self, kb: KnowledgeBase, intent: str, locale: Locale) -> tuple[Button, ...]:
        related = self._shown(kb).related
        key = (intent, locale)
        buttons = related.get(key)
        if buttons is None:
            found = kb.intents.get(intent)
            if found is None:
                return ()
            shown = found.related[:MAX_RELATED_BUTTONS]
            buttons = tuple(Action("answer", r).button(kb.title(r, locale)) for r in shown)
            _kept(related, key, buttons)
        return buttons

    def _clarify(self, kb: KnowledgeBase, decision: Match, locale: Locale) -> Reply:
        buttons = [Action("answer", c.intent).button(kb.title(c.intent, locale)) for c in decision.candidates]
        buttons.append(Action("none").button(say("none_of_these", locale)))
        return Reply(say("clarify", locale), tuple(buttons))

    def _menu(self, kb: KnowledgeBase, locale: Locale, text: str) -> Reply:
        rendered = self._shown(kb)
        buttons = rendered.menus.get(locale)
        if buttons is None:
            groups = rendered.groups
            buttons = tuple(
                Action("topic", topic).button(say(f"topic.{topic}", locale)) for topic in TOPICS if topic in groups
            )
            rendered.menus[locale] = buttons
        return Reply(text, buttons)

    def _topic(self, kb: KnowledgeBase, topic: str, locale: Locale, page: int = 0) -> Reply:
        """One page of a topic's questions; a topic longer than a page ends with "more questions", so browsing
        reaches every intent."""
        intents = [intent for intent in kb.answerable() if intent.group == topic]
        start = page * TOPIC_PAGE
        shown = intents[start : start + TOPIC_PAGE] if len(intents) > MAX_TOPIC_BUTTONS - 1 else intents
        buttons = [Action("answer", intent.id).button(kb.title(intent.id, locale)) for intent in shown]
        if len(intents) > MAX_TOPIC_BUTTONS - 1:
            following = page + 1 if start + TOPIC_PAGE < len(intents) else 0  # the last page goes round
            buttons.append(Action("topic", f"{topic}.{following}").button(say("more_questions", locale)))
        buttons.append(Action("menu").button(say("topics", locale)))
        return Reply(say("topic", locale), tuple(buttons))

    def _welcome(self, kb: KnowledgeBase, locale: Locale) -> str:
        answer = kb.answer("meta.greeting", locale)
        return answer.text if answer else say("welcome", locale)

    # --- state ------------------------------------------------------------------------------------------

    def _locale(self, session: Session, text: str, app: Locale | None = None) -> Locale:
        """The language to answer in: the one chosen with /lang, else the message's script, else the last
        one used, else the language the person's app is set to."""
        if session.locale_pinned and session.locale:
            return session.locale
        guessed = None if text.startswith("/") else detect_locale(text)  # "/forget" is not English
        return guessed or session.locale or app or "zh-Hans"

    async def _load(self, user: str) -> Session:
        try:
            found = await self.store.get_session(user)
        except Exception:
            self._store_failed("read")
            return Session(user)
        return found or Session(user)

    def _store_failed(self, what: str) -> None:
        # Log once per outage, not once per message: a dead disk must not flood the log.
        self._store_errors += 1
        if not self._store_failing:
            log.exception("store %s failed; answering without state until it recovers", what)
            self._store_failing = True

    def _store_recovered(self) -> None:
        if self._store_failing:
            log.warning("store recovered")
            self._store_failing = False
