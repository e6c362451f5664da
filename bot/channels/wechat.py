"""WeChat Official Account (公众号) adapter: message pushes in as `Incoming`, passive text replies out.

WeChat calls `/wechat` on the shared web app (see `bot.web`): GET once to verify the server URL, POST for
every message or event, as XML, in plain, compatible or safe (AES) mode. The reply is the HTTP response
itself and must come within 5 seconds of the request's arrival, so the dialog gets `REPLY_TIMEOUT` counted
from the first byte of the request, and a slower answer becomes "success" (WeChat then shows nothing and
does not retry). WeChat retries a message it got no answer for, so answers are cached by sender and MsgId
and a retry gets the same bytes without running the dialog again. With several processes on one PostgreSQL
database the reply text is also kept there for ten minutes (`bot.coordination`), so a retry that reaches
another process gets the same reply and the message is counted once.

Before anything in the body is parsed, a request must fit in `MAX_BODY_BYTES`, carry a valid signature and a
recent timestamp, and, with `WECHAT_AES_KEY` set, be encrypted (no downgrade to plaintext). Each signed
(timestamp, nonce) pair is remembered while its timestamp is valid: the same pair with another body is a
forgery and is refused. Every parse failure is a 400.

Users are known only by the pseudonym of their openid; openids and message text are never logged. Openids in
`WECHAT_ADMIN_OPENIDS` are compared here and become `Incoming.role == "admin"` (for /stats and /reload);
the openid itself goes no further. Everything a message means is decided by `Conversation`, which also keeps
one person's messages in order (a question and /forget sent together: the question first, then nothing left).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeElementTree
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from ..conversation import Conversation
from ..models import Incoming, Locale, Reply, Role, clip
from ..privacy import pseudonym
from ..settings import Secret, Settings, SettingsError
from ..text import detect_locale
from ..web import arrival, read_body
from .wechat_crypto import CryptoError, MessageCrypto, SignatureError, check_signature, check_timestamp

log = logging.getLogger(__name__)

CHANNEL = "wechat"
PATH = "/wechat"
MAX_BODY_BYTES = 64 * 1024  # a text message is at most a few KB, even encrypted in compatible mode
MAX_REPLY_BYTES = 2048  # WeChat's limit on a text message's content, in UTF-8 bytes
REPLY_TIMEOUT = 4.5  # seconds; WeChat gives up after 5 and retries
TIMESTAMP_WINDOW = 300  # seconds between WeChat's signed timestamp and our clock before we call it a replay
CACHE_SECONDS = 600  # WeChat's three retries come within about 15 s; ten minutes leaves a wide margin
CACHE_ENTRIES = 10_000
NONCE_ENTRIES = 100_000  # signed (timestamp, nonce) pairs remembered; only WeChat can sign new ones
MAX_CONCURRENT_ANSWERS = 16  # dialogs running at once: more would only make every answer late
SUCCESS = b"success"  # "received, no reply": WeChat shows nothing and does not retry
MEDIA_TYPES = frozenset({"image", "voice", "video", "shortvideo", "location", "link", "file"})
ELLIPSIS = "…"

# Characters XML 1.0 cannot carry even inside CDATA; WeChat would reject the whole reply.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class MalformedMessage(ValueError):
    """A push that is not the XML WeChat sends; `reason` is safe to log (no user data)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- parsing -------------------------------------------------------------------------------------------


def parse_xml(body: bytes) -> dict[str, str]:
    """The child elements of WeChat's flat `<xml>` document; DTDs and entities are refused outright.

    Whatever goes wrong is a `MalformedMessage`: an encoding expat cannot read (GBK, Big5, UTF-32 or a name it
    does not know raise ValueError or LookupError), bad bytes, nesting too deep.
    """
    try:
        root = SafeElementTree.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise MalformedMessage(f"forbidden XML construct ({type(exc).__name__})") from None
    except ParseError:
        raise MalformedMessage("not well-formed XML") from None
    except (ValueError, LookupError, RecursionError, OverflowError, TypeError) as exc:
        raise MalformedMessage(f"unreadable XML ({type(exc).__name__})") from None
    if root.tag != "xml":
        raise MalformedMessage("root element is not <xml>")
    return {child.tag: child.text or "" for child in root}


@dataclass(frozen=True)
class WeChatMessage:
    """One push from WeChat, reduced to the fields the bot uses."""

    to_user: str  # the Official Account's id (gh_…)
    from_user: str  # the user's openid: used to address the reply and to derive the pseudonym, never kept
    create_time: str
    msg_type: str
    msg_id: str | None = None
    content: str = ""
    event: str = ""
    recognition: str = ""  # speech-to-text of a voice message, when the account has it enabled

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> WeChatMessage:
        to_user = fields.get("ToUserName", "").strip()
        from_user = fields.get("FromUserName", "").strip()
        msg_type = fields.get("MsgType", "").strip().lower()
        if not (to_user and from_user and msg_type):
            raise MalformedMessage("ToUserName, FromUserName or MsgType missing")
        return cls(
            to_user=to_user,
            from_user=from_user,
            create_time=fields.get("CreateTime", "").strip(),
            msg_type=msg_type,
            msg_id=fields.get("MsgId", "").strip() or None,
            content=fields.get("Content", ""),
            event=fields.get("Event", "").strip().lower(),
            recognition=fields.get("Recognition", "").strip(),
        )


# --- rendering -----------------------------------------------------------------------------------------


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _numbers(count: int, locale: Locale) -> str:
    if locale == "en":
        if count == 1:
            return "Reply 1"
        if count <= 5:
            return "Reply " + ", ".join(str(n) for n in range(1, count)) + f" or {count}"
        return f"Reply a number from 1 to {count}"
    verb = "回覆" if locale == "zh-Hant" else "回复"
    if count <= 5:
        return f"{verb} " + " / ".join(str(n) for n in range(1, count + 1))
    return f"{verb} 1–{count}"


def truncate_utf8(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-8 bytes, cut at a paragraph or line break if one
    keeps at least half of it, else between characters."""
    if _utf8_len(text) <= limit:
        return text
    head = text.encode("utf-8")[: max(limit, 0)].decode("utf-8", "ignore")
    for separator in ("\n\n", "\n"):
        cut = head.rfind(separator)
        if cut >= len(head) // 2:
            return head[:cut].rstrip()
    return head.rstrip()


def render_wechat(replies: Sequence[Reply], limit: int = MAX_REPLY_BYTES, locale: Locale | None = None) -> str:
    """One text message: the replies' text, then every button as a numbered line and how to pick one.

    `locale` is the language the dialog answered in; without it, it is read off the text (OpenCC over the
    whole answer, only to say 回复, 回覆 or Reply).

    The dialog maps a bare number to the options it last offered, in this order, so "1" selects the
    first line. Over `limit` bytes the text is shortened and ends with "…"; the options always stay.
    """
    # A letter to copy (`Reply.copy`) follows its reply's text: WeChat copies a whole message, so the dialog
    # serves long letters in parts, one a message (`Incoming.reply_bytes`).
    texts = ("\n\n".join(part for part in (reply.text.strip(), reply.copy.strip()) if part) for reply in replies)
    body = "\n\n".join(text for text in texts if text)
    buttons = [button for reply in replies for button in reply.buttons]
    tail = ""
    if buttons:
        locale = locale or detect_locale(body) or "zh-Hans"
        lines = [f"{number}. {button.label}" for number, button in enumerate(buttons, 1)]
        tail = "\n".join([*lines, _numbers(len(buttons), locale)])
    asked = next((reply.feedback for reply in reversed(replies) if reply.feedback is not None), None)
    if asked is not None:  # in words ("回复 好 / 不好"), never a number: the numbers stay the options'
        tail = f"{tail}\n\n{asked.typed}" if tail else asked.typed
    separator = "\n\n" if body and tail else ""
    full = body + separator + tail
    if _utf8_len(full) <= limit:
        return full
    budget = limit - _utf8_len(separator + tail) - _utf8_len("\n" + ELLIPSIS)
    if budget <= 0:  # the options alone are too long: keep what fits of everything
        return truncate_utf8(full, limit - _utf8_len(ELLIPSIS)) + ELLIPSIS
    return truncate_utf8(body, budget) + "\n" + ELLIPSIS + separator + tail


def cdata(text: str) -> str:
    """`text` as CDATA; "]]>" inside is split across two sections, since CDATA cannot contain it."""
    clean = _NOT_XML.sub("", text)
    return "<![CDATA[" + clean.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def text_reply(message: WeChatMessage, content: str, created: int) -> bytes:
    """The passive-reply XML for a text message, addressed back to the sender."""
    return (
        "<xml>"
        f"<ToUserName>{cdata(message.from_user)}</ToUserName>"
        f"<FromUserName>{cdata(message.to_user)}</FromUserName>"
        f"<CreateTime>{created}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content>{cdata(content)}</Content>"
        "</xml>"
    ).encode()


# --- retries -------------------------------------------------------------------------------------------


class ReplyCache:
    """Answers by message key for a while, so WeChat's retries reuse the first answer.

    The cached value is the task producing the reply, not the reply: a retry that arrives while the
    first request is still being answered waits for the same task. Entries expire after `ttl` seconds and
    the oldest go first beyond `max_entries`.
    """

    def __init__(
        self, ttl: float = CACHE_SECONDS, max_entries: int = CACHE_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[str, tuple[float, asyncio.Task[bytes]]] = OrderedDict()
        self._running: set[asyncio.Task[bytes]] = set()  # keeps evicted, unfinished tasks alive

    def __len__(self) -> int:
        return len(self._entries)

    def answer(self, key: str, start: Callable[[], Coroutine[Any, Any, bytes]]) -> asyncio.Task[bytes]:
        """The task answering `key`: the cached one, or a new one running `start()`."""
        now = self.clock()
        self._prune(now)
        found = self._entries.get(key)
        if found is not None:
            return found[1]
        task = asyncio.create_task(start(), name="wechat-answer")
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        self._entries[key] = (now + self.ttl, task)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return task

    def _prune(self, now: float) -> None:
        # Every entry lives equally long, so insertion order is expiry order.
        while self._entries:
            expires, _ = next(iter(self._entries.values()))
            if expires > now:
                break
            self._entries.popitem(last=False)

    async def close(self) -> None:
        running = list(self._running)
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        self._entries.clear()


class NonceMemory:
    """Signed (timestamp, nonce) pairs seen while their timestamp is still accepted, with a digest of the
    body each came with. The signature of a plain-mode request covers the query string only, so without
    this one captured URL could carry any body, from any openid, for as long as its timestamp is valid.
    The same pair with the same body (WeChat retrying) is let through; with another body it is refused.
    """

    def __init__(self, window: float = TIMESTAMP_WINDOW, max_entries: int = NONCE_ENTRIES) -> None:
        self.window = window
        self.max_entries = max_entries
        self._seen: OrderedDict[tuple[str, str], tuple[float, bytes]] = OrderedDict()

    def check(self, timestamp: str, nonce: str, body: bytes, now: float) -> None:
        """SignatureError when the pair came before with a different body."""
        while self._seen:  # entries are dropped once their timestamp is too old to be accepted anyway
            key, (expires, _) = next(iter(self._seen.items()))
            if expires > now:
                break
            del self._seen[key]
        digest = hashlib.sha256(body).digest()
        found = self._seen.get((timestamp, nonce))
        if found is not None:
            if found[1] != digest:
                raise SignatureError("timestamp and nonce reused with another body (replay)")
            return
        self._seen[(timestamp, nonce)] = (float(timestamp) + self.window, digest)
        while len(self._seen) > self.max_entries:
            self._seen.popitem(last=False)


# --- the channel ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatConfig:
    """What this channel needs of the settings, and nothing else."""

    token: Secret
    app_id: str | None = None
    aes_key: Secret | None = None
    admin_openids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatConfig:
        if settings.wechat_token is None:
            raise SettingsError("WECHAT_TOKEN is required for the WeChat channel")
        return cls(
            settings.wechat_token, settings.wechat_app_id, settings.wechat_aes_key, settings.wechat_admin_openids
        )


class WeChatChannel:
    """The `/wechat` webhook for one Official Account."""

    name = CHANNEL

    def __init__(
        self,
        config: WeChatConfig,
        conversation: Conversation,
        secret: bytes,
        *,
        clock: Callable[[], float] = time.time,
        reply_timeout: float = REPLY_TIMEOUT,
        cache: ReplyCache | None = None,
    ) -> None:
        self.token = config.token.value
        self.admins = config.admin_openids
        self.crypto: MessageCrypto | None = None
        if config.aes_key is not None:
            if not config.app_id:
                raise SettingsError("WECHAT_APP_ID is required when WECHAT_AES_KEY is set (safe mode checks it)")
            try:
                self.crypto = MessageCrypto(self.token, config.aes_key.value, config.app_id)
            except CryptoError as exc:
                raise SettingsError(f"WECHAT_AES_KEY: {exc.reason} (copy the EncodingAESKey exactly)") from None
        self.conversation = conversation
        self.coordination = conversation.coordination
        self.secret = secret
        self.clock = clock
        self.reply_timeout = reply_timeout
        self.cache = cache or ReplyCache()
        self.nonces = NonceMemory()
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_ANSWERS)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.verify, methods=["GET"]),
            Route(PATH, self.receive, methods=["POST"]),
        ]

    async def start(self) -> None:
        log.info("wechat: listening on %s (%s)", PATH, "safe mode available" if self.crypto else "plain mode")

    async def stop(self) -> None:
        await self.cache.close()

    # --- GET: server URL verification -------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        params = request.query_params
        timestamp, nonce, echostr = params.get("timestamp"), params.get("nonce"), params.get("echostr")
        if timestamp is None or nonce is None or echostr is None:
            return PlainTextResponse("missing parameters", status_code=400)
        try:
            check_timestamp(timestamp, self.clock(), TIMESTAMP_WINDOW)
            msg_signature = params.get("msg_signature")
            if msg_signature is not None and self.crypto is not None:
                # Encrypted echostr (as WeChat Work and some safe-mode set-ups send it): prove the key works.
                self.crypto.check_message_signature(msg_signature, timestamp, nonce, echostr)
                return PlainTextResponse(self.crypto.decrypt(echostr).decode("utf-8", "replace"))
            check_signature(params.get("signature", ""), self.token, timestamp, nonce)
        except (SignatureError, CryptoError) as exc:
            log.warning("wechat: verification refused: %s", exc.reason)
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(echostr)

    # --- POST: messages and events ----------------------------------------------------------------------

    async def receive(self, request: Request) -> Response:
        deadline = arrival(request) + self.reply_timeout
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            log.warning("wechat: request body over %d bytes refused", MAX_BODY_BYTES)
            return PlainTextResponse("request body too large", status_code=413)
        params = request.query_params
        timestamp, nonce = params.get("timestamp", ""), params.get("nonce", "")
        encrypted = params.get("encrypt_type", "").lower() == "aes"
        try:
            # Who sent it first, from the query string alone: nothing in the body is parsed before this.
            check_timestamp(timestamp, self.clock(), TIMESTAMP_WINDOW)
            check_signature(params.get("signature", ""), self.token, timestamp, nonce)
            if self.crypto is not None and not encrypted:
                raise SignatureError("plaintext message refused: WECHAT_AES_KEY is set, so messages must be encrypted")
            self.nonces.check(timestamp, nonce, body, self.clock())
            fields = parse_xml(body)
            if encrypted and self.crypto is not None:
                ciphertext = fields.get("Encrypt")
                if not ciphertext:
                    raise MalformedMessage("encrypt_type=aes but no <Encrypt>")
                self.crypto.check_message_signature(params.get("msg_signature", ""), timestamp, nonce, ciphertext)
                fields = parse_xml(self.crypto.decrypt(ciphertext))
            elif encrypted:
                if "MsgType" not in fields:  # safe mode with no key to read it
                    log.error("wechat: encrypted message received but WECHAT_AES_KEY/WECHAT_APP_ID are not set")
                    return PlainTextResponse("forbidden", status_code=403)
                encrypted = False  # compatible mode without a key: use the plaintext copy, reply in plain
            message = WeChatMessage.from_fields(fields)
        except (SignatureError, CryptoError) as exc:
            log.warning("wechat: message refused: %s", exc.reason)
            return PlainTextResponse("forbidden", status_code=403)
        except MalformedMessage as exc:
            log.warning("wechat: malformed message: %s", exc.reason)
            return PlainTextResponse("bad request", status_code=400)

        incoming = self._incoming(message)
        if incoming is None:
            return PlainTextResponse(SUCCESS.decode())
        task = self.cache.answer(self._key(message, incoming.user), lambda: self._answer(message, incoming, deadline))
        remaining = deadline - asyncio.get_running_loop().time()
        try:
            # shield: a late answer still finishes (state saved, counted once) and serves any retry.
            reply = await asyncio.wait_for(asyncio.shield(task), timeout=max(remaining, 0.0))
        except TimeoutError:
            log.warning("wechat: no answer within %.1f s of arrival; replied success", self.reply_timeout)
            return PlainTextResponse(SUCCESS.decode())
        if reply == SUCCESS:
            return PlainTextResponse(SUCCESS.decode())
        if encrypted and self.crypto is not None:
            nonce_out = str(secrets.randbelow(10**10))
            reply = self.crypto.encrypted_reply(reply, str(int(self.clock())), nonce_out)
        return Response(reply, media_type="application/xml")

    def _incoming(self, message: WeChatMessage) -> Incoming | None:
        """What the conversation should see, or None for pushes that need no answer."""
        user = pseudonym(self.secret, CHANNEL, message.from_user)
        role: Role = "admin" if message.from_user in self.admins else "user"
        if message.msg_type == "text":
            return Incoming(CHANNEL, user, clip(message.content), role=role, reply_bytes=MAX_REPLY_BYTES)
        if message.msg_type == "voice" and message.recognition:
            return Incoming(CHANNEL, user, clip(message.recognition), role=role, reply_bytes=MAX_REPLY_BYTES)
        if message.msg_type == "event":
            if message.event == "subscribe":
                return Incoming(CHANNEL, user, "/start", role=role)
            return None  # unsubscribe, menu clicks, location reports…: nothing to say
        media = message.msg_type if message.msg_type in MEDIA_TYPES else "other"
        return Incoming(CHANNEL, user, media=media, role=role)

    @staticmethod
    def _key(message: WeChatMessage, user: str) -> str:
        # WeChat's advice: MsgId for messages, sender + CreateTime for events (which have no MsgId). MsgIds are
        # not unique across users, so the sender (as its pseudonym) is part of the key for messages too.
        if message.msg_id is not None:
            return f"id:{user}:{message.msg_id}"
        return f"at:{user}:{message.create_time}:{message.msg_type}:{message.event}"

    async def _answer(self, message: WeChatMessage, incoming: Incoming, deadline: float) -> bytes:
        # With several processes on one database, the process that got the message first writes the answer
        # and a retry that reaches another process gets the same text (`bot.coordination`).
        content = await self.coordination.reply_once(
            incoming.user, self._key(message, incoming.user), lambda: self._content(incoming, deadline), deadline
        )
        if not content:  # nothing to say, not read in time, or another process's answer not ready yet
            return SUCCESS
        return text_reply(message, content, int(self.clock()))

    async def _content(self, incoming: Incoming, deadline: float) -> str | None:
        """The reply text ("" when there is nothing to say), or None when the message was not read."""
        loop = asyncio.get_running_loop()
        async with self._slots:
            if loop.time() >= deadline:
                # Waited too long for a turn: the request has already said "success". Running the dialog
                # now would only add to the backlog that made it late.
                log.warning("wechat: too busy to answer a message in time; it was not read")
                return None
            async with self.conversation.exchange(incoming) as exchange:  # never raises: an apology at worst
                content = render_wechat(exchange.replies, locale=exchange.locale)
                # The reply is delivered if it is ready while the request that asked for it still waits.
                exchange.delivered = loop.time() < deadline
        return content if content.strip() else ""
