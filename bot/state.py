"""Conversation state and usage records: the `Store` protocol every backend implements, and an in-memory one.

The protocol covers what the dialog writes and what statistics, retention and `/forget` read, so nothing
outside a backend ever needs to know which one it is. The SQLite store (`bot.store`) implements it, and one
contract test suite (`tests/test_store_contract.py`) runs against every implementation. Everything is keyed
by the pseudonymous user key; nothing here ever sees a raw platform id.

Exceptions:
    StoreError          the store cannot be used, even after retrying (`path` names it, `reason` says why)
     └── SchemaTooNew   the database was upgraded by a newer version of the bot; it is left untouched
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from .coordination import Coordination, LocalCoordination
from .models import LOCALES, DecisionKind, Locale
from .region import REGIONS, Region
from .usage import DAY, DayUsers, EventCount, PurgeResult, Retention, UnansweredCount, UsageSnapshot, day_of

CareLevel = Literal["crisis", "concern"]


class StoreError(Exception):
    """The database at `path` (a file, or a PostgreSQL address without its password) could not be used;
    `reason` says why (never user data)."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SchemaTooNew(StoreError):
    """The database's schema version is newer than this program knows: it is refused, not touched."""

    def __init__(self, path: Path | str, found: int, known: int) -> None:
        super().__init__(
            path,
            f"schema version {found} is newer than this program knows ({known}): it was upgraded by a newer"
            " Anxin; run that version (or restore a backup from before the upgrade), nothing was changed",
        )
        self.found = found
        self.known = known


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
        """A copy with `changes` (the dialog makes several a message): the fields copied as they are, without
        `dataclasses.replace`'s walk through every field; an unknown name is still a TypeError."""
        unknown = changes.keys() - _SESSION_FIELDS
        if unknown:
            raise TypeError(f"Session has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        fields = copy.__dict__
        fields.update(self.__dict__)
        fields.update(changes)
        return copy

    # The columns every store keeps a session in, in this order (`from_row` reads them back).
    COLUMNS = "locale, locale_pinned, last_intent, options, updated_at, region, region_pinned, care"

    @classmethod
    def from_row(cls, user: str, row: Sequence[object]) -> Session:
        """A session from its stored columns (`COLUMNS`); anything damaged reads as "not known" and costs the
        person only that piece of state."""
        options = _json(row[3])
        updated = row[4]
        return cls(
            user,
            locale=next((locale for locale in LOCALES if locale == row[0]), None),
            locale_pinned=bool(row[1]),
            last_intent=row[2] if isinstance(row[2], str) else None,
            options=tuple(str(option) for option in options) if isinstance(options, list) else (),
            updated_at=float(updated) if isinstance(updated, int | float) else 0.0,
            region=next((region for region in REGIONS if region == row[5]), None),
            region_pinned=bool(row[6]),
            care=CareState.from_json(_json(row[7])),
        )


def _json(text: object) -> object:
    """A JSON column's value; a damaged one reads as None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


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


@dataclass(frozen=True)
class Unanswered:
    """A question the bot could not answer, already redacted (`privacy.keepable`), to be kept for a while."""

    user: str
    channel: str
    locale: Locale
    text: str
    at: float


_SESSION_FIELDS = frozenset(field.name for field in dataclasses.fields(Session))


class Store(Protocol):
    async def get_session(self, user: str) -> Session | None: ...
    async def put_session(self, session: Session) -> None: ...
    async def record_event(self, event: UsageEvent) -> None: ...
    async def save_turn(
        self, session: Session | None, event: UsageEvent | None, unanswered: Sequence[Unanswered] = ()
    ) -> None:
        """Everything one message changes, all or nothing: the session, the usage event, unanswered questions.
        Returns once it is durable (committed): a channel acknowledges the message only after that."""

    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        """`text` is already redacted by the caller; `user` (the pseudonym) lets /forget remove it."""

    async def forget(self, user: str) -> None:
        """Delete every row keyed to `user`: session, events and unanswered questions."""

    async def purge(self, now: float | None = None) -> PurgeResult:
        """Apply the retention policy: idle sessions, old per-user event links, old unanswered questions."""

    async def usage(self, first_day: str) -> UsageSnapshot:
        """Aggregated usage from `first_day` (YYYY-MM-DD, China time) on; no user keys leave the store."""

    async def close(self) -> None: ...
    def problem(self) -> str | None:
        """Why the store is not keeping state right now (shown by `/healthz`), or None when it is."""

    def turn(self, user: str) -> AbstractAsyncContextManager[None]:
        """One message of `user`: the store calls made inside it run after every earlier turn of that user has
        ended, in this process and in every other process sharing the store. A store used by one process only
        has nothing to add here (the channels order a user's messages in memory)."""

    def coordination(self) -> Coordination:
        """What processes sharing this store agree on: retries and the Telegram poller (`bot.coordination`)."""


@contextlib.asynccontextmanager
async def no_turn() -> AsyncIterator[None]:
    """The turn of a store that only one process uses."""
    yield


class MemoryStore:
    """A `Store` that lives in memory: for tests, `chat`, and when no database can be opened."""

    def __init__(self, *, retention: Retention | None = None, clock: Callable[[], float] = time.time) -> None:
        self.retention = retention or Retention()
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.events: list[UsageEvent] = []  # an event whose user is "" has lost its link to the user
        self.unanswered: list[tuple[str, str, Locale, str, float]] = []
        self.daily_users: Counter[tuple[str, str]] = Counter()  # (day, channel) counts of unlinked days
        self._coordination = LocalCoordination()

    async def get_session(self, user: str) -> Session | None:
        return self.sessions.get(user)

    async def put_session(self, session: Session) -> None:
        self.sessions[session.user] = session

    async def record_event(self, event: UsageEvent) -> None:
        self.events.append(event)

    async def record_unanswered(self, user: str, channel: str, locale: Locale, text: str, at: float) -> None:
        self.unanswered.append((user, channel, locale, text, at))

    async def save_turn(
        self, session: Session | None, event: UsageEvent | None, unanswered: Sequence[Unanswered] = ()
    ) -> None:
        # In memory there is no transaction to share: the three calls keep their own behaviour (and a test
        # store that overrides one of them still sees every write).
        if session is not None:
            await self.put_session(session)
        for question in unanswered:
            await self.record_unanswered(question.user, question.channel, question.locale, question.text, question.at)
        if event is not None:
            await self.record_event(event)

    async def forget(self, user: str) -> None:
        self.sessions.pop(user, None)
        self.events = [event for event in self.events if event.user != user]
        self.unanswered = [row for row in self.unanswered if row[0] != user]

    async def purge(self, now: float | None = None) -> PurgeResult:
        now = self.clock() if now is None else now
        keep = self.retention
        session_cutoff = now - max(keep.session_days, 0) * DAY
        unanswered_cutoff = now - max(keep.unanswered_days, 0) * DAY
        link_cutoff = day_of(now - max(keep.event_days, 0) * DAY)
        idle = [user for user, session in self.sessions.items() if session.updated_at < session_cutoff]
        for user in idle:
            del self.sessions[user]
        old = len(self.unanswered)
        self.unanswered = [row for row in self.unanswered if row[4] >= unanswered_cutoff]
        linked: dict[tuple[str, str], set[str]] = {}
        unlinked = 0
        for index, event in enumerate(self.events):
            day = day_of(event.at)
            if event.user and day < link_cutoff:
                linked.setdefault((day, event.channel), set()).add(event.user)
                self.events[index] = dataclasses.replace(event, user="")
                unlinked += 1
        for key, users in linked.items():
            self.daily_users[key] += len(users)
        return PurgeResult(sessions=len(idle), event_links=unlinked, unanswered=old - len(self.unanswered))

    async def usage(self, first_day: str) -> UsageSnapshot:
        events: Counter[tuple[str, str, str, str, str | None]] = Counter()
        users: dict[tuple[str, str], set[str]] = {}
        for event in self.events:
            day = day_of(event.at)
            if day < first_day:
                continue
            events[(day, event.channel, event.locale, event.kind, event.intent)] += 1
            if event.user:
                users.setdefault((day, event.channel), set()).add(event.user)
        counts: Counter[tuple[str, str]] = Counter({key: len(keys) for key, keys in users.items()})
        counts.update({key: n for key, n in self.daily_users.items() if key[0] >= first_day})
        unanswered: Counter[tuple[str, str, str]] = Counter()
        for _, channel, locale, text, at in self.unanswered:
            if day_of(at) >= first_day:
                unanswered[(text, channel, locale)] += 1
        return UsageSnapshot(
            events=tuple(EventCount(*key, count) for key, count in events.items()),
            users=tuple(DayUsers(day, channel, count) for (day, channel), count in counts.items()),
            unanswered=tuple(UnansweredCount(*key, count) for key, count in unanswered.most_common()),
        )

    async def close(self) -> None:
        return None

    def problem(self) -> str | None:
        return None

    def turn(self, user: str) -> AbstractAsyncContextManager[None]:
        return no_turn()

    def coordination(self) -> Coordination:
        return self._coordination
