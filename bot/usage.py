"""Usage statistics as the store hands them over: aggregated rows with no user keys, and the retention policy.

Every `Store` (`bot.state`) returns these from `usage()` and `purge()`, so `bot.stats` works the same on
any backend. Days are counted in China Standard Time: the people who use and run the bot live there, and
"today" in the statistics must be their today.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

DAY = 86400.0
CST = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Retention:
    """How long things are kept, in days (`BOT_SESSION_DAYS`, `BOT_EVENT_DAYS`, `BOT_UNANSWERED_DAYS`)."""

    session_days: int = 30
    event_days: int = 90
    unanswered_days: int = 30


@dataclass(frozen=True)
class PurgeResult:
    sessions: int
    event_links: int
    unanswered: int


@dataclass(frozen=True)
class EventCount:
    """How many events share one day, channel, locale, kind and intent."""

    day: str
    channel: str
    locale: str
    kind: str
    intent: str | None
    messages: int


@dataclass(frozen=True)
class DayUsers:
    day: str
    channel: str
    users: int


@dataclass(frozen=True)
class UnansweredCount:
    text: str
    channel: str
    locale: str
    count: int


@dataclass(frozen=True)
class UsageSnapshot:
    """Everything statistics need from `first_day` on, already aggregated: no user keys leave the store."""

    events: tuple[EventCount, ...]
    users: tuple[DayUsers, ...]
    unanswered: tuple[UnansweredCount, ...]


def day_of(at: float) -> str:
    return datetime.fromtimestamp(at, CST).date().isoformat()


def score_bucket(score: float) -> int:
    """The score rounded down to tens (0, 10, … 100): enough to tune thresholds, too coarse to fingerprint."""
    return int(min(max(score, 0.0), 100.0) // 10 * 10)
