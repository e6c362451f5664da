"""The dialog engine: one `Incoming` in, a list of `Reply` out, for every channel alike.

Order of work for a message: commands; the safety check (before anything else, in any state); a number
that picks one of the options last offered; then the matcher's decision. State and usage records go
through the `Store` interface; if the store fails, the user still gets an answer and the failure is
logged once, not per message.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from .knowledge import KnowledgeBase, KnowledgeSource
from .matcher import CRISIS_INTENT
from .messages import LANGUAGE_NAMES, REGION_WORDS, TOPICS, lang_set, region_buttons, say
from .models import LOCALES, Button, Incoming, Locale, Match, Reply
from .privacy import redact
from .region import REGIONS, Region, update_region
from .state import Session, Store, UsageEvent
from .text import detect_locale

log = logging.getLogger(__name__)

MAX_UNANSWERED_CHARS = 300
MAX_RELATED_BUTTONS = 3
MAX_TOPIC_BUTTONS = 10
_OPTION_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.、)]?\s*$")


def _encodable(text: str) -> str:
    """Text with lone surrogates (from a malformed JSON escape such as "\\ud800") replaced by "?".

    Such a string cannot be encoded as UTF-8, which OpenCC and SQLite both need.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


@dataclass(frozen=True)
class Turn:
    """What the dialog made of one message: the replies, and the usage event to count (None after /forget)."""

    replies: list[Reply]
    event: UsageEvent | None


@dataclass(frozen=True)
class _Outcome:
    replies: list[Reply]
    kind: str
    intent: str | None = None
    score: float = 0.0
    pin_locale: Locale | None = None  # the user chose a language with /lang
    pin_region: Region | None = None  # the user chose a region with /region


class Dialog:
    def __init__(
        self,
        knowledge: KnowledgeSource,
        store: Store,
        *,
        keep_unanswered: bool = True,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.knowledge = knowledge
        self.store = store
        self.keep_unanswered = keep_unanswered
        self.clock = clock
        self._store_failing = False
        self._store_errors = 0  # grows with every failed store call; a message that adds none is healthy

    async def handle(self, incoming: Incoming) -> list[Reply]:
        """Decide, save the conversation state and count the message as delivered: for channels that
        cannot tell whether their reply arrived (console, WeChat's passive replies)."""
        turn = await self.respond(incoming)
        await self.record(turn, delivered=True)
        return turn.replies

    async def respond(self, incoming: Incoming) -> Turn:
        """The replies to one message, with the conversation state saved; the usage event is left to
        `record`, so a channel can count it once it knows whether the reply was delivered."""
        kb = self.knowledge.current  # one knowledge base for the whole message, even if a reload happens
        errors_before = self._store_errors
        session = await self._load(incoming.user)
        text = _encodable(incoming.text or "").strip()
        locale = self._locale(session, text)
        session = session.replace(locale=locale)
        if text and not text.startswith("/"):
            simplified = detect_locale(text) == "zh-Hans"
            region, pinned = update_region(session.region, session.region_pinned, text, simplified)
            session = session.replace(region=region, region_pinned=pinned)

        outcome: _Outcome
        if incoming.button is not None:
            outcome = self._on_button(kb, session, _encodable(incoming.button), locale)
        elif text.startswith("/"):
            outcome = await self._on_command(kb, session, text, locale)
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
        options = tuple(button.payload for reply in outcome.replies for button in reply.buttons)
        last_intent = outcome.intent if outcome.kind in ("answer", "crisis") else session.last_intent
        await self._save(session.replace(options=options, last_intent=last_intent, updated_at=self.clock()))
        event = UsageEvent(
            incoming.user, incoming.channel, locale, outcome.kind, outcome.intent, outcome.score, self.clock()
        )
        if self._store_errors == errors_before:
            # Only a message whose reads *and* writes all worked ends an outage: with a read-only
            # database reads succeed and writes fail, which must not log once per message.
            self._store_recovered()
        return Turn(outcome.replies, event)

    async def record(self, turn: Turn, *, delivered: bool) -> None:
        """Count the message; a reply that could not be delivered is counted as `failed`, not as answered."""
        if turn.event is None:
            return
        event = turn.event if delivered else dataclasses.replace(turn.event, kind="failed")
        await self._record(event)

    # --- decisions -----------------------------------------------------------------------------------

    async def _on_text(
        self, kb: KnowledgeBase, session: Session, incoming: Incoming, text: str, locale: Locale
    ) -> _Outcome:
        picked = _OPTION_NUMBER.match(text)  # a bare number is never a crisis signal
        if picked and session.options:
            number = int(picked.group(1))
            if 1 <= number <= len(session.options):
                return self._on_button(kb, session, session.options[number - 1], locale)
        decision = kb.decide(text)  # the safety check comes first inside
        if decision.kind == "crisis":
            return _Outcome([self._crisis(kb, locale)], "crisis", CRISIS_INTENT, decision.score)
        if decision.kind == "answer" and decision.intent is not None:
            return _Outcome(self._answer(kb, decision.intent, locale), "answer", decision.intent, decision.score)
        if self.keep_unanswered and (decision.kind == "fallback" or decision.score < kb.matcher.thresholds.answer):
            await self._keep_unanswered(incoming.user, incoming.channel, locale, text)
        if decision.kind == "clarify":
            return _Outcome([self._clarify(kb, decision, locale)], "clarify", None, decision.score)
        return _Outcome([self._menu(kb, locale, say("fallback", locale))], "fallback", None, decision.score)

    def _on_button(self, kb: KnowledgeBase, session: Session, payload: str, locale: Locale) -> _Outcome:
        kind, _, value = payload.partition(":")
        if kind == "a" and value in kb.intents:
            if value == CRISIS_INTENT:
                return _Outcome([self._crisis(kb, locale)], "crisis", value, 100.0)
            return _Outcome(self._answer(kb, value, locale), "answer", value, 100.0)
        if kind == "m" and value in kb.intents:
            answer = kb.answer(value, locale)
            if answer is not None and answer.more:
                buttons = self._related_buttons(kb, value, locale)
                return _Outcome([Reply(answer.more, buttons)], "answer", value, 100.0)
        if kind == "t" and value in TOPICS:
            return _Outcome([self._topic(kb, value, locale)], "button")
        if kind == "c" and value == "menu":
            return _Outcome([self._menu(kb, locale, say("menu", locale))], "button")
        if kind == "n":
            return _Outcome([self._menu(kb, locale, say("fallback", locale))], "fallback")
        if kind == "l":
            chosen = next((loc for loc in LOCALES if loc == value), None)
            if chosen is not None:
                return _Outcome([Reply(lang_set(chosen))], "command", pin_locale=chosen)
        if kind == "r":
            region = next((r for r in REGIONS if r == value), None)
            if region is not None:
                reply = self._menu(kb, locale, say(f"region_set.{region}", locale))
                return _Outcome([reply], "command", pin_region=region)
        return _Outcome([self._menu(kb, locale, say("stale", locale))], "button")

    async def _on_command(self, kb: KnowledgeBase, session: Session, text: str, locale: Locale) -> _Outcome:
        name, _, argument = text[1:].partition(" ")
        name = name.split("@", 1)[0].casefold()  # Telegram adds @botname in groups and menus
        if name == "start":
            return _Outcome([self._menu(kb, locale, self._welcome(kb, locale))], "command")
        if name in ("help", "menu"):
            return _Outcome([self._menu(kb, locale, say("menu", locale))], "command")
        if name == "privacy":
            answer = kb.answer("meta.privacy", locale)
            return _Outcome([Reply(answer.text if answer else say("privacy", locale))], "command")
        if name == "lang":
            return self._on_lang(argument.strip(), locale)
        if name == "region":
            return self._on_region(kb, argument.strip(), locale)
        if name == "forget":
            try:
                await self.store.forget(session.user)
            except Exception:
                log.exception("forget failed")
                return _Outcome([Reply(say("forget_failed", locale))], "command")
            return _Outcome([Reply(say("forgotten", locale))], "forget")
        return _Outcome([Reply(say("unknown_command", locale))], "command")

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
            buttons = tuple(Button(name, f"l:{code}") for code, name in LANGUAGE_NAMES.items())
            return _Outcome([Reply(say("lang_choose", locale), buttons)], "command")
        chosen = next(loc for loc in LOCALES if loc == wanted)
        return _Outcome([Reply(lang_set(chosen))], "command", pin_locale=chosen)

    def _on_region(self, kb: KnowledgeBase, argument: str, locale: Locale) -> _Outcome:
        wanted = REGION_WORDS.get(argument.casefold())
        if wanted is None:
            return _Outcome([Reply(say("region_choose", locale), region_buttons(locale))], "command")
        return _Outcome([self._menu(kb, locale, say(f"region_set.{wanted}", locale))], "command", pin_region=wanted)

    # --- replies --------------------------------------------------------------------------------------

    def _answer(self, kb: KnowledgeBase, intent: str, locale: Locale) -> list[Reply]:
        answer = kb.answer(intent, locale)
        if answer is None:
            return [self._menu(kb, locale, say("stale", locale))]
        text = answer.text
        if answer.sources:
            text += "\n\n" + say("sources", locale) + "\n" + "\n".join(f"· {source}" for source in answer.sources)
        buttons: list[Button] = []
        if answer.more:
            buttons.append(Button(say("more", locale), f"m:{intent}"))
        buttons.extend(self._related_buttons(kb, intent, locale))
        return [Reply(text, tuple(buttons))]

    def _related_buttons(self, kb: KnowledgeBase, intent: str, locale: Locale) -> tuple[Button, ...]:
        found = kb.intents.get(intent)
        if found is None:
            return ()
        return tuple(Button(kb.title(r, locale), f"a:{r}") for r in found.related[:MAX_RELATED_BUTTONS])

    def _crisis(self, kb: KnowledgeBase, locale: Locale) -> Reply:
        answer = kb.answer(CRISIS_INTENT, locale)
        return Reply(answer.text if answer else say("crisis", locale))

    def _clarify(self, kb: KnowledgeBase, decision: Match, locale: Locale) -> Reply:
        buttons = [Button(kb.title(c.intent, locale), f"a:{c.intent}") for c in decision.candidates]
        buttons.append(Button(say("none_of_these", locale), "n:"))
        return Reply(say("clarify", locale), tuple(buttons))

    def _menu(self, kb: KnowledgeBase, locale: Locale, text: str) -> Reply:
        groups = {intent.group for intent in kb.answerable()}
        buttons = tuple(Button(say(f"topic.{topic}", locale), f"t:{topic}") for topic in TOPICS if topic in groups)
        return Reply(text, buttons)

    def _topic(self, kb: KnowledgeBase, topic: str, locale: Locale) -> Reply:
        intents = [intent for intent in kb.answerable() if intent.group == topic][:MAX_TOPIC_BUTTONS]
        buttons = [Button(kb.title(intent.id, locale), f"a:{intent.id}") for intent in intents]
        buttons.append(Button(say("topics", locale), "c:menu"))
        return Reply(say("topic", locale), tuple(buttons))

    def _welcome(self, kb: KnowledgeBase, locale: Locale) -> str:
        answer = kb.answer("meta.greeting", locale)
        return answer.text if answer else say("welcome", locale)

    # --- state ------------------------------------------------------------------------------------------

    def _locale(self, session: Session, text: str) -> Locale:
        if session.locale_pinned and session.locale:
            return session.locale
        guessed = None if text.startswith("/") else detect_locale(text)  # "/forget" is not English
        return guessed or session.locale or "zh-Hans"

    async def _load(self, user: str) -> Session:
        try:
            found = await self.store.get_session(user)
        except Exception:
            self._store_failed("read")
            return Session(user)
        return found or Session(user)

    async def _save(self, session: Session) -> None:
        try:
            await self.store.put_session(session)
        except Exception:
            self._store_failed("write")

    async def _record(self, event: UsageEvent) -> None:
        try:
            await self.store.record_event(event)
        except Exception:
            self._store_failed("record")

    async def _keep_unanswered(self, user: str, channel: str, locale: Locale, text: str) -> None:
        try:
            await self.store.record_unanswered(user, channel, locale, redact(text, MAX_UNANSWERED_CHARS), self.clock())
        except Exception:
            self._store_failed("record")

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
