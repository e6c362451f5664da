"""Conversation state and usage records: the interface the dialog engine uses, and an in-memory store.

The SQLite store (`bot.store`) implements the same `Store` protocol. Everything is keyed by the
pseudonymous user key; nothing here ever sees a raw platform id.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal, Protocol

from .models import DecisionKind, Locale
from .region import Region

CareLevel = Literal["crisis", "concern"]


@dataclass(frozen=True)
class CareState:
    """A conversation in care mode: after a crisis or concern signal the bot stays with the person.

    Nothing here is message text: the level, whether an act is under way, whether the person at risk is
    someone else, when care began, how many messages it has lasted, which care replies were already used
    (so the next one moves forward instead of repeating), how many hotlines were offered, and the intent of
    a debt question asked meanwhile (answered when the person says they are OK).
    """

    level: CareLevel
    since: float
    act: bool = False
    other: bool = False
    messages: int = 0
    used: tuple[str, ...] = ()
    lines_offered: int = 1
    pending: str | None = None

    def replace(self, **changes: object) -> CareState:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def as_json(self) -> dict[str, object]:
        return {
            "level": self.level,
            "since": self.since,
            "act": self.act,
            "other": self.other,
            "messages": self.messages,
            "used": list(self.used),
            "lines_offered": self.lines_offered,
            "pending": self.pending,
        }

    @classmethod
    def from_json(cls, data: object) -> CareState | None:
        """The state stored by `as_json`, or None when the data is damaged (care then starts afresh)."""
        if not isinstance(data, dict) or data.get("level") not in ("crisis", "concern"):
            return None
        try:
            used = data.get("used") or []
            pending = data.get("pending")
            return cls(
                level="crisis" if data["level"] == "crisis" else "concern",
                since=float(data["since"]),
                act=bool(data.get("act", False)),
                other=bool(data.get("other", False)),
                messages=int(data.get("messages", 0)),
                used=tuple(str(item) for item in used) if isinstance(used, list) else (),
                lines_offered=int(data.get("lines_offered", 1)),
                pending=pending if isinstance(pending, str) else None,
            )
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class Session:
    """What the bot remembers of one conversation, so that "1" or a button press makes sense."""

    user: str
    locale: Locale | None = None
    locale_pinned: bool = False  # chosen with /lang, not guessed from the last message
    last_intent: str | None = None
    options: tuple[str, ...] = ()  # payloads of the buttons last offered, selectable by number
    updated_at: float = 0.0
    region: Region | None = None
    region_pinned: bool = False  # stated by the user ("我在香港", /region), not guessed
    care: CareState | None = None

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
    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        """`text` is already redacted by the caller; `user` (the pseudonym) lets /forget remove it."""

    async def forget(self, user: str) -> None: ...
    async def close(self) -> None: ...
    def problem(self) -> str | None:
        """Why the store is not keeping state right now (shown by `/healthz`), or None when it is."""


class MemoryStore:
    """A `Store` that lives in memory: for tests, `match`, and when no database can be opened."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        self.events: list[UsageEvent] = []
        self.unanswered: list[tuple[str, str, Locale, str, float]] = []

    async def get_session(self, user: str) -> Session | None:
        return self.sessions.get(user)

    async def put_session(self, session: Session) -> None:
        self.sessions[session.user] = session

    async def record_event(self, event: UsageEvent) -> None:
        self.events.append(event)

    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        self.unanswered.append((user, channel, locale, text, at))

    async def forget(self, user: str) -> None:
        self.sessions.pop(user, None)
        self.events = [event for event in self.events if event.user != user]
        self.unanswered = [row for row in self.unanswered if row[0] != user]

    async def close(self) -> None:
        return None

    def problem(self) -> str | None:
        return None
