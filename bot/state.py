"""Conversation state and usage records: the interface the dialog engine uses, and an in-memory store.

The SQLite store (`bot.store`) implements the same `Store` protocol. Everything is keyed by the
pseudonymous user key; nothing here ever sees a raw platform id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

from .models import DecisionKind, Locale


@dataclass(frozen=True)
class Session:
    """What the bot remembers of one conversation, so that "1" or a button press makes sense."""

    user: str
    locale: Locale | None = None
    locale_pinned: bool = False  # chosen with /lang, not guessed from the last message
    last_intent: str | None = None
    options: tuple[str, ...] = ()  # payloads of the buttons last offered, selectable by number
    updated_at: float = 0.0

    def replace(self, **changes: object) -> Session:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class UsageEvent:
    """One handled message, without its text."""

    user: str
    channel: str
    locale: Locale
    kind: DecisionKind | str  # also "command", "button", "media", "empty"
    intent: str | None
    score: float
    at: float


class Store(Protocol):
    async def get_session(self, user: str) -> Session | None: ...
    async def put_session(self, session: Session) -> None: ...
    async def record_event(self, event: UsageEvent) -> None: ...
    async def record_unanswered(self, channel: str, locale: Locale, text: str, at: float) -> None:
        """`text` is already redacted by the caller."""

    async def forget(self, user: str) -> None: ...
    async def close(self) -> None: ...


class MemoryStore:
    """A `Store` that lives in memory: for tests, `match`, and when no database can be opened."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.events: list[UsageEvent] = []
        self.unanswered: list[tuple[str, Locale, str, float]] = []

    async def get_session(self, user: str) -> Session | None:
        return self.sessions.get(user)

    async def put_session(self, session: Session) -> None:
        self.sessions[session.user] = session

    async def record_event(self, event: UsageEvent) -> None:
        self.events.append(event)

    async def record_unanswered(self, channel: str, locale: Locale, text: str, at: float) -> None:
        self.unanswered.append((channel, locale, text, at))

    async def forget(self, user: str) -> None:
        self.sessions.pop(user, None)
        self.events = [event for event in self.events if event.user != user]

    async def close(self) -> None:
        return None
