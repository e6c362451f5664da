"""Usage statistics for admins: `anxin stats`, the Telegram `/stats` command and a self-contained HTML page.

`collect()` reads aggregated rows from a store (no user keys, no text except redacted unanswered questions)
and builds a `StatsReport`; `render_text()`, `render_table()` and `render_html()` present it.
Rates are shares of *questions* (messages decided on: answer, clarify, fallback, crisis or a concern check-in,
the last two shown together as "crisis");
commands, button presses that open menus and media count as messages but not as questions.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from .models import Locale
from .redaction import strip_bidi
from .state import Store
from .usage import DAY, EventCount, UnansweredCount, UsageSnapshot, day_of

DECISIONS = ("answer", "clarify", "fallback", "crisis", "concern")
TOP = 10
SLICE_TOP = 5


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
        }


async def collect(store: Store, days: int, *, now: float | None = None) -> StatsReport:
    """Statistics for the last `days` days (today included, China time) from any store."""
    if days < 1:
        raise ValueError("days must be 1 or more")
    now = time.time() if now is None else now
    first_day = day_of(now - (days - 1) * DAY)
    snapshot = await store.usage(first_day)
    return build_report(snapshot, days, first_day, day_of(now))


def build_report(snapshot: UsageSnapshot, days: int, first_day: str, last_day: str) -> StatsReport:
    """The pure part of `collect`: aggregate rows into a report."""
    start = date.fromisoformat(first_day)
    day_names = [(start + timedelta(days=offset)).isoformat() for offset in range(days)]
    events = [event for event in snapshot.events if first_day <= event.day <= last_day]
    users = [row for row in snapshot.users if first_day <= row.day <= last_day]
    unanswered = list(snapshot.unanswered)

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
    )


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
        lines.extend(f"  {item.name} ({item.count})" for item in report.top_intents[:5])
    if report.top_unanswered:
        lines.append(words["unanswered"])
        lines.extend(f"  {_shorten(item.name, 60)} ({item.count})" for item in report.top_unanswered[:5])
    return "\n".join(lines)


def render_table(report: StatsReport) -> str:
    """The console view of `anxin stats`."""
    lines = [render_text(report, "en"), "", "day         messages  users  answered  clarified  fallback  crisis"]
    for day in report.daily:
        lines.append(
            f"{day.day}  {day.messages:8}  {day.users:5}  {day.answered:8}  {day.clarified:9}  "
            f"{day.fallback:8}  {day.crisis:6}"
        )
    for title, parts in (("channel", report.by_channel), ("locale", report.by_locale)):
        lines.append("")
        lines.append(f"{title:10}  messages  answered  clarified  fallback  crisis")
        for part in parts:
            rates = part.rates
            lines.append(
                f"{part.name:10}  {part.messages:8}  {_percent(rates.answered):>8}  {_percent(rates.clarified):>9}  "
                f"{_percent(rates.fallback):>8}  {_percent(rates.crisis):>6}"
            )
    return "\n".join(lines)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_CHART_HEIGHT = 160
_BAR = 18
_GAP = 4
_STYLE = """
body { font-family: system-ui, "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; }
th { text-align: left; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
svg .bar { fill: #3a7bd5; } svg .answered { fill: #2e9e5b; } svg text { font-size: 10px; fill: #555; }
"""


def render_html(report: StatsReport) -> str:
    """One self-contained page (inline CSS and SVG, no scripts, no external resources)."""
    e = html.escape
    rates = report.rates
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-Hans"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>安心 Anxin usage {e(report.first_day)} – {e(report.last_day)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>安心 Anxin: {report.days} days, {e(report.first_day)} – {e(report.last_day)}</h1>",
        "<table>",
        f'<tr><th>messages</th><td class="n">{report.messages}</td></tr>',
        f'<tr><th>questions</th><td class="n">{report.questions}</td></tr>',
        f'<tr><th>user-days</th><td class="n">{report.user_days}</td></tr>',
        f'<tr><th>answered</th><td class="n">{_percent(rates.answered)}</td></tr>',
        f'<tr><th>clarified</th><td class="n">{_percent(rates.clarified)}</td></tr>',
        f'<tr><th>fallback</th><td class="n">{_percent(rates.fallback)}</td></tr>',
        f'<tr><th>crisis</th><td class="n">{_percent(rates.crisis)}</td></tr>',
        "</table>",
        "<h2>Messages per day (green: answered)</h2>",
        _chart(report.daily),
        "<h2>Per day</h2>",
        _table(
            ("day", "messages", "users", "answered", "clarified", "fallback", "crisis"),
            [
                (d.day, d.messages, d.users, d.answered, d.clarified, d.fallback, d.crisis)
                for d in reversed(report.daily)
            ],
        ),
    ]
    for title, slices in (("By channel", report.by_channel), ("By locale", report.by_locale)):
        parts.append(f"<h2>{title}</h2>")
        parts.append(
            _table(
                ("", "messages", "questions", "answered", "clarified", "fallback", "crisis"),
                [
                    (
                        s.name,
                        s.messages,
                        s.questions,
                        _percent(s.rates.answered),
                        _percent(s.rates.clarified),
                        _percent(s.rates.fallback),
                        _percent(s.rates.crisis),
                    )
                    for s in slices
                ],
            )
        )
    parts.append("<h2>Top intents</h2>")
    parts.append(_table(("intent", "answers"), [(item.name, item.count) for item in report.top_intents]))
    parts.append("<h2>Top unanswered questions (redacted)</h2>")
    parts.append(_table(("question", "times"), [(item.name, item.count) for item in report.top_unanswered]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _table(header: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    e = html.escape
    out = ["<table>", "<tr>" + "".join(f"<th>{e(name)}</th>" for name in header) + "</tr>"]
    for row in rows:
        cells = "".join(
            f'<td class="n">{value}</td>' if isinstance(value, int) else f"<td>{e(str(value))}</td>" for value in row
        )
        out.append(f"<tr>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _chart(daily: tuple[DayStats, ...]) -> str:
    """A bar per day: total messages, with the answered part drawn over it."""
    peak = max((day.messages for day in daily), default=0) or 1
    width = max(len(daily) * (_BAR + _GAP) + _GAP, 240)  # room for the two date labels
    height = _CHART_HEIGHT + 20
    out = [
        f'<svg role="img" aria-label="messages per day" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
    ]
    for index, day in enumerate(daily):
        x = _GAP + index * (_BAR + _GAP)
        total = round(day.messages / peak * _CHART_HEIGHT)
        answered = round(day.answered / peak * _CHART_HEIGHT)
        out.append(
            f'<rect class="bar" data-day="{day.day}" data-messages="{day.messages}" x="{x}" '
            f'y="{_CHART_HEIGHT - total}" width="{_BAR}" height="{total}">'
            f"<title>{day.day}: {day.messages} messages, {day.answered} answered</title></rect>"
        )
        out.append(
            f'<rect class="answered" x="{x}" y="{_CHART_HEIGHT - answered}" width="{_BAR}" height="{answered}"/>'
        )
    if daily:
        out.append(f'<text x="{_GAP}" y="{height - 4}">{daily[0].day}</text>')
        out.append(f'<text x="{width - _GAP}" y="{height - 4}" text-anchor="end">{daily[-1].day}</text>')
    out.append("</svg>")
    return "\n".join(out)
