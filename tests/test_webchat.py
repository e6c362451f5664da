"""The web chat over real HTTP on 127.0.0.1: the page and its headers, the JSON API through the conversation core,
the abuse limits, and what reaches the database (the raw bytes of the SQLite file)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from bot_process import bot_environment, free_port, running_bot
from conftest import FIXTURES, REPO, seed_bundled_cache

from bot.channels.webchat import MAX_BODY_BYTES, Bucket, WebChatChannel, WebChatConfig, parts
from bot.dialog import Dialog
from bot.knowledge import CACHE_DIR, KnowledgeSource
from bot.privacy import pseudonym
from bot.runner import Services
from bot.settings import Settings, SettingsError
from bot.store import DB_FILE, SqliteStore
from bot.web import build_app, serve

SECRET = b"webchat-test-secret-0123456789"
QUESTION = "催收打电话给我妈妈合法吗"
CRISIS = "我想自杀"
ROOMY = Bucket(burst=1000, per_second=1000)


def new_id() -> str:
    return secrets.token_hex(16)


@dataclass
class Chat:
    url: str
    client: httpx.AsyncClient
    store: SqliteStore
    data_dir: Path

    async def post(self, payload: object, **headers: str) -> httpx.Response:
        return await self.client.post(f"{self.url}/api/chat", json=payload, headers=headers)

    async def say(self, user: str, text: str) -> list[dict[str, object]]:
        response = await self.post({"id": user, "text": text})
        assert response.status_code == 200, response.text
        replies: list[dict[str, object]] = response.json()["replies"]
        return replies


@contextlib.asynccontextmanager
async def web_chat(
    tmp_path: Path,
    *,
    origins: tuple[str, ...] = (),
    id_limit: Bucket = ROOMY,
    address_limit: Bucket = ROOMY,
    content: Path = FIXTURES / "kb",
) -> AsyncIterator[Chat]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(exist_ok=True)
    if content == REPO:
        # The bundled net's weights as a first start keeps them, read instead of trained again (conftest).
        seed_bundled_cache(data_dir)
        knowledge = KnowledgeSource(content, cache_dir=data_dir / CACHE_DIR)
    else:
        knowledge = KnowledgeSource(content)
    store = await SqliteStore.open(data_dir / DB_FILE)
    settings = Settings(content_dir=knowledge.root, data_dir=data_dir, web_origins=origins)
    services = Services(settings, knowledge, store, Dialog(knowledge, store), SECRET)
    channel = WebChatChannel(
        WebChatConfig.from_settings(settings),
        services.conversation,
        SECRET,
        id_limit=id_limit,
        address_limit=address_limit,
    )
    port = free_port()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(build_app(channel.routes()), "127.0.0.1", port, stop))
    try:
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            for _ in range(200):
                with contextlib.suppress(httpx.TransportError):
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.02)
            yield Chat(f"http://127.0.0.1:{port}", client, store, data_dir)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await store.close()


def labels(replies: list[dict[str, object]]) -> list[str]:
    return [str(button["label"]) for reply in replies for button in reply["buttons"]]  # type: ignore[attr-defined]


# --- the page ------------------------------------------------------------------------------------------------


async def test_the_page_script_and_style_are_same_origin_under_a_strict_policy_without_cookies(tmp_path: Path) -> None:
    async with web_chat(tmp_path) as chat:
        page = await chat.client.get(f"{chat.url}/chat")
        script = await chat.client.get(f"{chat.url}/chat/chat.js")
        style = await chat.client.get(f"{chat.url}/chat/chat.css")
        api = await chat.post({"id": new_id(), "text": "/start"})
    assert page.status_code == script.status_code == style.status_code == api.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert script.headers["content-type"].startswith("text/javascript")
    assert style.headers["content-type"].startswith("text/css")
    policy = page.headers["content-security-policy"]
    for directive in (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ):
        assert directive in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert page.headers["x-frame-options"] == "DENY"
    for response in (page, script, style, api):
        assert "set-cookie" not in response.headers
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    # Nothing inline and nothing from another site: every script and style is one of the two files.
    html = page.text
    assert "<style" not in html and "style=" not in html
    assert re.findall(r"<script[^>]*>", html) == ['<script src="chat/chat.js" defer>']
    assert not re.search(r"\son[a-z]+=", html)
    assert "http://" not in html and "https://" not in html
    assert "http://" not in script.text and "https://" not in script.text
    assert "innerHTML" not in script.text and "insertAdjacentHTML" not in script.text
    assert "document.write" not in script.text and "eval(" not in script.text
    # Labels for every control.
    for control in ("lang", "message"):
        assert f'<label for="{control}"' in html


async def test_embedding_origins_from_the_setting_become_frame_ancestors(tmp_path: Path) -> None:
    origins = Settings.from_env({"BOT_WEB_ORIGINS": "https://ngo.example.org, https://help.example.com:8443/"})
    assert origins.web_origins == ("https://ngo.example.org", "https://help.example.com:8443")
    async with web_chat(tmp_path, origins=origins.web_origins) as chat:
        page = await chat.client.get(f"{chat.url}/chat")
    assert (
        "frame-ancestors https://ngo.example.org https://help.example.com:8443"
        in page.headers["content-security-policy"]
    )
    assert "x-frame-options" not in page.headers  # it cannot name two origins; frame-ancestors does


@pytest.mark.parametrize("value", ["https://x.org/path", "javascript:alert(1)", "https://a.org; script-src *"])
def test_an_origin_that_is_not_one_is_refused_at_start(value: str) -> None:
    with pytest.raises(SettingsError, match="BOT_WEB_ORIGINS"):
        Settings.from_env({"BOT_WEB_ORIGINS": value})


# --- the conversation ----------------------------------------------------------------------------------------


async def test_a_question_gets_the_answer_and_its_buttons_lead_on(tmp_path: Path) -> None:
    user = new_id()
    async with web_chat(tmp_path) as chat:
        welcome = await chat.say(user, "/start")
        answer = await chat.say(user, QUESTION)
        button = answer[-1]["buttons"][0]  # type: ignore[index]
        pressed = await chat.post({"id": user, "action": button["action"]})
        typed = await chat.say(user, "1")  # the first option of the last turn, as on WeChat
    assert welcome and labels(welcome)  # the topic menu
    assert "催收" in str(answer[0]["text"])
    assert labels(answer)
    assert pressed.status_code == 200 and pressed.json()["replies"][0]["text"]
    assert typed[0]["text"]
    assert pressed.json()["replies"][0]["text"] != answer[0]["text"]


async def test_a_crisis_reply_carries_its_hotline_numbers_as_tel_links(tmp_path: Path) -> None:
    async with web_chat(tmp_path) as chat:
        replies = await chat.say(new_id(), CRISIS)
    links = [part for reply in replies for part in reply["parts"] if "tel" in part]  # type: ignore[attr-defined]
    assert links, replies
    for link in links:
        assert re.fullmatch(r"[0-9]{3,15}", link["tel"])
        assert re.sub(r"[^0-9]", "", link["text"]) == link["tel"]
    # The parts are the text, cut: nothing added, nothing lost.
    for reply in replies:
        assert "".join(part["text"] for part in reply["parts"]) == reply["text"]  # type: ignore[attr-defined]


def test_only_whole_hotline_numbers_become_links() -> None:
    found = parts("打 110 或 400-161-9995；第110条；1100 元；2110", ("400-161-9995", "110"))
    assert [part["tel"] for part in found if "tel" in part] == ["110", "4001619995"]
    assert "".join(part["text"] for part in found) == "打 110 或 400-161-9995；第110条；1100 元；2110"


async def test_markup_in_a_message_comes_back_as_text_never_as_markup(tmp_path: Path) -> None:
    attack = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    async with web_chat(tmp_path) as chat:
        response = await chat.post({"id": new_id(), "text": attack})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert "<script>" not in response.text and "<img" not in response.text  # not echoed as markup
    assert "text/html" not in response.headers["content-type"]


async def test_forget_deletes_everything_of_that_person_and_nobody_else(tmp_path: Path) -> None:
    leaving, staying = new_id(), new_id()
    async with web_chat(tmp_path) as chat:
        for user in (leaving, staying):
            await chat.say(user, QUESTION)
            await chat.say(user, "完全无关的东西 qwxz")  # kept as an unanswered question
        key = pseudonym(SECRET, "web", leaving)
        assert await chat.store.get_session(key) is not None
        done = await chat.say(leaving, "/forget")
        assert await chat.store.get_session(key) is None
        assert await chat.store.get_session(pseudonym(SECRET, "web", staying)) is not None
        assert "删除" in str(done[0]["text"])
        rows = await chat.store.usage("2000-01-01")
    assert rows.events  # the other person's counts stay


async def test_no_raw_id_and_no_crisis_text_reach_the_database(tmp_path: Path) -> None:
    user = new_id()
    async with web_chat(tmp_path) as chat:
        await chat.say(user, QUESTION)
        await chat.say(user, CRISIS)
        await chat.say(user, "我的电话 13812345678 qwxz")
        files = {file.name: file.read_bytes() for file in chat.data_dir.glob(DB_FILE + "*")}
    assert files
    for name, content in files.items():
        assert user.encode() not in content, name
        assert f"web:{user}".encode() not in content, name
        assert CRISIS.encode() not in content, name
        assert b"13812345678" not in content, name
    assert any(pseudonym(SECRET, "web", user).encode() in content for content in files.values())


# --- limits ---------------------------------------------------------------------------------------------------


async def test_a_body_over_4_kb_is_413_and_nothing_is_read_into_the_dialog(tmp_path: Path) -> None:
    user = new_id()
    async with web_chat(tmp_path) as chat:
        big = await chat.post({"id": user, "text": "催" * MAX_BODY_BYTES})
        session = await chat.store.get_session(pseudonym(SECRET, "web", user))
    assert big.status_code == 413
    assert "error" in big.json()
    assert session is None


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ({"text": "hi"}, "application/json"),  # no id
        ({"id": "short", "text": "hi"}, "application/json"),
        ({"id": "a" * 20, "text": 5}, "application/json"),
        ({"id": "a" * 20, "text": "hi", "action": "a:x"}, "application/json"),
        (["not", "an", "object"], "application/json"),
        ({"id": "a" * 20, "text": "hi"}, "text/plain"),  # another site's form cannot post here without CORS
    ],
)
async def test_malformed_requests_get_a_clear_error(tmp_path: Path, payload: object, content_type: str) -> None:
    async with web_chat(tmp_path) as chat:
        response = await chat.client.post(
            f"{chat.url}/api/chat", content=json.dumps(payload), headers={"content-type": content_type}
        )
    assert response.status_code in (400, 415)
    assert response.json()["error"]


async def test_one_id_sending_too_fast_gets_429_with_retry_after(tmp_path: Path) -> None:
    user, other = new_id(), new_id()
    async with web_chat(tmp_path, id_limit=Bucket(burst=3, per_second=0.2)) as chat:
        statuses = [(await chat.post({"id": user, "text": "/help"})).status_code for _ in range(3)]
        refused = await chat.post({"id": user, "text": "/help"})
        someone_else = await chat.post({"id": other, "text": "/help"})
    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert someone_else.status_code == 200  # one person's flood is theirs alone


async def test_one_address_flooding_with_fresh_ids_gets_429(tmp_path: Path) -> None:
    async with web_chat(tmp_path, address_limit=Bucket(burst=5, per_second=0.1)) as chat:
        statuses = [(await chat.post({"id": new_id(), "text": "/help"})).status_code for _ in range(8)]
        last = await chat.post({"id": new_id(), "text": "/help"})
    assert statuses[:5] == [200] * 5
    assert set(statuses[5:]) == {429}
    assert int(last.headers["retry-after"]) >= 1


# --- `make run` without a messenger ------------------------------------------------------------------------------


async def test_run_without_a_messenger_serves_the_web_chat_and_says_where(tmp_path: Path) -> None:
    env = bot_environment(BOT_CONTENT_DIR=str(FIXTURES / "kb"), BOT_DATA_DIR=str(tmp_path / "data"))
    async with running_bot(env, tmp_path / "bot.log") as bot:
        await bot.wait_healthy()
        async with httpx.AsyncClient(trust_env=False, timeout=10) as client:
            page = await client.get(f"{bot.url}/chat")
            answer = await client.post(f"{bot.url}/api/chat", json={"id": new_id(), "text": QUESTION})
        code, _ = await bot.stop()
        log = bot.log_text()
    assert page.status_code == 200 and "chat/chat.js" in page.text
    assert answer.status_code == 200 and answer.json()["replies"]
    assert f"Web chat: http://127.0.0.1:{bot.port}/chat" in log
    assert code == 0


def test_the_web_chat_is_off_beside_a_messenger_unless_asked_for() -> None:
    assert Settings.from_env({}).web_chat_on()
    assert not Settings.from_env({"WECHAT_TOKEN": "t"}).web_chat_on()
    assert Settings.from_env({"WECHAT_TOKEN": "t", "BOT_WEB_CHAT": "1"}).web_chat_on()
    assert not Settings.from_env({"BOT_WEB_CHAT": "0"}).web_chat_on()


async def test_an_answer_asks_whether_it_helped_and_the_thumb_is_counted(tmp_path: Path) -> None:
    user = new_id()
    async with web_chat(tmp_path) as chat:
        answer = await chat.say(user, QUESTION)
        thumbs = answer[-1]["feedback"]
        assert [button["label"] for button in thumbs] == ["👍 有帮助", "👎 没帮助"]  # type: ignore[index]
        assert answer[-1]["question"] == "有帮助吗？"
        thanks = await chat.post({"id": user, "action": thumbs[0]["action"]})  # type: ignore[index]
        snapshot = await chat.store.usage("2000-01-01")
    assert thanks.status_code == 200
    assert [(row.kind, row.intent, row.channel) for row in snapshot.events if row.kind == "helpful"] == [
        ("helpful", "legal.contact_contacts", "web")
    ]


async def test_behind_a_local_proxy_each_forwarded_address_has_its_own_limit(tmp_path: Path) -> None:
    async with web_chat(tmp_path, address_limit=Bucket(burst=2, per_second=0.01)) as chat:
        first = [
            (await chat.post({"id": new_id(), "text": "/help"}, **{"x-forwarded-for": "203.0.113.7"})).status_code
            for _ in range(3)
        ]
        other = await chat.post({"id": new_id(), "text": "/help"}, **{"x-forwarded-for": "198.51.100.9"})
    assert first == [200, 200, 429]
    assert other.status_code == 200


# --- the guided complaint ----------------------------------------------------------------------------------------


async def test_the_complaint_by_buttons_gives_letters_to_copy_and_keeps_none_of_the_story(tmp_path: Path) -> None:
    user = new_id()

    async with web_chat(tmp_path, content=REPO) as chat:

        async def press(action: str) -> list[dict[str, object]]:
            response = await chat.post({"id": user, "action": action})
            assert response.status_code == 200, response.text
            replies: list[dict[str, object]] = response.json()["replies"]
            return replies

        assert "f:c.region.mainland" in actions(await chat.say(user, "/complain"))
        await press("f:c.region.mainland")
        await chat.say(user, "拍拍贷")  # the lender typed, not chosen
        await press("f:c.conduct.expose")
        chosen = await press("f:c.conduct.night")
        assert "✓ 把我的信息发到网上或群里" in labels(chosen)  # a multi-select shows what is chosen
        await press("f:next.conduct")
        await press("f:skip.since")
        back = await press("f:back.often")
        assert "（4/8）" in str(back[0]["text"])
        crisis = await chat.say(user, "我想死")  # the safety layer still comes first, inside the flow
        assert any(part.get("tel") == "12356" for reply in crisis for part in reply["parts"])  # type: ignore[attr-defined]
        safe = await press("k:safe_now")  # leaving care mode offers the flow back, its answers kept
        assert "f:resume" in actions(safe)
        assert "（4/8）" in str((await press("f:resume"))[0]["text"])
        await press("f:skip.since")
        await press("f:skip.often")
        await chat.say(user, "13812345678 自称王经理")
        await press("f:skip.evidence")
        done = await press("f:skip.wants")
        letters = [str(reply["copy"]) for reply in done if reply["copy"]]
        files = {file.name: file.read_bytes() for file in chat.data_dir.glob(DB_FILE + "*")}

    assert len(letters) == 3  # the lender, the regulator, the police (personal data was posted)
    first = letters[0]
    assert first.startswith("致拍拍贷客户服务") and "13812345678 自称王经理" in first
    assert "民法典第1033条、第1034条" in first and "个人信息保护法" in first  # posted data
    assert "标准" in first and "GB/T 45251" in first  # night calls: a recommended standard, framed as one
    assert "f:complain" in actions(done)
    for name, content in files.items():  # nothing of the story reaches the database
        for secret in ("拍拍贷", "13812345678", "王经理", "我想死"):
            assert secret.encode() not in content, (name, secret)


def actions(replies: list[dict[str, object]]) -> list[str]:
    return [str(button["action"]) for reply in replies for button in reply["buttons"]]  # type: ignore[attr-defined]
