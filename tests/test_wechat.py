"""The WeChat channel end to end: real HTTP requests to the ASGI app (and once to uvicorn on 127.0.0.1).

Signatures, encryption and XML are cross-checked against wechatpy, an independent implementation of the
same protocol: what wechatpy encrypts we decrypt and the other way round.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import logging
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmltodict
from conftest import wechat_channel
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import WeChatSigner, check_signature

from bot.channels.wechat import (
    MAX_BODY_BYTES,
    MAX_REPLY_BYTES,
    ReplyCache,
    WeChatChannel,
    cdata,
    render_wechat,
)
from bot.channels.wechat_crypto import AppIdError, CryptoError, MessageCrypto, SignatureError, sign
from bot.dialog import Dialog
from bot.knowledge import KnowledgeSource
from bot.messages import say
from bot.models import Button, Reply
from bot.privacy import pseudonym
from bot.runner import Services, configured_channels
from bot.settings import Secret, Settings, SettingsError
from bot.state import MemoryStore, Session, UsageEvent
from bot.web import build_app, serve

TOKEN = "anxin-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, like the console generates
APP_ID = "wx1234567890abcdef"
ACCOUNT = "gh_0123456789ab"
OPENID = "oX3fK2-wechat-test-openid"
QUESTION = "催收打电话给我妈妈合法吗"

Client = httpx.AsyncClient
_nonces = itertools.count(1_000_000_000)


# --- helpers -------------------------------------------------------------------------------------------


def make_channel(knowledge: KnowledgeSource, store: MemoryStore, *, safe: bool = False, **kwargs: Any) -> WeChatChannel:
    settings = Settings(
        content_dir=knowledge.root,
        secret=Secret("test-secret"),
        wechat_token=Secret(TOKEN),
        wechat_app_id=APP_ID if safe else None,
        wechat_aes_key=Secret(AES_KEY) if safe else None,
    )
    services = Services(settings, knowledge, store, Dialog(knowledge, store), b"test-secret")
    return wechat_channel(services, **kwargs)


@pytest.fixture
def channel(knowledge: KnowledgeSource, memory_store: MemoryStore) -> WeChatChannel:
    """Plain mode: only the Token is configured."""
    return make_channel(knowledge, memory_store)


@pytest.fixture
def safe_channel(knowledge: KnowledgeSource, memory_store: MemoryStore) -> WeChatChannel:
    """Safe (or compatible) mode: the EncodingAESKey and AppID are configured too."""
    return make_channel(knowledge, memory_store, safe=True)


@contextlib.asynccontextmanager
async def http_client(channel: WeChatChannel) -> AsyncIterator[Client]:
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        yield http
    await channel.stop()


@pytest.fixture
async def client(channel: WeChatChannel) -> AsyncIterator[Client]:
    async with http_client(channel) as http:
        yield http


@pytest.fixture
async def safe_client(safe_channel: WeChatChannel) -> AsyncIterator[Client]:
    async with http_client(safe_channel) as http:
        yield http


def signed(timestamp: int | None = None, nonce: str | None = None) -> dict[str, str]:
    """Query parameters as WeChat sends them (a fresh nonce each time), signed by wechatpy's signer rather than ours."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce if nonce is not None else str(next(_nonces))
    signer = WeChatSigner()
    signer.add_data(TOKEN, stamp, nonce)
    return {"signature": signer.signature, "timestamp": stamp, "nonce": nonce, "openid": OPENID}


def message_xml(msg_type: str = "text", msg_id: str | None = "1001", **fields: str) -> str:
    parts = [
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>",
        f"<FromUserName><![CDATA[{OPENID}]]></FromUserName>",
        f"<CreateTime>{fields.pop('CreateTime', '1700000000')}</CreateTime>",
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>",
    ]
    parts.extend(f"<{name}><![CDATA[{value}]]></{name}>" for name, value in fields.items())
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


async def post_plain(client: Client, xml: str | bytes) -> httpx.Response:
    body = xml.encode() if isinstance(xml, str) else xml
    return await client.post("/wechat", params=signed(), content=body)


def reply_content(response: httpx.Response) -> str:
    """The Content of a passive text reply, parsed by wechatpy; also checks it is addressed to the user."""
    assert response.status_code == 200, response.text
    reply = parse_message(response.content)
    assert (reply.type, reply.source, reply.target) == ("text", ACCOUNT, OPENID)
    return str(reply.content)


def wechat_crypto() -> WeChatCrypto:
    return WeChatCrypto(TOKEN, AES_KEY, APP_ID)


async def post_safe(
    client: Client, xml: str, *, crypto: WeChatCrypto | None = None, compatible: bool = False
) -> httpx.Response:
    """A safe-mode push encrypted by wechatpy; compatible mode also carries the plaintext fields."""
    nonce, stamp = str(next(_nonces)), str(int(time.time()))
    envelope = xmltodict.parse((crypto or wechat_crypto()).encrypt_message(xml, nonce, stamp))["xml"]
    extra = xml[len("<xml>") : -len("</xml>")] if compatible else f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
    body = f"<xml>{extra}<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    params = {
        **signed(int(stamp), nonce),
        "encrypt_type": "aes",
        "msg_signature": envelope["MsgSignature"],
    }
    return await client.post("/wechat", params=params, content=body.encode())


def decrypt_reply(response: httpx.Response) -> str:
    """wechatpy checks our reply's MsgSignature and decrypts it; returns the text Content inside."""
    assert response.status_code == 200, response.text
    envelope = xmltodict.parse(response.text)["xml"]
    inner = wechat_crypto().decrypt_message(
        response.text, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    reply = parse_message(inner)
    assert (reply.type, reply.source, reply.target) == ("text", ACCOUNT, OPENID)
    return str(reply.content)


def rewrite_answer(kb_dir: Path, answer: str) -> KnowledgeSource:
    """The fixture knowledge base with legal.contact_contacts answering `answer` instead."""
    path = kb_dir / "faq" / "zh-Hans" / "main.yaml"
    original = "  answer: 不合法。催收只能找借款人本人。\n"
    text = path.read_text(encoding="utf-8")
    assert original in text
    quoted = answer.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    path.write_text(text.replace(original, f'  answer: "{quoted}"\n'), encoding="utf-8")
    return KnowledgeSource(kb_dir)


# --- URL verification ----------------------------------------------------------------------------------


async def test_verification_with_a_good_signature_echoes_echostr(client: Client) -> None:
    response = await client.get("/wechat", params={**signed(), "echostr": "4827301957"})
    assert response.status_code == 200
    assert response.text == "4827301957"


async def test_verification_with_a_bad_signature_is_forbidden(client: Client) -> None:
    params = {**signed(), "echostr": "4827301957"}
    params["signature"] = "0" * 40
    response = await client.get("/wechat", params=params)
    assert response.status_code == 403
    assert "4827301957" not in response.text


async def test_verification_with_an_old_timestamp_is_forbidden_as_a_replay(client: Client) -> None:
    response = await client.get("/wechat", params={**signed(int(time.time()) - 3600), "echostr": "4827301957"})
    assert response.status_code == 403


async def test_verification_without_parameters_is_a_bad_request(client: Client) -> None:
    assert (await client.get("/wechat")).status_code == 400


async def test_encrypted_echostr_is_decrypted_when_msg_signature_is_sent(safe_client: Client) -> None:
    client = safe_client
    nonce, stamp = "99", str(int(time.time()))
    echostr = PrpCrypto(base64.b64decode(AES_KEY + "=")).encrypt("7311924", APP_ID).decode()
    signer = WeChatSigner()
    signer.add_data(TOKEN, stamp, nonce, echostr)
    params = {"msg_signature": signer.signature, "timestamp": stamp, "nonce": nonce, "echostr": echostr}
    response = await client.get("/wechat", params=params)
    assert (response.status_code, response.text) == (200, "7311924")


# --- messages in plain mode ----------------------------------------------------------------------------


async def test_text_question_gets_a_passive_text_answer_with_numbered_options(
    client: Client, memory_store: MemoryStore
) -> None:
    content = reply_content(await post_plain(client, message_xml(Content=QUESTION)))
    assert content.startswith("不合法。催收只能找借款人本人。")
    assert "依据：民法典第1033条" in content
    assert "1. " in content and "2. 家人要替我还钱吗" in content and "3. 怎么向监管部门投诉" in content
    # "Was it helpful?" in words after the options, so "好" / "不好" never take a number from them.
    assert content.endswith("4. 帮我写投诉信\n回复 1 / 2 / 3 / 4\n\n有帮助吗？回复 好 / 不好")
    assert [event.intent for event in memory_store.events] == ["legal.contact_contacts"]
    assert memory_store.events[0].channel == "wechat"


async def test_a_number_picks_the_option_offered_before(client: Client) -> None:
    await post_plain(client, message_xml(Content=QUESTION, msg_id="2001"))
    assert reply_content(await post_plain(client, message_xml(Content="2", msg_id="2002"))).startswith(
        "家人没有替你还钱的义务。"
    )
    await post_plain(client, message_xml(Content=QUESTION, msg_id="2003"))
    assert reply_content(await post_plain(client, message_xml(Content="1", msg_id="2004"))).startswith(
        "保留通话录音和截图。"
    )


async def test_traditional_question_gets_traditional_reply_hint(client: Client) -> None:
    content = reply_content(await post_plain(client, message_xml(Content="催收打電話給我媽媽合法嗎")))
    # Three follow-ups, the four regions (a Traditional writer is asked where they are), then the complaint.
    assert content.endswith("\n回覆 1–8\n\n有幫助嗎？回覆 好 / 不好")
    assert "回复" not in content


async def test_subscribe_event_gets_the_welcome_and_topic_menu(client: Client, memory_store: MemoryStore) -> None:
    xml = message_xml("event", msg_id=None, Event="subscribe", EventKey="")
    content = reply_content(await post_plain(client, xml))
    assert content.startswith("你好,我是安心。")
    assert "1. " + say("topic.legal", "zh-Hans") in content
    assert [event.kind for event in memory_store.events] == ["command"]
    chosen = reply_content(await post_plain(client, message_xml(Content="1", msg_id="3001")))
    assert chosen.startswith(say("topic", "zh-Hans"))


async def test_other_events_are_acknowledged_without_running_the_dialog(
    client: Client, memory_store: MemoryStore
) -> None:
    for event in ("unsubscribe", "CLICK", "LOCATION"):
        response = await post_plain(client, message_xml("event", msg_id=None, Event=event))
        assert (response.status_code, response.text) == (200, "success")
    assert memory_store.events == []


async def test_image_gets_a_gentle_please_type(client: Client, memory_store: MemoryStore) -> None:
    xml = message_xml("image", PicUrl="http://mmbiz.example/pic.jpg", MediaId="media-1")
    assert reply_content(await post_plain(client, xml)) == say("media", "zh-Hans")
    assert [event.kind for event in memory_store.events] == ["media"]


async def test_voice_with_recognition_is_answered_as_text_and_without_as_media(client: Client) -> None:
    spoken = message_xml("voice", msg_id="4001", MediaId="m", Format="amr", Recognition=QUESTION)
    assert reply_content(await post_plain(client, spoken)).startswith("不合法。")
    silent = message_xml("voice", msg_id="4002", MediaId="m", Format="amr", Recognition="")
    assert reply_content(await post_plain(client, silent)) == say("media", "zh-Hans")


async def test_message_with_a_bad_signature_is_forbidden_and_not_handled(
    client: Client, memory_store: MemoryStore
) -> None:
    params = {**signed(), "signature": "f" * 40}
    response = await client.post("/wechat", params=params, content=message_xml(Content=QUESTION).encode())
    assert response.status_code == 403
    stale = await client.post("/wechat", params=signed(int(time.time()) - 900), content=message_xml().encode())
    assert stale.status_code == 403
    assert memory_store.events == []


async def test_not_wechat_xml_is_a_bad_request(client: Client) -> None:
    for body in (b"", b'{"MsgType": "text"}', b"<html></html>", b"<xml><MsgType>text</MsgType></xml>"):
        assert (await post_plain(client, body)).status_code == 400


# --- retries -------------------------------------------------------------------------------------------


async def test_retried_msgid_is_answered_once_and_counted_once(client: Client, memory_store: MemoryStore) -> None:
    xml = message_xml(Content=QUESTION, msg_id="5001")
    first = await post_plain(client, xml)
    retries = await asyncio.gather(*(post_plain(client, xml) for _ in range(3)))
    assert all(retry.content == first.content for retry in retries)
    assert len(memory_store.events) == 1
    # A new MsgId with the same text is a new question.
    await post_plain(client, message_xml(Content=QUESTION, msg_id="5002"))
    assert len(memory_store.events) == 2


async def test_retried_event_is_deduplicated_by_sender_and_create_time(
    client: Client, memory_store: MemoryStore
) -> None:
    xml = message_xml("event", msg_id=None, Event="subscribe", CreateTime="1700000123")
    replies = [await post_plain(client, xml) for _ in range(3)]
    assert len({reply.content for reply in replies}) == 1
    assert len(memory_store.events) == 1


class SlowStore(MemoryStore):
    """A store whose reads take a while, like a disk under load."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def get_session(self, user: str) -> Session | None:
        await asyncio.sleep(self.delay)
        return await super().get_session(user)


async def test_a_slow_answer_says_success_in_time_and_a_retry_gets_the_answer(knowledge: KnowledgeSource) -> None:
    store = SlowStore(delay=0.5)
    channel = make_channel(knowledge, store, reply_timeout=0.1)
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        xml = message_xml(Content=QUESTION, msg_id="6001")
        started = time.monotonic()
        first = await post_plain(http, xml)
        assert time.monotonic() - started < 0.45
        assert (first.status_code, first.text) == (200, "success")
        await asyncio.sleep(0.6)  # the dialog keeps going in the background and finishes
        assert reply_content(await post_plain(http, xml)).startswith("不合法。")
    await channel.stop()
    assert len(store.events) == 1


async def test_reply_cache_forgets_after_its_ttl_and_keeps_a_bounded_size() -> None:
    now = [0.0]
    cache = ReplyCache(ttl=10, max_entries=3, clock=lambda: now[0])
    runs: list[str] = []

    def answer(key: str) -> Callable[[], Coroutine[Any, Any, bytes]]:
        async def run() -> bytes:
            runs.append(key)
            return key.encode()

        return run

    assert await cache.answer("a", answer("a")) == b"a"
    assert await cache.answer("a", answer("a")) == b"a"
    for key in ("b", "c", "d"):
        await cache.answer(key, answer(key))
    assert len(cache) == 3  # "a" was the oldest and made room
    now[0] = 11
    await cache.answer("e", answer("e"))
    assert len(cache) == 1
    assert runs == ["a", "b", "c", "d", "e"]
    await cache.close()


# --- hostile and oversized input -----------------------------------------------------------------------


async def test_xxe_payload_is_refused_before_any_entity_is_read(
    client: Client, memory_store: MemoryStore, tmp_path: Path
) -> None:
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text("TOP-SECRET-CONTENT", encoding="utf-8")
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
        f"<xml><ToUserName>{ACCOUNT}</ToUserName><FromUserName>{OPENID}</FromUserName>"
        "<CreateTime>1700000000</CreateTime><MsgType>text</MsgType><Content>&xxe;</Content><MsgId>7001</MsgId></xml>"
    )
    response = await post_plain(client, xxe)
    assert response.status_code == 400
    assert "TOP-SECRET" not in response.text
    assert memory_store.events == []


async def test_entity_expansion_bomb_is_refused(client: Client, memory_store: MemoryStore) -> None:
    lol = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 9))
    bomb = f"<!DOCTYPE xml [{lol}]><xml><MsgType>text</MsgType><Content>&lol8;</Content></xml>"
    assert (await post_plain(client, bomb)).status_code == 400
    assert memory_store.events == []


async def test_one_megabyte_body_is_refused_unread(client: Client, memory_store: MemoryStore) -> None:
    big = message_xml(Content="催" * (1024 * 1024 // 3)).encode()
    assert len(big) > 1024 * 1024 - 100
    response = await post_plain(client, big)
    assert response.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap holds while streaming
        for _ in range(64):
            yield b"<xml>" + b"a" * 16 * 1024

    streamed = await client.post("/wechat", params=signed(), content=chunks())
    assert streamed.status_code == 413
    assert memory_store.events == []


async def test_body_just_under_the_cap_is_still_read(client: Client) -> None:
    xml = message_xml(Content=QUESTION)
    padded = xml.replace("</xml>", "<Pad>" + "x" * (MAX_BODY_BYTES - len(xml.encode()) - 20) + "</Pad></xml>")
    assert len(padded.encode()) <= MAX_BODY_BYTES
    assert reply_content(await post_plain(client, padded)).startswith("不合法。")


# --- escaping and length -------------------------------------------------------------------------------


async def test_cdata_terminator_in_an_answer_is_escaped(kb_dir: Path) -> None:
    knowledge = rewrite_answer(kb_dir, "危险的字符]]><script>x</script>&amp; 也要原样显示")
    store = MemoryStore()
    channel = make_channel(knowledge, store)
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        response = await post_plain(http, message_xml(Content=QUESTION))
    assert b"]]]]><![CDATA[>" in response.content
    assert reply_content(response).startswith("危险的字符]]><script>x</script>&amp; 也要原样显示")


def test_cdata_splits_every_terminator() -> None:
    assert cdata("a]]>b]]>") == "<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>]]>"
    assert xmltodict.parse(f"<x>{cdata('a]]>b]]>')}</x>")["x"] == "a]]>b]]>"


async def test_long_answer_is_cut_at_a_paragraph_within_the_byte_limit(kb_dir: Path) -> None:
    paragraphs = [f"第{n}段:" + "催收不能骚扰你的家人和朋友。" * 8 for n in range(1, 7)]
    knowledge = rewrite_answer(kb_dir, "\n\n".join(paragraphs))
    channel = make_channel(knowledge, MemoryStore())
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        content = reply_content(await post_plain(http, message_xml(Content=QUESTION)))
    assert len(content.encode()) <= MAX_REPLY_BYTES
    assert content.startswith(paragraphs[0])
    kept, rest = content.split("\n…\n\n", 1)
    assert kept.split("\n\n")[-1] in paragraphs  # whole paragraphs only
    assert rest.endswith("回复 1 / 2 / 3 / 4\n\n有帮助吗？回复 好 / 不好")  # the options survive the cut


def test_render_keeps_options_and_limit_with_no_line_breaks_at_all() -> None:
    reply = Reply("很长" * 2000, (Button("更多", "m:x"), Button("Back", "c:menu")))
    content = render_wechat([reply])
    assert len(content.encode()) <= MAX_REPLY_BYTES
    assert content.endswith("1. 更多\n2. Back\n回复 1 / 2")
    english = render_wechat([Reply("Collectors may not call your family.", (Button("More", "m:x"),) * 3)])
    assert english.endswith("Reply 1, 2 or 3")


def test_render_says_reply_in_the_language_the_dialog_answered_in() -> None:
    # The dialog knows the language: the renderer need not guess it from the text (and cannot, for a menu
    # of English buttons under a Chinese answer, or a Traditional answer short on telling characters).
    reply = Reply("催收不能这样做。", (Button("More", "m:x"), Button("Back", "c:menu")))
    assert render_wechat([reply]).endswith("回复 1 / 2")
    assert render_wechat([reply], locale="zh-Hant").endswith("回覆 1 / 2")
    assert render_wechat([reply], locale="en").endswith("Reply 1 or 2")


# --- safe and compatible mode --------------------------------------------------------------------------


async def test_safe_mode_question_is_decrypted_and_answered_encrypted(
    safe_client: Client, memory_store: MemoryStore
) -> None:
    response = await post_safe(safe_client, message_xml(Content=QUESTION, msg_id="8001"))
    assert QUESTION not in response.text and "不合法" not in response.text
    assert decrypt_reply(response).startswith("不合法。催收只能找借款人本人。")
    assert [event.intent for event in memory_store.events] == ["legal.contact_contacts"]


async def test_compatible_mode_uses_the_ciphertext_and_replies_encrypted(safe_client: Client) -> None:
    response = await post_safe(safe_client, message_xml(Content=QUESTION, msg_id="8002"), compatible=True)
    assert decrypt_reply(response).startswith("不合法。")


async def test_compatible_mode_without_a_key_falls_back_to_plaintext(
    knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    channel = make_channel(knowledge, memory_store, safe=False)
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        compatible = await post_safe(http, message_xml(Content=QUESTION, msg_id="8003"), compatible=True)
        assert reply_content(compatible).startswith("不合法。")
        safe_only = await post_safe(http, message_xml(Content=QUESTION, msg_id="8004"))
        assert safe_only.status_code == 403


async def test_safe_mode_with_a_bad_msg_signature_or_another_appid_is_forbidden(
    safe_client: Client, memory_store: MemoryStore
) -> None:
    client = safe_client
    other = WeChatCrypto(TOKEN, AES_KEY, "wx-someone-else")
    assert (await post_safe(client, message_xml(Content=QUESTION), crypto=other)).status_code == 403
    other_key = WeChatCrypto(TOKEN, "B" * 43, APP_ID)
    assert (await post_safe(client, message_xml(Content=QUESTION), crypto=other_key)).status_code == 403
    forged = WeChatCrypto("another-token", AES_KEY, APP_ID)
    assert (await post_safe(client, message_xml(Content=QUESTION), crypto=forged)).status_code == 403
    assert memory_store.events == []


# --- crypto cross-checked with wechatpy ----------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 11, 12, 43, 44, 75, 76, 500])
def test_our_ciphertext_decrypts_in_wechatpy_and_theirs_in_ours(size: int) -> None:
    # 16 random + 4 length + 18 appid = 38 bytes around the message: sizes 12, 44 and 76 fill 32-byte blocks
    message = ("安" * size).encode()[:size] if size % 3 == 0 else b"x" * size
    ours = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    theirs = PrpCrypto(base64.b64decode(AES_KEY + "="))
    assert theirs.decrypt(ours.encrypt(message), APP_ID).encode() == message
    assert (
        ours.decrypt(theirs.encrypt(message.decode("utf-8", "replace"), APP_ID).decode())
        == message.decode("utf-8", "replace").encode()
    )


def test_signature_matches_wechatpy() -> None:
    stamp, nonce = "1714037059", "486452656"
    check_signature(TOKEN, sign(TOKEN, stamp, nonce), stamp, nonce)  # raises if they disagree
    with pytest.raises(InvalidSignatureException):
        check_signature(TOKEN, sign(TOKEN, stamp, "other"), stamp, nonce)
    # The worked example in WeChat's own documentation: Token "AAAAA".
    assert sign("AAAAA", "1714037059", "486452656") == wechatpy_signature("AAAAA", "1714037059", "486452656")


def wechatpy_signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def test_tampered_or_foreign_ciphertext_raises_specific_errors() -> None:
    crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
    ciphertext = crypto.encrypt(b"<xml/>", random_prefix=b"0123456789abcdef")
    raw = bytearray(base64.b64decode(ciphertext))
    raw[-1] ^= 0x55  # breaks the padding in the last block
    with pytest.raises(CryptoError):
        crypto.decrypt(base64.b64encode(bytes(raw)).decode())
    with pytest.raises(CryptoError):
        crypto.decrypt("not base64!!")
    with pytest.raises(AppIdError):
        MessageCrypto(TOKEN, AES_KEY, "wx-other").decrypt(ciphertext)
    with pytest.raises(SignatureError):
        crypto.check_message_signature("0" * 40, "1", "2", ciphertext)
    # A length field pointing past the end of the plaintext is refused, not sliced.
    key = base64.b64decode(AES_KEY + "=")
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    plain = b"r" * 16 + struct.pack(">I", 9999) + b"<xml/>" + APP_ID.encode()
    plain += bytes([32 - len(plain) % 32]) * (32 - len(plain) % 32)
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    with pytest.raises(CryptoError):
        crypto.decrypt(base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode())


def test_bad_settings_name_the_variable(knowledge: KnowledgeSource, memory_store: MemoryStore) -> None:
    def build(**changes: Any) -> None:
        settings = Settings(content_dir=knowledge.root, wechat_token=Secret(TOKEN), **changes)
        wechat_channel(Services(settings, knowledge, memory_store, Dialog(knowledge, memory_store), b"s"))

    with pytest.raises(SettingsError, match="WECHAT_AES_KEY"):
        build(wechat_aes_key=Secret("too-short"), wechat_app_id=APP_ID)
    with pytest.raises(SettingsError, match="WECHAT_APP_ID"):
        build(wechat_aes_key=Secret(AES_KEY))


def test_wechat_token_turns_the_channel_on(knowledge: KnowledgeSource, memory_store: MemoryStore) -> None:
    settings = Settings(content_dir=knowledge.root, wechat_token=Secret(TOKEN))
    services = Services(settings, knowledge, memory_store, Dialog(knowledge, memory_store), b"s")
    assert [channel.name for channel in configured_channels(services)] == ["wechat"]
    no_messenger = Services(
        Settings(content_dir=knowledge.root), knowledge, memory_store, Dialog(knowledge, memory_store), b"s"
    )
    # Without a messenger only the web chat is there (beside the console chat).
    assert [channel.name for channel in configured_channels(no_messenger)] == ["web"]


# --- privacy -------------------------------------------------------------------------------------------


async def test_logs_never_contain_the_openid_or_the_text(
    client: Client, safe_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await post_plain(client, message_xml(Content=QUESTION, msg_id="9001"))
    await post_safe(safe_client, message_xml(Content=QUESTION, msg_id="9002"))
    await post_plain(safe_client, message_xml(Content=QUESTION, msg_id="9003"))  # refused: plaintext
    await client.post("/wechat", params={**signed(), "signature": "0" * 40}, content=message_xml().encode())
    await post_plain(client, "<xml><Content>" + QUESTION)
    # httpx logs the test client's own request URLs; everything else is the server side.
    server_side = [record.getMessage() for record in caplog.records if not record.name.startswith("http")]
    assert server_side  # the refused requests were logged…
    assert not [line for line in server_side if OPENID in line or QUESTION in line]  # …without who or what


# --- a real server -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_real_uvicorn_server_verifies_answers_and_refuses_a_huge_body(safe_channel: WeChatChannel) -> None:
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(serve(build_app(safe_channel.routes()), "127.0.0.1", port, stop))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=5, trust_env=False) as http:
            for _ in range(100):
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            verified = await http.get("/wechat", params={**signed(), "echostr": "55"})
            assert verified.text == "55"
            assert decrypt_reply(await post_safe(http, message_xml(Content=QUESTION, msg_id="42"))).startswith(
                "不合法。"
            )
            assert (await post_plain(http, message_xml(Content=QUESTION))).status_code == 403  # no downgrade

            async def megabyte() -> AsyncIterator[bytes]:
                for _ in range(16):
                    yield b"a" * 64 * 1024

            refused = await http.post("/wechat", params=signed(), content=megabyte())
            assert refused.status_code == 413
            sized = await http.post("/wechat", params=signed(), content=b"<xml>" + b"a" * 1024 * 1024)
            assert sized.status_code == 413
            assert (await http.get("/healthz")).text == "ok"  # and the server carries on
    finally:
        stop.set()
        await asyncio.wait_for(server, 5)


async def test_care_mode_over_wechat_numbers_pick_care_choices(client: Client, memory_store: MemoryStore) -> None:
    crisis = reply_content(await post_plain(client, message_xml(Content="我真的不想活了", msg_id="3001")))
    assert "12356" in crisis and crisis.endswith("回复 1 / 2 / 3")
    assert "1. 电话没人接" in crisis
    next_line = reply_content(await post_plain(client, message_xml(Content="1", msg_id="3002")))
    assert "400-161-9995" in next_line
    assert [event.kind for event in memory_store.events] == ["crisis", "care"]
    assert memory_store.unanswered == []


# --- hardening -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["GBK", "Big5", "UTF-32", "UTF-16", "x-no-such-encoding", "EBCDIC-CP-US"])
async def test_xml_in_an_encoding_expat_cannot_read_is_a_bad_request_after_the_signature(
    client: Client, memory_store: MemoryStore, encoding: str
) -> None:
    body = f'<?xml version="1.0" encoding="{encoding}"?>'.encode() + message_xml(Content=QUESTION).encode()
    assert (await post_plain(client, body)).status_code == 400
    forged = await client.post("/wechat", params={**signed(), "signature": "0" * 40}, content=body)
    assert forged.status_code == 403  # the signature is checked before anything in the body is read
    assert memory_store.events == []


async def test_the_same_msgid_from_two_users_gets_two_answers(client: Client, memory_store: MemoryStore) -> None:
    mine = message_xml(Content=QUESTION, msg_id="77001")
    theirs = mine.replace(OPENID, "oX3fK2-another-users-openid").replace(QUESTION, "/help")
    first = reply_content(await post_plain(client, mine))
    second = await post_plain(client, theirs)
    assert second.status_code == 200
    reply = parse_message(second.content)
    assert reply.target == "oX3fK2-another-users-openid"  # addressed to its own sender…
    assert str(reply.content) != first  # …with its own answer
    assert len(memory_store.events) == 2


async def test_plaintext_is_refused_when_an_aes_key_is_configured(
    safe_client: Client, memory_store: MemoryStore
) -> None:
    response = await post_plain(safe_client, message_xml(Content=QUESTION))
    assert response.status_code == 403
    assert memory_store.events == []
    assert decrypt_reply(await post_safe(safe_client, message_xml(Content=QUESTION))).startswith("不合法。")


async def test_a_captured_query_string_cannot_carry_another_body(client: Client, memory_store: MemoryStore) -> None:
    params = signed()
    genuine = message_xml(Content=QUESTION, msg_id="88001")
    assert (await client.post("/wechat", params=params, content=genuine.encode())).status_code == 200
    forged = message_xml(Content="/forget", msg_id="88002")
    refused = await client.post("/wechat", params=params, content=forged.encode())
    assert refused.status_code == 403
    retried = await client.post("/wechat", params=params, content=genuine.encode())  # WeChat retrying: fine
    assert reply_content(retried).startswith("不合法。")
    assert len(memory_store.events) == 1


async def test_a_huge_message_is_answered_quickly_and_does_not_hold_up_others(
    client: Client, memory_store: MemoryStore
) -> None:
    huge = message_xml(Content="我的电话" + "1" * 60_000, msg_id="99001")
    assert len(huge.encode()) < MAX_BODY_BYTES
    started = time.monotonic()
    responses = await asyncio.gather(
        post_plain(client, huge), post_plain(client, message_xml(Content=QUESTION, msg_id="99002"))
    )
    assert time.monotonic() - started < 2.0
    assert [response.status_code for response in responses] == [200, 200]
    assert reply_content(responses[1]).startswith("不合法。")
    assert all(len(text) <= 300 and "111111" not in text for *_, text, _ in memory_store.unanswered)


async def test_the_reply_deadline_counts_from_the_first_byte_of_the_request(knowledge: KnowledgeSource) -> None:
    store = SlowStore(delay=3.0)
    channel = make_channel(knowledge, store, reply_timeout=1.5)
    port = free_port()
    stop = asyncio.Event()
    server = asyncio.create_task(serve(build_app(channel.routes()), "127.0.0.1", port, stop))
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            for _ in range(100):
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.05)
        body = message_xml(Content=QUESTION, msg_id="66001").encode()
        query = "&".join(f"{key}={value}" for key, value in signed().items())
        head = f"POST /wechat?{query} HTTP/1.1\r\nHost: bot\r\n"
        rest = f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        started = time.monotonic()
        writer.write(head.encode())  # a slow network: the headers arrive in two parts, a second apart
        await writer.drain()
        await asyncio.sleep(1.0)
        writer.write(rest)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 5)
        elapsed = time.monotonic() - started
        writer.close()
        assert status.startswith(b"HTTP/1.1 200")
        assert elapsed < 1.5 + 0.4, f"answered {elapsed:.2f} s after the first byte"
        deadline = time.monotonic() + 10
        while not store.events:  # the dialog finishes in the background
            if time.monotonic() > deadline:
                raise AssertionError("the dialog never finished")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)
        await channel.stop()
    assert [event.kind for event in store.events] == ["failed"]  # the user saw nothing: not counted as answered


class SlowWrites(MemoryStore):
    """A store whose writes take a while, so that two turns of one person would overlap if they could."""

    async def put_session(self, session: Session) -> None:
        await asyncio.sleep(0.2)
        await super().put_session(session)

    async def record_event(self, event: UsageEvent) -> None:
        await asyncio.sleep(0.2)
        await super().record_event(event)


async def test_a_question_and_forget_sent_together_leave_nothing_behind(knowledge: KnowledgeSource) -> None:
    """The person is told everything was deleted: it must be true, whatever the question's turn was doing."""
    store = SlowWrites()
    channel = make_channel(knowledge, store)
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        question = post_plain(http, message_xml(Content=QUESTION, msg_id="5001"))
        forget = post_plain(http, message_xml(Content="/forget", msg_id="5002"))
        answered, forgotten = await asyncio.gather(question, forget)
    await channel.stop()
    assert reply_content(answered).startswith("不合法。")
    assert "删除" in reply_content(forgotten)
    user = pseudonym(b"test-secret", "wechat", OPENID)
    assert user not in store.sessions
    assert [event for event in store.events if event.user == user] == []
    assert [row for row in store.unanswered if row[0] == user] == []


async def test_an_admin_openid_gets_stats_and_reload_and_others_do_not(
    knowledge: KnowledgeSource, memory_store: MemoryStore
) -> None:
    settings = Settings(
        content_dir=knowledge.root,
        secret=Secret("test-secret"),
        wechat_token=Secret(TOKEN),
        wechat_admin_openids=frozenset({OPENID}),
    )
    channel = wechat_channel(Services(settings, knowledge, memory_store, Dialog(knowledge, memory_store), b"s" * 16))
    transport = httpx.ASGITransport(app=build_app(channel.routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat.test") as http:
        stats = reply_content(await post_plain(http, message_xml(Content="/stats 7", msg_id="5101")))
        reload = reply_content(await post_plain(http, message_xml(Content="/reload", msg_id="5102")))
        other = message_xml(Content="/stats 7", msg_id="5103").replace(OPENID, "oX3fK2-someone-else")
        refused = str(parse_message((await post_plain(http, other)).content).content)
    await channel.stop()
    assert stats.startswith("最近 7 天")
    assert reload.startswith("已重新加载")
    assert not refused.startswith("最近") and "/stats" not in refused
