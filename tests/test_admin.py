"""The admin dashboard over real HTTP on 127.0.0.1: there only with BOT_ADMIN_TOKEN, the token checked, the page
escaped, titles instead of ids, and a CSV that is safe to publish."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import csv
import io
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bot_process import free_port
from conftest import FIXTURES

from bot.admin import AdminPage
from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.models import Incoming
from bot.runner import Services, configured_channels
from bot.settings import Secret, Settings, SettingsError
from bot.store import DB_FILE, SqliteStore
from bot.web import Bucket, build_app, serve

TOKEN = "admin-token-for-tests-0123456789"
ATTACK = "<script>alert('x')</script> 为什么 qwxz"


@dataclass
class Admin:
    url: str
    client: httpx.AsyncClient

    async def get(self, path: str = "/admin", **headers: str) -> httpx.Response:
        return await self.client.get(f"{self.url}{path}", headers=headers)


async def _seed(dialog: Dialog) -> None:
    for user in ("a", "b", "c", "d", "e", "f"):
        await dialog.handle(Incoming("web", user, "催收打电话给我妈妈合法吗"))
    await dialog.handle(Incoming("web", "a", "👍"))
    await dialog.handle(Incoming("web", "g", ATTACK))
    await dialog.handle(Incoming("web", "g", "12"))  # a bare number: not a question
    await dialog.handle(Incoming("web", "h", "我想自杀"))


@contextlib.asynccontextmanager
async def dashboard(tmp_path: Path, settings: Settings | None = None, **options: object) -> AsyncIterator[Admin]:
    knowledge = KnowledgeSource(FIXTURES / "kb")
    store = await SqliteStore.open(tmp_path / DB_FILE)
    settings = settings or Settings(content_dir=knowledge.root, admin_token=Secret(TOKEN))
    services = Services(settings, knowledge, store, Dialog(knowledge, store), b"admin-test-secret")
    await _seed(services.dialog)
    pages = [channel for channel in configured_channels(services) if channel.name == "admin"]
    if options:
        pages = [AdminPage(Secret(TOKEN), store, knowledge, **options)]  # type: ignore[arg-type]
    routes = [route for page in pages for route in page.routes()]
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(build_app(routes), "127.0.0.1", port, stop))
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=20) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.02)
            yield Admin(f"http://127.0.0.1:{port}", client)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await store.close()


def basic(password: str, user: str = "admin") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def test_without_the_setting_there_is_no_dashboard(tmp_path: Path) -> None:
    knowledge_root = str(FIXTURES / "kb")
    async with dashboard(tmp_path, Settings(content_dir=Path(knowledge_root))) as admin:
        assert (await admin.get()).status_code == 404
        assert (await admin.get(authorization=f"Bearer {TOKEN}")).status_code == 404
        assert (await admin.get("/admin.csv")).status_code == 404


async def test_no_token_or_a_wrong_one_is_401_and_the_token_is_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with dashboard(tmp_path) as admin:
        missing = await admin.get()
        wrong = await admin.get(authorization="Bearer not-the-token-at-all-0000")
        wrong_basic = await admin.get(authorization=basic(TOKEN[:-1]))
        garbage = await admin.get(authorization="Basic !!!notbase64")
        right_bearer = await admin.get(authorization=f"Bearer {TOKEN}")
        right_basic = await admin.get(authorization=basic(TOKEN))
        csv_missing = await admin.get("/admin.csv")
    assert missing.status_code == wrong.status_code == wrong_basic.status_code == garbage.status_code == 401
    assert csv_missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Basic ")
    assert TOKEN not in missing.text
    assert right_bearer.status_code == right_basic.status_code == 200
    assert TOKEN not in caplog.text


async def test_an_address_that_keeps_guessing_gets_429(tmp_path: Path) -> None:
    async with dashboard(tmp_path, guesses=Bucket(burst=3, per_second=0.01)) as admin:
        statuses = [(await admin.get(authorization=f"Bearer wrong-{n}")).status_code for n in range(5)]
        last = await admin.get(authorization="Bearer wrong-again")
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429]
    assert int(last.headers["retry-after"]) >= 1


async def test_the_page_shows_titles_trends_groups_and_crisis_counts_and_escapes_every_text(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as admin:
        page = await admin.get("/admin?lang=en", authorization=f"Bearer {TOKEN}")
        chinese = await admin.get("/admin", authorization=f"Bearer {TOKEN}", **{"accept-language": "zh-CN,zh"})
    assert page.status_code == 200
    html = page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy
    assert "set-cookie" not in page.headers
    # The script in an unanswered question is text, not a tag.
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    # Titles, not ids; the ratings per topic; a chart with axes and a legend; week over week.
    assert "Can collectors call my family?" in html
    assert "legal.contact_contacts" not in html
    row = re.search(r"<tr><td>Can collectors call my family\?</td>(.*?)</tr>", html)
    assert row is not None
    assert re.findall(r'<td class="n">([^<]*)</td>', row.group(1)) == ["6", "0", "0", "1", "0"]
    assert html.count("<svg") == 1 and 'class="axis"' in html and 'class="key-bar"' in html
    assert "week over week" in html
    assert "Crisis replies and safety check-ins: counts only" in html
    assert "我想自杀" not in html  # crisis: counts only
    assert "(1)</li>" in html and ">12 (" not in html  # bare numbers are left out
    assert 'href="admin.csv?days=30"' in html
    assert "每天的消息和用户" in chinese.text


async def test_the_csv_has_the_aggregates_with_small_counts_hidden(tmp_path: Path) -> None:
    async with dashboard(tmp_path) as admin:
        response = await admin.get("/admin.csv?days=7&lang=zh-Hans", authorization=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    topic = next(row for row in rows if row["section"] == "topic" and row["intent"] == "legal.contact_contacts")
    assert topic["title"] == "催收打给家人朋友合法吗"
    assert topic["answered"] == "6"
    assert topic["helpful"] == "<5"  # one person: not to be published as "1"
    assert "<script" not in response.text and "qwxz" not in response.text  # no question texts at all
    day = next(row for row in rows if row["section"] == "day")
    assert day["crisis"] == "<5"


def test_a_short_admin_token_is_refused_at_start() -> None:
    with pytest.raises(SettingsError, match="BOT_ADMIN_TOKEN"):
        Settings.from_env({"BOT_ADMIN_TOKEN": "short"})
