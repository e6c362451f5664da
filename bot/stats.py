"""Usage statistics for admins: `anxin stats`, the Telegram `/stats` command and a self-contained HTML page.

`collect()` reads aggregated rows from a store (no user keys, no text except redacted unanswered questions)
and builds a `StatsReport`; `render_text()`, `render_table()` and `render_html()` present it.
Rates are shares of *questions* (messages decided on: answer, clarify, fallback, crisis or a concern check-in,
the last two shown together as "crisis");
commands, button presses that open menus and media count as messages but not as questions.
"""

from __future__ import annotations

import csv
import html
import io
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from typing import TYPE_CHECKING

from .models import LOCALES, Locale
from .redaction import strip_bidi
from .state import Store
from .text import to_traditional
from .usage import DAY, EventCount, UnansweredCount, UsageSnapshot, day_of

if TYPE_CHECKING:
    from .knowledge import KnowledgeBase

DECISIONS = ("answer", "clarify", "fallback", "crisis", "concern")
TOP = 10
SLICE_TOP = 5
MAX_GROUPS = 20  # groups of unanswered questions on the dashboard
PUBLIC_MIN = 5  # in public figures, a count from 1 to 4 shows as "<5": small enough to point at someone
# Not questions: a bare number (an option typed after it expired) or a command.
_NOT_A_QUESTION = re.compile(r"^[\s0-9０-９.,，。、#*+()（）-]*$|^\s*[/／]")


@dataclass(frozen=True)
class Rates:
    """Shares of questions, 0.0–1.0."""

    answered: float
    clarified: float
    fallback: float
    crisis: float

    def as_json(self) -> dict[str, float]:
        return {
            "answered": round(self.answered, 4),
            "clarified": round(self.clarified, 4),
            "fallback": round(self.fallback, 4),
            "crisis": round(self.crisis, 4),
        }


@dataclass(frozen=True)
class Ranked:
    name: str
    count: int


@dataclass(frozen=True)
class DayStats:
    day: str
    messages: int
    questions: int
    users: int
    answered: int
    clarified: int
    fallback: int
    crisis: int


@dataclass(frozen=True)
class Slice:
    """The numbers for one channel or one locale."""

    name: str
    messages: int
    questions: int
    users: int | None  # per channel only: one person may write in two scripts on the same day
    rates: Rates
    top_intents: tuple[Ranked, ...]
    top_unanswered: tuple[Ranked, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "messages": self.messages,
            "questions": self.questions,
            "users": self.users,
            "rates": self.rates.as_json(),
            "top_intents": _ranked_json(self.top_intents),
            "top_unanswered": _ranked_json(self.top_unanswered),
        }


@dataclass(frozen=True)
class TopicRow:
    """One intent: how often it was answered, offered in a clarification, the best guess of a fallback, and
    rated 👍 or 👎."""

    intent: str
    answers: int = 0
    clarified: int = 0
    fallback: int = 0
    helpful: int = 0
    unhelpful: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "intent": self.intent,
            "answers": self.answers,
            "clarified": self.clarified,
            "fallback": self.fallback,
            "helpful": self.helpful,
            "unhelpful": self.unhelpful,
        }


@dataclass(frozen=True)
class Week:
    first_day: str
    last_day: str
    questions: int
    rates: Rates


@dataclass(frozen=True)
class UnansweredGroup:
    """Similar unanswered questions (`bot.suggest`) and the intent the bot would pick for them today."""

    questions: tuple[Ranked, ...]
    guess: str | None

    @property
    def asked(self) -> int:
        return sum(item.count for item in self.questions)


@dataclass(frozen=True)
class StatsReport:
    days: int
    first_day: str
    last_day: str
    messages: int
    questions: int
    user_days: int  # distinct users summed over days: the same person on two days counts twice
    kinds: tuple[Ranked, ...]
    rates: Rates
    daily: tuple[DayStats, ...]  # one per day, oldest first, including days without messages
    by_channel: tuple[Slice, ...]
    by_locale: tuple[Slice, ...]
    top_intents: tuple[Ranked, ...]
    top_unanswered: tuple[Ranked, ...]
    crisis: int = 0  # crisis replies and safety check-ins: a count, never a text
    topics: tuple[TopicRow, ...] = ()  # most used first
    weeks: tuple[Week, Week] | None = None  # the last seven days, and the seven before
    groups: tuple[UnansweredGroup, ...] = ()  # with a knowledge base: unanswered questions, grouped
    titles: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # intent → locale → title

    def title(self, intent: str, locale: Locale = "en") -> str:
        """The intent's title in `locale` (its id when the knowledge base does not know it)."""
        return self.titles.get(intent, {}).get(locale) or intent

    def as_json(self) -> dict[str, object]:
        return {
            "days": self.days,
            "first_day": self.first_day,
            "last_day": self.last_day,
            "messages": self.messages,
            "questions": self.questions,
            "user_days": self.user_days,
            "kinds": {item.name: item.count for item in self.kinds},
            "rates": self.rates.as_json(),
            "daily": [
                {
                    "day": day.day,
                    "messages": day.messages,
                    "questions": day.questions,
                    "users": day.users,
                    "answered": day.answered,
                    "clarified": day.clarified,
                    "fallback": day.fallback,
                    "crisis": day.crisis,
                }
                for day in self.daily
            ],
            "by_channel": [item.as_json() for item in self.by_channel],
            "by_locale": [item.as_json() for item in self.by_locale],
            "top_intents": _ranked_json(self.top_intents),
            "top_unanswered": _ranked_json(self.top_unanswered),
            "crisis": self.crisis,
            "topics": [{**row.as_json(), "title": self.title(row.intent)} for row in self.topics],
            "weeks": (
                [
                    {"first_day": w.first_day, "last_day": w.last_day, "questions": w.questions, **w.rates.as_json()}
                    for w in self.weeks
                ]
                if self.weeks is not None
                else None
            ),
            "unanswered_groups": [
                {"asked": g.asked, "guess": g.guess, "questions": _ranked_json(g.questions)} for g in self.groups
            ],
        }


async def collect(store: Store, days: int, *, now: float | None = None, kb: KnowledgeBase | None = None) -> StatsReport:
    """Statistics for the last `days` days (today included, China time) from any store; with `kb`, intent
    titles and unanswered questions grouped by similarity with the bot's best guess."""
    if days < 1:
        raise ValueError("days must be 1 or more")
    now = time.time() if now is None else now
    first_day = day_of(now - (days - 1) * DAY)
    snapshot = await store.usage(first_day)
    # Week over week needs fourteen days, whatever the report's length.
    history = snapshot if days >= 14 else await store.usage(day_of(now - 13 * DAY))
    report = build_report(snapshot, days, first_day, day_of(now), history=history)
    return with_knowledge(report, snapshot, kb) if kb is not None else report


def with_knowledge(report: StatsReport, snapshot: UsageSnapshot, kb: KnowledgeBase) -> StatsReport:
    """`report` with intent titles in every language and the unanswered questions grouped (`bot.suggest`)."""
    from dataclasses import replace

    from .suggest import group

    intents = {row.intent for row in report.topics} | {item.name for item in report.top_intents}
    for slice_ in (*report.by_channel, *report.by_locale):
        intents |= {item.name for item in slice_.top_intents}
    rows = [row for row in snapshot.unanswered if not _NOT_A_QUESTION.match(row.text)]
    groups = tuple(
        UnansweredGroup(tuple(Ranked(strip_bidi(text), count) for text, count in found.questions), found.closest)
        for found in group(rows, kb)[:MAX_GROUPS]
    )
    intents |= {found.guess for found in groups if found.guess is not None}
    titles: dict[str, Mapping[str, str]] = {
        intent: {str(locale): _title(kb, intent, locale) for locale in LOCALES} for intent in intents
    }
    return replace(report, titles=titles, groups=groups)


_OUT_OF_SCOPE = {"zh-Hans": "不在服务范围：{name}", "zh-Hant": "不在服務範圍：{name}", "en": "out of scope: {name}"}


def _title(kb: KnowledgeBase, intent: str, locale: Locale) -> str:
    """The intent's title; the out-of-scope intents, which have none, say so in words."""
    title = kb.title(intent, locale)
    if title == intent and intent.startswith("oos."):
        return _OUT_OF_SCOPE[locale].format(name=intent.removeprefix("oos.").replace("_", " "))
    return title


def build_report(
    snapshot: UsageSnapshot, days: int, first_day: str, last_day: str, *, history: UsageSnapshot | None = None
) -> StatsReport:
    """The pure part of `collect`: aggregate rows into a report (`history`: at least the last 14 days, for
    the week-over-week trend)."""
    start = date.fromisoformat(first_day)
    day_names = [(start + timedelta(days=offset)).isoformat() for offset in range(days)]
    events = [event for event in snapshot.events if first_day <= event.day <= last_day]
    users = [row for row in snapshot.users if first_day <= row.day <= last_day]
    unanswered = [row for row in snapshot.unanswered if not _NOT_A_QUESTION.match(row.text)]

    daily: list[DayStats] = []
    for name in day_names:
        today = [event for event in events if event.day == name]
        kinds = _kinds(today)
        daily.append(
            DayStats(
                day=name,
                messages=sum(kinds.values()),
                questions=sum(kinds[kind] for kind in DECISIONS),
                users=sum(row.users for row in users if row.day == name),
                answered=kinds["answer"],
                clarified=kinds["clarify"],
                fallback=kinds["fallback"],
                crisis=kinds["crisis"] + kinds["concern"],
            )
        )

    kinds = _kinds(events)
    channels = sorted({event.channel for event in events} | {row.channel for row in users})
    locales = sorted({event.locale for event in events})
    return StatsReport(
        days=days,
        first_day=first_day,
        last_day=last_day,
        messages=sum(kinds.values()),
        questions=sum(kinds[kind] for kind in DECISIONS),
        user_days=sum(row.users for row in users),
        kinds=_ranked(kinds, len(kinds)),
        rates=_rates(kinds),
        daily=tuple(daily),
        by_channel=tuple(
            _slice(
                channel,
                [event for event in events if event.channel == channel],
                [row for row in unanswered if row.channel == channel],
                sum(row.users for row in users if row.channel == channel),
            )
            for channel in channels
        ),
        by_locale=tuple(
            _slice(
                locale,
                [event for event in events if event.locale == locale],
                [row for row in unanswered if row.locale == locale],
                None,
            )
            for locale in locales
        ),
        top_intents=_top_intents(events, TOP),
        top_unanswered=_top_unanswered(unanswered, TOP),
        crisis=kinds["crisis"] + kinds["concern"],
        topics=_topics(events),
        weeks=_weeks((history or snapshot).events, last_day),
    )


def _topics(events: Iterable[EventCount]) -> tuple[TopicRow, ...]:
    counts: dict[str, Counter[str]] = {}
    for event in events:
        if event.intent and event.kind in ("answer", "clarify", "fallback", "helpful", "unhelpful"):
            counts.setdefault(event.intent, Counter())[event.kind] += event.messages
    rows = [
        TopicRow(intent, c["answer"], c["clarify"], c["fallback"], c["helpful"], c["unhelpful"])
        for intent, c in counts.items()
    ]
    rows.sort(key=lambda r: (-(r.answers + r.clarified + r.fallback), -(r.helpful + r.unhelpful), r.intent))
    return tuple(rows)


def _weeks(events: Iterable[EventCount], last_day: str) -> tuple[Week, Week]:
    end = date.fromisoformat(last_day)
    spans = [(end - timedelta(days=13), end - timedelta(days=7)), (end - timedelta(days=6), end)]
    rows = list(events)
    weeks = []
    for start, stop in spans:
        kinds = _kinds(e for e in rows if start.isoformat() <= e.day <= stop.isoformat())
        weeks.append(Week(start.isoformat(), stop.isoformat(), sum(kinds[kind] for kind in DECISIONS), _rates(kinds)))
    return weeks[0], weeks[1]


def _kinds(events: Iterable[EventCount]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for event in events:
        counts[event.kind] += event.messages
    return counts


def _rates(kinds: Counter[str]) -> Rates:
    questions = sum(kinds[kind] for kind in DECISIONS)
    if not questions:
        return Rates(0.0, 0.0, 0.0, 0.0)
    return Rates(
        kinds["answer"] / questions,
        kinds["clarify"] / questions,
        kinds["fallback"] / questions,
        (kinds["crisis"] + kinds["concern"]) / questions,  # the crisis reply or a safety check-in
    )


def _top_intents(events: Iterable[EventCount], limit: int) -> tuple[Ranked, ...]:
    counts: Counter[str] = Counter()
    for event in events:
        if event.intent and event.kind in ("answer", "crisis", "concern"):
            counts[event.intent] += event.messages
    return _ranked(counts, limit)


def _top_unanswered(rows: Iterable[UnansweredCount], limit: int) -> tuple[Ranked, ...]:
    counts: Counter[str] = Counter()
    for row in rows:
        # Questions are stored without direction overrides; rows from before that still may carry one, and
        # it must not turn the rest of an admin's report around.
        counts[strip_bidi(row.text)] += row.count
    return _ranked(counts, limit)


def _ranked(counts: Counter[str], limit: int) -> tuple[Ranked, ...]:
    """Most frequent first; ties by name, so two runs over the same data read the same."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Ranked(name, count) for name, count in ordered[:limit])


def _slice(name: str, events: list[EventCount], unanswered: list[UnansweredCount], users: int | None) -> Slice:
    kinds = _kinds(events)
    return Slice(
        name=name,
        messages=sum(kinds.values()),
        questions=sum(kinds[kind] for kind in DECISIONS),
        users=users,
        rates=_rates(kinds),
        top_intents=_top_intents(events, SLICE_TOP),
        top_unanswered=_top_unanswered(unanswered, SLICE_TOP),
    )


def _ranked_json(items: tuple[Ranked, ...]) -> list[dict[str, object]]:
    return [{"name": item.name, "count": item.count} for item in items]


# --- presentation ---------------------------------------------------------------------------------------

_TEXT: dict[str, dict[str, str]] = {
    "zh-Hans": {
        "head": "最近 {days} 天({first} 至 {last}):消息 {messages} 条,问题 {questions} 个,用户 {users} 人次",
        "rates": "已回答 {answered} · 需澄清 {clarified} · 未匹配 {fallback} · 危机 {crisis}",
        "intents": "常见问题:",
        "unanswered": "未能回答:",
        "empty": "这段时间没有消息。",
    },
    "zh-Hant": {
        "head": "最近 {days} 天({first} 至 {last}):訊息 {messages} 則,問題 {questions} 個,用戶 {users} 人次",
        "rates": "已回答 {answered} · 需澄清 {clarified} · 未匹配 {fallback} · 危機 {crisis}",
        "intents": "常見問題:",
        "unanswered": "未能回答:",
        "empty": "這段時間沒有訊息。",
    },
    "en": {
        "head": "Last {days} days ({first} to {last}): {messages} messages, {questions} questions, {users} user-days",
        "rates": "answered {answered} · clarified {clarified} · fallback {fallback} · crisis {crisis}",
        "intents": "Top intents:",
        "unanswered": "Unanswered:",
        "empty": "No messages in this period.",
    },
}


def _percent(value: float) -> str:
    return f"{value:.0%}"


def render_text(report: StatsReport, locale: Locale) -> str:
    """A short summary that fits one chat message (Telegram `/stats`)."""
    words = _TEXT.get(locale, _TEXT["en"])
    lines = [
        words["head"].format(
            days=report.days,
            first=report.first_day,
            last=report.last_day,
            messages=report.messages,
            questions=report.questions,
            users=report.user_days,
        )
    ]
    if not report.messages:
        lines.append(words["empty"])
        return "\n".join(lines)
    rates = report.rates
    lines.append(
        words["rates"].format(
            answered=_percent(rates.answered),
            clarified=_percent(rates.clarified),
            fallback=_percent(rates.fallback),
            crisis=_percent(rates.crisis),
        )
    )
    for part in report.by_channel:
        lines.append(f"{part.name}: {part.messages} · {_percent(part.rates.answered)}")
    if report.top_intents:
        lines.append(words["intents"])
        lines.extend(f"  {report.title(item.name, locale)} ({item.count})" for item in report.top_intents[:5])
    if report.top_unanswered:
        lines.append(words["unanswered"])
        lines.extend(f"  {_shorten(item.name, 60)} ({item.count})" for item in report.top_unanswered[:5])
    return "\n".join(lines)


def count(value: int, public: bool = False) -> str:
    """A count as shown: in public figures (`anxin stats --public`, the CSV) 1 to 4 show as "<5"."""
    return f"<{PUBLIC_MIN}" if public and 0 < value < PUBLIC_MIN else str(value)


def _share(value: float, questions: int, public: bool) -> str:
    # A share of fewer than five questions would give the counts away.
    return "–" if public and 0 < questions < PUBLIC_MIN else _percent(value)


def _active_days(report: StatsReport) -> list[DayStats]:
    """Days with messages, oldest first: a quiet month is not thirty rows of zeros."""
    return [day for day in report.daily if day.messages or day.users]


def _trend(weeks: tuple[Week, Week] | None, name: str) -> str:
    """This week's share against last week's, in percentage points: "+5 pt", "−3 pt", "±0 pt" or "–"."""
    if weeks is None or not weeks[0].questions or not weeks[1].questions:
        return "–"
    before, now = getattr(weeks[0].rates, name), getattr(weeks[1].rates, name)
    points = round((now - before) * 100)
    return f"+{points} pt" if points > 0 else (f"−{-points} pt" if points < 0 else "±0 pt")


def render_table(report: StatsReport, *, public: bool = False) -> str:
    """The console view of `anxin stats` (`public`: counts from 1 to 4 as "<5")."""
    c = partial(count, public=public)
    rates = report.rates
    lines = [
        f"Last {report.days} days ({report.first_day} to {report.last_day}): {c(report.messages)} messages,"
        f" {c(report.questions)} questions, {c(report.user_days)} user-days, {c(report.crisis)} crisis",
    ]
    if not report.messages:
        lines.append("No messages in this period.")
        return "\n".join(lines)
    lines.append("")
    lines.append("rate        share   week over week")
    for name, label in (
        ("answered", "answered"),
        ("clarified", "clarified"),
        ("fallback", "fallback"),
        ("crisis", "crisis"),
    ):
        share = _share(getattr(rates, name), report.questions, public)
        lines.append(f"{label:10}  {share:>5}   {_trend(report.weeks, name)}")
    lines.append("")
    lines.append("day         messages  users  answered  clarified  fallback  crisis")
    for day in _active_days(report):
        lines.append(
            f"{day.day}  {c(day.messages):>8}  {c(day.users):>5}  {c(day.answered):>8}  {c(day.clarified):>9}  "
            f"{c(day.fallback):>8}  {c(day.crisis):>6}"
        )
    for title, parts in (("channel", report.by_channel), ("locale", report.by_locale)):
        lines.append("")
        lines.append(f"{title:10}  messages  answered  clarified  fallback  crisis")
        for part in parts:
            r = part.rates
            q = part.questions
            lines.append(
                f"{part.name:10}  {c(part.messages):>8}  {_share(r.answered, q, public):>8}  "
                f"{_share(r.clarified, q, public):>9}  {_share(r.fallback, q, public):>8}  "
                f"{_share(r.crisis, q, public):>6}"
            )
    if report.topics:
        lines.append("")
        lines.append("topic                                     answers  clarified  fallback   👍   👎")
        for row in report.topics:
            lines.append(
                f"{_pad(_shorten(report.title(row.intent), 40), 40)}  {c(row.answers):>7}  {c(row.clarified):>9}  "
                f"{c(row.fallback):>8}  {c(row.helpful):>3}  {c(row.unhelpful):>3}"
            )
    if not public and (report.groups or report.top_unanswered):
        lines.append("")
        lines.append("unanswered (redacted), similar ones together, with the bot's best guess:")
        if report.groups:
            for found in report.groups[:TOP]:
                guess = report.title(found.guess) if found.guess else "-"
                lines.append(f"  {found.asked:4}  {_shorten(found.questions[0].name, 50)}  → {guess}")
                for item in found.questions[1:4]:
                    lines.append(f"          {_shorten(item.name, 50)} ({item.count})")
        else:
            lines.extend(f"  {item.count:4}  {_shorten(item.name, 60)}" for item in report.top_unanswered)
    return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    """`text` padded to `width` terminal columns (a Chinese character takes two)."""
    columns = sum(2 if ord(char) > 0x2E7F else 1 for char in text)
    return text + " " * max(width - columns, 0)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_csv(report: StatsReport, locale: Locale = "en") -> str:
    """The aggregates as CSV, safe to publish: counts from 1 to 4 as "<5", no question texts, oldest first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "section",
            "day",
            "intent",
            "title",
            "messages",
            "users",
            "answered",
            "clarified",
            "fallback",
            "crisis",
            "helpful",
            "unhelpful",
        ]
    )
    c = partial(count, public=True)
    for day in _active_days(report):
        writer.writerow(
            [
                "day",
                day.day,
                "",
                "",
                c(day.messages),
                c(day.users),
                c(day.answered),
                c(day.clarified),
                c(day.fallback),
                c(day.crisis),
                "",
                "",
            ]
        )
    for row in report.topics:
        writer.writerow(
            [
                "topic",
                "",
                row.intent,
                _cell(report.title(row.intent, locale)),
                "",
                "",
                c(row.answers),
                c(row.clarified),
                c(row.fallback),
                "",
                c(row.helpful),
                c(row.unhelpful),
            ]
        )
    writer.writerow(
        [
            "total",
            f"{report.first_day}/{report.last_day}",
            "",
            "",
            c(report.messages),
            c(report.user_days),
            c(sum(d.answered for d in report.daily)),
            c(sum(d.clarified for d in report.daily)),
            c(sum(d.fallback for d in report.daily)),
            c(report.crisis),
            "",
            "",
        ]
    )
    return out.getvalue()


def _cell(text: str) -> str:
    # A spreadsheet runs a cell that starts with one of these as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- the HTML page: `anxin stats --html`, `/stats` in a chat, and the dashboard at /admin -------------------

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Anxin usage",
        "days": "{days} days, {first} – {last}",
        "messages": "messages",
        "questions": "questions",
        "users": "users",
        "user_days": "user-days",
        "answered": "answered",
        "clarified": "clarified",
        "fallback": "fallback",
        "crisis": "crisis",
        "rates": "Rates of questions",
        "rate": "rate",
        "share": "share",
        "trend": "week over week",
        "chart": "Messages and users per day",
        "day": "day",
        "per_day": "Per day (days with messages)",
        "topics": "Per topic",
        "topic": "topic",
        "answers": "answers",
        "clarifications": "clarifications",
        "fallbacks": "fallbacks",
        "helpful": "👍 helpful",
        "unhelpful": "👎 not helpful",
        "unanswered": "Unanswered questions (redacted), similar ones together",
        "asked": "asked",
        "examples": "questions",
        "guess": "the bot's best guess",
        "none": "none",
        "by_channel": "By channel",
        "by_locale": "By language",
        "csv": "Download the aggregates (CSV, safe to publish)",
        "crisis_note": "Crisis replies and safety check-ins: counts only, never what was said.",
        "empty": "No messages in this period.",
        "public": "Counts from 1 to 4 are shown as <5.",
    },
    "zh-Hans": {
        "title": "安心 使用统计",
        "days": "{days} 天，{first} 至 {last}",
        "messages": "消息",
        "questions": "问题",
        "users": "用户",
        "user_days": "用户人次",
        "answered": "已回答",
        "clarified": "需澄清",
        "fallback": "未匹配",
        "crisis": "危机",
        "rates": "问题的处理情况",
        "rate": "类别",
        "share": "占比",
        "trend": "比上周",
        "chart": "每天的消息和用户",
        "day": "日期",
        "per_day": "每天（只列有消息的日子）",
        "topics": "各个话题",
        "topic": "话题",
        "answers": "回答",
        "clarifications": "澄清",
        "fallbacks": "未匹配",
        "helpful": "👍 有帮助",
        "unhelpful": "👎 没帮助",
        "unanswered": "未能回答的问题（已隐去个人信息），相似的归在一起",
        "asked": "次数",
        "examples": "问题",
        "guess": "机器人的最佳猜测",
        "none": "无",
        "by_channel": "按渠道",
        "by_locale": "按语言",
        "csv": "下载汇总数据（CSV，可以公开）",
        "crisis_note": "危机回复和安全确认：只计次数，从不保存说了什么。",
        "empty": "这段时间没有消息。",
        "public": "1 到 4 的数字显示为 <5。",
    },
}


def _words(locale: Locale) -> dict[str, str]:
    if locale == "zh-Hant":
        return {key: to_traditional(value) for key, value in _WORDS["zh-Hans"].items()}
    return _WORDS.get(locale, _WORDS["en"])


STYLE = """
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 1.5rem; color: #1a1a1a;
  background: #fff; line-height: 1.5; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
table { border-collapse: collapse; margin: 0.5rem 0; } caption { text-align: left; font-weight: 600; }
td, th { padding: 0.25rem 0.8rem; border-bottom: 1px solid #ccc; vertical-align: top; }
th { text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: #444; font-size: 0.9rem; } ul.q { margin: 0; padding-left: 1.1rem; }
svg { max-width: 100%; height: auto; } svg .bar, svg .key-bar { fill: #3a6fb0; }
svg .answered, svg .key-answered { fill: #237a46; }
svg .users { fill: none; stroke: #b35c00; stroke-width: 2; } svg .dot, svg .key-users { fill: #b35c00; }
svg .axis { stroke: #555; stroke-width: 1; } svg .grid { stroke: #ddd; stroke-width: 1; }
svg text { font-size: 11px; fill: #333; }
a { color: #0a4a82; }
"""


def render_html(
    report: StatsReport, locale: Locale = "en", *, public: bool = False, csv_href: str | None = None
) -> str:
    """One self-contained page (a style element, inline SVG, no scripts, no external resources); every text
    from the store or the content is escaped."""
    e = html.escape
    w = _words(locale)
    c = partial(count, public=public)
    rates = report.rates
    heading = w["days"].format(days=report.days, first=e(report.first_day), last=e(report.last_day))
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{e(locale)}"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(w['title'])}: {heading}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{e(w['title'])}: {heading}</h1>",
        "<table>",
        f'<tr><th>{e(w["messages"])}</th><td class="n">{c(report.messages)}</td></tr>',
        f'<tr><th>{e(w["questions"])}</th><td class="n">{c(report.questions)}</td></tr>',
        f'<tr><th>{e(w["user_days"])}</th><td class="n">{c(report.user_days)}</td></tr>',
        f'<tr><th>{e(w["crisis"])}</th><td class="n">{c(report.crisis)}</td></tr>',
        "</table>",
        f'<p class="note">{e(w["crisis_note"])}</p>',
    ]
    if public:
        parts.append(f'<p class="note">{e(w["public"])}</p>')
    if csv_href is not None:
        parts.append(f'<p><a href="{e(csv_href)}" download>{e(w["csv"])}</a></p>')
    parts.append(f"<h2>{e(w['rates'])}</h2>")
    parts.append(
        _table(
            (w["rate"], w["share"], w["trend"]),
            [
                (w[name], _share(getattr(rates, name), report.questions, public), _trend(report.weeks, name))
                for name in ("answered", "clarified", "fallback", "crisis")
            ],
        )
    )
    parts.append(f"<h2>{e(w['chart'])}</h2>")
    parts.append(_chart(report.daily, w))
    parts.append(f"<h2>{e(w['per_day'])}</h2>")
    if not report.messages:
        parts.append(f"<p>{e(w['empty'])}</p>")
    else:
        parts.append(
            _table(
                (w["day"], w["messages"], w["users"], w["answered"], w["clarified"], w["fallback"], w["crisis"]),
                [
                    (d.day, c(d.messages), c(d.users), c(d.answered), c(d.clarified), c(d.fallback), c(d.crisis))
                    for d in _active_days(report)
                ],
                numeric_from=1,
            )
        )
    parts.append(f"<h2>{e(w['topics'])}</h2>")
    parts.append(
        _table(
            (w["topic"], w["answers"], w["clarifications"], w["fallbacks"], w["helpful"], w["unhelpful"]),
            [
                (
                    report.title(row.intent, locale),
                    c(row.answers),
                    c(row.clarified),
                    c(row.fallback),
                    c(row.helpful),
                    c(row.unhelpful),
                )
                for row in report.topics
            ],
            numeric_from=1,
        )
    )
    for title, slices in ((w["by_channel"], report.by_channel), (w["by_locale"], report.by_locale)):
        parts.append(f"<h2>{e(title)}</h2>")
        parts.append(
            _table(
                ("", w["messages"], w["questions"], w["answered"], w["clarified"], w["fallback"], w["crisis"]),
                [
                    (
                        s.name,
                        c(s.messages),
                        c(s.questions),
                        _share(s.rates.answered, s.questions, public),
                        _share(s.rates.clarified, s.questions, public),
                        _share(s.rates.fallback, s.questions, public),
                        _share(s.rates.crisis, s.questions, public),
                    )
                    for s in slices
                ],
                numeric_from=1,
            )
        )
    if not public:  # what people wrote stays with the admins, even redacted
        parts.append(f"<h2>{e(w['unanswered'])}</h2>")
        if report.groups:
            rows = []
            for found in report.groups:
                items = "".join(f"<li>{e(item.name)} ({item.count})</li>" for item in found.questions[:8])
                guess = e(report.title(found.guess, locale)) if found.guess else e(w["none"])
                rows.append(
                    f'<tr><td class="n">{found.asked}</td><td><ul class="q">{items}</ul></td><td>{guess}</td></tr>'
                )
            parts.append(
                f"<table><tr><th>{e(w['asked'])}</th><th>{e(w['examples'])}</th><th>{e(w['guess'])}</th></tr>"
                + "".join(rows)
                + "</table>"
            )
        else:
            parts.append(
                _table(
                    (w["examples"], w["asked"]),
                    [(item.name, str(item.count)) for item in report.top_unanswered],
                    numeric_from=1,
                )
            )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]], numeric_from: int | None = None) -> str:
    e = html.escape
    out = ["<table>", "<tr>" + "".join(f"<th>{e(name)}</th>" for name in header) + "</tr>"]
    for row in rows:
        cells = "".join(
            f'<td class="n">{e(str(value))}</td>'
            if isinstance(value, int) or (numeric_from is not None and index >= numeric_from)
            else f"<td>{e(str(value))}</td>"
            for index, value in enumerate(row)
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


_CHART_HEIGHT = 160
_BAR = 18
_GAP = 4
_LEFT = 40  # room for the y axis labels
_TOP = 28  # room for the legend


def _axis(highest: int) -> tuple[int, int]:
    """The top of the y axis and its step: the smallest step of 1, 2 or 5 × 10^n that reaches `highest` in at
    most five steps, so every label is a round whole number (0, 2, 4 … 10; 0, 50 … 250)."""
    scale = 1
    while True:
        for step in (scale, 2 * scale, 5 * scale):
            steps = max(1, -(-highest // step))
            if steps <= 5:
                return steps * step, step
        scale *= 10


def _chart(daily: tuple[DayStats, ...], w: Mapping[str, str]) -> str:
    """A bar per day (all messages, the answered part drawn over it) and a line of users, with both axes and a
    legend; every day of the period has its place, so the time axis is true."""
    e = html.escape
    peak, step = _axis(max((max(day.messages, day.users) for day in daily), default=0))
    width = _LEFT + max(len(daily) * (_BAR + _GAP) + _GAP, 240)
    base = _TOP + _CHART_HEIGHT
    height = base + 22
    label = f"{w['chart']}: " + ", ".join(f"{d.day} {d.messages}/{d.users}" for d in daily if d.messages or d.users)
    out = [
        f'<svg role="img" aria-label="{e(label)}" width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
    ]
    for value in range(0, peak + 1, step):  # the y axis: whole numbers in steps of 1, 2 or 5 × 10^n
        y = base - round(value / peak * _CHART_HEIGHT)
        out.append(f'<line class="grid" x1="{_LEFT}" y1="{y}" x2="{width}" y2="{y}"/>')
        out.append(f'<text x="{_LEFT - 4}" y="{y + 4}" text-anchor="end">{value}</text>')
    out.append(f'<line class="axis" x1="{_LEFT}" y1="{_TOP}" x2="{_LEFT}" y2="{base}"/>')
    out.append(f'<line class="axis" x1="{_LEFT}" y1="{base}" x2="{width}" y2="{base}"/>')
    points = []
    for index, day in enumerate(daily):
        x = _LEFT + _GAP + index * (_BAR + _GAP)
        total = round(day.messages / peak * _CHART_HEIGHT)
        answered = round(day.answered / peak * _CHART_HEIGHT)
        out.append(
            f'<rect class="bar" data-day="{e(day.day)}" data-messages="{day.messages}" x="{x}" '
            f'y="{base - total}" width="{_BAR}" height="{total}">'
            f"<title>{e(day.day)}: {day.messages} {e(w['messages'])}, {day.answered} {e(w['answered'])}, "
            f"{day.users} {e(w['users'])}</title></rect>"
        )
        out.append(f'<rect class="answered" x="{x}" y="{base - answered}" width="{_BAR}" height="{answered}"/>')
        points.append((x + _BAR // 2, base - round(day.users / peak * _CHART_HEIGHT)))
    if points:
        out.append('<polyline class="users" points="' + " ".join(f"{x},{y}" for x, y in points) + '"/>')
        out.extend(f'<circle class="dot" cx="{x}" cy="{y}" r="2.5"/>' for x, y in points)
        out.append(f'<text x="{_LEFT + _GAP}" y="{height - 4}">{e(daily[0].day)}</text>')
        out.append(f'<text x="{width - _GAP}" y="{height - 4}" text-anchor="end">{e(daily[-1].day)}</text>')
    legend = (("key-bar", w["messages"]), ("key-answered", w["answered"]), ("key-users", w["users"]))
    x = _LEFT
    for css, text in legend:
        out.append(f'<rect class="{css}" x="{x}" y="6" width="12" height="12"/>')
        out.append(f'<text x="{x + 16}" y="16">{e(text)}</text>')
        x += 24 + 12 * max(len(text), 4)
    out.append("</svg>")
    return "\n".join(out)
