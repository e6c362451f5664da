"""Usage statistics: built from a real database filled by the real dialog, and `anxin stats`/`purge` as run."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import FIXTURES, anxin

from bot.dialog import Dialog
from bot.knowledge import KnowledgeBase, KnowledgeSource
from bot.models import Incoming
from bot.privacy import pseudonym
from bot.state import MemoryStore, Store
from bot.stats import StatsReport, collect, render_html, render_table, render_text
from bot.store import DAY, DB_FILE, SqliteStore, day_of

REPO = Path(__file__).parent.parent
SECRET = b"test-secret"
NOW = 1_780_000_000.0  # 2026-05-28 in China


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def converse(knowledge: KnowledgeSource, store: Store) -> None:
    """Three days of traffic: two Telegram users, one WeChat user, one console user."""
    clock = Clock(NOW - 2 * DAY)
    dialog = Dialog(knowledge, store, clock=clock)
    alice = pseudonym(SECRET, "telegram", 1)
    bob = pseudonym(SECRET, "telegram", 2)
    carol = pseudonym(SECRET, "wechat", "oAbC")
    await dialog.handle(Incoming("telegram", alice, "催收打给我妈合法吗"))  # answer, day 1
    await dialog.handle(Incoming("telegram", alice, "怎么投诉"))  # answer, day 1
    clock.now = NOW
    await dialog.handle(Incoming("telegram", bob, "collectors called my parents"))  # answer, en
    await dialog.handle(Incoming("telegram", bob, "asdkjqwe zzz"))  # fallback, en
    await dialog.handle(Incoming("wechat", carol, "<script>alert(1)</script> 明天天气怎么样 13812345678"))  # fallback
    await dialog.handle(Incoming("wechat", carol, "我想死"))  # crisis (what follows it is care mode)
    await dialog.handle(Incoming("wechat", carol, "/start"))  # a command: a message, not a question


@pytest.fixture
async def filled(knowledge: KnowledgeSource, data_dir: Path) -> AsyncIterator[SqliteStore]:
    store = await SqliteStore.open(data_dir / DB_FILE)
    await converse(knowledge, store)
    yield store
    await store.close()


async def test_report_counts_messages_users_and_rates(filled: SqliteStore) -> None:
    report = await collect(filled, 3, now=NOW)
    assert report.messages == 7
    assert report.questions == 6
    assert [(day.day, day.messages, day.users) for day in report.daily] == [
        (day_of(NOW - 2 * DAY), 2, 1),
        (day_of(NOW - DAY), 0, 0),
        (day_of(NOW), 5, 2),
    ]
    assert report.rates.answered == pytest.approx(3 / 6)
    assert report.rates.fallback == pytest.approx(2 / 6)
    assert report.rates.crisis == pytest.approx(1 / 6)
    assert report.top_intents[0].name in ("legal.contact_contacts", "report.regulator")
    assert {item.name for item in report.top_intents} >= {"legal.contact_contacts", "report.regulator"}


async def test_report_splits_by_channel_and_locale(filled: SqliteStore) -> None:
    report = await collect(filled, 3, now=NOW)
    channels = {part.name: part for part in report.by_channel}
    assert (channels["telegram"].messages, channels["telegram"].users) == (4, 2)
    assert (channels["wechat"].messages, channels["wechat"].questions) == (3, 2)
    assert channels["wechat"].rates.crisis == pytest.approx(0.5)
    locales = {part.name: part.messages for part in report.by_locale}
    assert locales == {"zh-Hans": 5, "en": 2}
    assert [item.name for item in channels["telegram"].top_unanswered] == ["asdkjqwe zzz"]


async def test_unanswered_questions_are_listed_redacted(filled: SqliteStore) -> None:
    report = await collect(filled, 3, now=NOW)
    texts = [item.name for item in report.top_unanswered]
    assert "asdkjqwe zzz" in texts
    assert any("[手机号]" in text for text in texts)
    assert not any("13812345678" in text for text in texts)


async def test_days_limit_the_window(filled: SqliteStore) -> None:
    report = await collect(filled, 1, now=NOW)
    assert len(report.daily) == 1
    assert report.messages == 5


async def test_memory_store_gives_the_same_report(knowledge: KnowledgeSource, filled: SqliteStore) -> None:
    memory = MemoryStore()
    await converse(knowledge, memory)
    assert await collect(memory, 3, now=NOW) == await collect(filled, 3, now=NOW)


async def test_json_has_the_admin_fields(filled: SqliteStore) -> None:
    data = json.loads(json.dumps((await collect(filled, 3, now=NOW)).as_json()))
    assert data["messages"] == 7
    assert set(data["rates"]) == {"answered", "clarified", "fallback", "crisis"}
    assert len(data["daily"]) == 3
    assert {part["name"] for part in data["by_channel"]} == {"telegram", "wechat"}
    assert data["top_unanswered"][0].keys() == {"name", "count"}


async def test_text_summary_fits_a_chat_message_in_the_admins_language(filled: SqliteStore) -> None:
    report = await collect(filled, 3, now=NOW)
    chinese = render_text(report, "zh-Hans")
    assert "消息 7 条" in chinese
    assert "已回答 50%" in chinese
    assert "訊息 7 則" in render_text(report, "zh-Hant")
    english = render_text(report, "en")
    assert "7 messages" in english
    assert len(chinese) < 4096  # one Telegram message
    assert "2026" in render_table(report)


class _Page(HTMLParser):
    """Collects what matters for a self-contained page: tags, bars, every attribute value, text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.bars: list[dict[str, str | None]] = []
        self.attribute_values: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        self.attribute_values.extend(value for value in found.values() if value)
        if tag == "rect" and found.get("class") == "bar":
            self.bars.append(found)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_html_page_is_self_contained_with_one_bar_per_day(filled: SqliteStore) -> None:
    report: StatsReport = await collect(filled, 14, now=NOW)
    page = render_html(report)
    parsed = _Page()
    parsed.feed(page)
    parsed.close()

    assert page.startswith("<!DOCTYPE html>")
    assert parsed.tags.count("svg") == 1
    assert [bar["data-day"] for bar in parsed.bars] == [day.day for day in report.daily]
    assert len(parsed.bars) == 14
    assert [int(bar["data-messages"] or 0) for bar in parsed.bars][-3:] == [2, 0, 5]
    # Nothing is fetched from anywhere: no scripts, stylesheets, images or frames, no URLs at all.
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parsed.tags)
    assert not [value for value in parsed.attribute_values if "//" in value or value.startswith("http")]
    assert "http" not in page
    # A user's "<script>" arrives as text, escaped.
    assert any("<script>alert(1)</script>" in text for text in parsed.text)


async def test_html_page_for_an_empty_period_still_has_a_chart() -> None:
    report = await collect(MemoryStore(), 7, now=NOW)
    parsed = _Page()
    parsed.feed(render_html(report))
    assert len(parsed.bars) == 7


async def test_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="days"):
        await collect(MemoryStore(), 0)


def test_stats_command_prints_json_and_writes_html(kb_dir: Path, data_dir: Path) -> None:
    chat = anxin("chat", "--store", kb_dir=kb_dir, data_dir=data_dir, stdin="催收打给我妈合法吗\nasdkjqwe zzz\n")
    assert chat.returncode == 0, chat.stderr
    page = data_dir / "stats.html"
    result = anxin("stats", "--days", "7", "--json", "--html", str(page), kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["messages"] == 2
    assert data["kinds"] == {"answer": 1, "fallback": 1}
    assert page.read_text(encoding="utf-8").count('class="bar"') == 7
    table = anxin("stats", kb_dir=kb_dir, data_dir=data_dir)
    assert table.returncode == 0, table.stderr
    assert "2 messages" in table.stdout


def test_stats_command_errors_are_one_line_with_exit_2(kb_dir: Path, data_dir: Path) -> None:
    missing = anxin("stats", kb_dir=kb_dir, data_dir=data_dir / "nowhere")
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1
    assert "no database" in missing.stderr
    zero = anxin("stats", "--days", "0", kb_dir=kb_dir, data_dir=data_dir)
    assert zero.returncode == 2
    assert "--days" in zero.stderr


def test_purge_command_applies_retention(kb_dir: Path, data_dir: Path) -> None:
    chat = anxin("chat", "--store", kb_dir=kb_dir, data_dir=data_dir, stdin="asdkjqwe zzz\n")
    assert chat.returncode == 0, chat.stderr
    conn = sqlite3.connect(data_dir / DB_FILE)
    try:
        with conn:  # make everything look two years old
            conn.execute("UPDATE sessions SET updated_at = updated_at - 730 * 86400")
            conn.execute("UPDATE unanswered SET at = at - 730 * 86400, day = '2024-01-01'")
            conn.execute("UPDATE events SET day = '2024-01-01'")
    finally:
        conn.close()
    result = anxin("purge", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ("purged: 1 idle session(s), 1 per-user event link(s), 1 unanswered question(s)")


async def test_the_table_lists_active_days_oldest_first_with_titles_and_public_counts(kb: KnowledgeBase) -> None:
    store = MemoryStore()
    clock = [NOW - 5 * DAY]
    dialog = Dialog(KnowledgeSource(FIXTURES / "kb"), store, clock=lambda: clock[0])
    for user in "abcdef":
        await dialog.handle(Incoming("web", user, "催收打电话给我妈妈合法吗"))
    clock[0] = NOW
    await dialog.handle(Incoming("web", "g", "催收打电话给我妈妈合法吗"))
    report = await collect(store, 30, now=NOW, kb=kb)
    table = render_table(report)
    days = re.findall(r"^(\d{4}-\d\d-\d\d) ", table, re.MULTILINE)
    assert days == sorted(days) and len(days) == 2  # two days with messages, not thirty rows
    assert "Can collectors call my family?" in table and "legal.contact_contacts" not in table
    public = render_table(report, public=True)
    assert re.search(r"^\d{4}-\d\d-\d\d +6 ", public, re.MULTILINE)  # six stays six
    assert re.search(r"^\d{4}-\d\d-\d\d +<5 ", public, re.MULTILINE)  # one becomes <5
    assert "unanswered" not in public
    page = render_html(report, public=True)
    html_days = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td>", page)
    assert html_days == sorted(html_days) and len(html_days) == 2


def test_stats_public_and_csv_from_the_command_line(kb_dir: Path, data_dir: Path) -> None:
    chat = anxin("chat", "--store", kb_dir=kb_dir, data_dir=data_dir, stdin="催收打给我妈合法吗\nasdkjqwe zzz\n")
    assert chat.returncode == 0, chat.stderr
    sheet = data_dir / "stats.csv"
    public = anxin("stats", "--public", "--csv", str(sheet), kb_dir=kb_dir, data_dir=data_dir)
    assert public.returncode == 0, public.stderr
    assert "<5 messages" in public.stdout and "2 messages" not in public.stdout
    assert "asdkjqwe" not in public.stdout
    text = sheet.read_text(encoding="utf-8")
    assert text.startswith("section,day,intent,title,messages")
    assert ",<5," in text and "asdkjqwe" not in text
    both = anxin("stats", "--public", "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert both.returncode == 2 and both.stderr.count("\n") == 1


def test_out_of_scope_intents_without_a_title_say_so_in_words(kb: KnowledgeBase) -> None:
    from bot.stats import _title

    assert kb.title("oos.chitchat", "en") == "oos.chitchat"  # no title in the content
    assert _title(kb, "oos.chitchat", "en") == "out of scope: chitchat"
    assert _title(kb, "oos.chitchat", "zh-Hans") == "不在服务范围：chitchat"
    assert _title(kb, "legal.contact_contacts", "en") == "Can collectors call my family?"


def test_rates_are_compared_with_the_week_before() -> None:
    from bot.stats import build_report
    from bot.usage import EventCount, UsageSnapshot

    def row(day: str, kind: str, count: int) -> EventCount:
        return EventCount(day, "web", "zh-Hans", kind, "legal.contact_contacts", count)

    # The week before: 1 answer in 4 questions (25%); this week: 3 in 4 (75%).
    events = (
        row("2026-05-15", "answer", 1),
        row("2026-05-15", "fallback", 3),
        row("2026-05-25", "answer", 3),
        row("2026-05-26", "fallback", 1),
    )
    report = build_report(UsageSnapshot(events, (), ()), 14, "2026-05-15", "2026-05-28")
    assert report.weeks is not None
    before, now = report.weeks
    assert (before.first_day, before.last_day, now.first_day, now.last_day) == (
        "2026-05-15",
        "2026-05-21",
        "2026-05-22",
        "2026-05-28",
    )
    assert (before.questions, now.questions) == (4, 4)
    table = render_table(report)
    assert re.search(r"^answered +50% +\+50 pt$", table, re.MULTILINE)  # 4 of 8 over the fortnight
    assert re.search(r"^fallback +50% +−50 pt$", table, re.MULTILINE)
    page = render_html(report)
    assert "<td>+50 pt</td>" in page


@pytest.mark.parametrize("highest", [0, 1, 3, 6, 10, 11, 37, 99, 250, 1234, 99_999])
def test_the_chart_axis_counts_in_round_whole_steps_up_to_the_highest_day(highest: int) -> None:
    from bot.stats import _axis

    top, step = _axis(highest)
    assert top >= max(highest, 1) and top % step == 0 and 1 <= top // step <= 5
    assert str(step).rstrip("0") in ("1", "2", "5")  # 1, 2 or 5 × 10^n
    assert top - step < highest or highest == 0  # and no higher than it needs to be
