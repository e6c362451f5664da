"""The web chat: one page (`GET /chat`) and its JSON API (`POST /api/chat`) on the bot's own web server.

For people who will never add a Telegram bot: a legal-aid group's site, a volunteer page or a 公众号 menu
links or embeds the page. It is a channel like the others: a message becomes an `Incoming`, the conversation
core decides everything (crisis first, buttons, numbers, /forget, language), and the replies go back as JSON.

    POST /api/chat   {"id": "<random, from the browser's local storage>", "text": "…"}
                     {"id": "…", "action": "<a button's payload>"}          optional "lang": zh-Hans|zh-Hant|en
    → 200 {"replies": [{"text", "parts", "buttons": [{"label", "action"}], "feedback": [...], "copy"}]}

The id is a random value the page keeps in local storage; the server only ever keeps its HMAC pseudonym,
like every channel's platform id. No cookies are set. `parts` is the text cut into plain runs and hotline
numbers (`{"text", "tel"}`), so the page can build `tel:` links from DOM nodes without parsing HTML.

Limits: a body over `MAX_BODY_BYTES` is 413; per id and per address a token bucket answers 429 with
Retry-After; text is clipped to the same length as on every channel. The page and its script and style are
files of this package, served same-origin under a strict Content-Security-Policy (no inline code, nothing
from elsewhere); `BOT_WEB_ORIGINS` lists the sites that may embed the page in a frame, none by default.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ..care import CareContent
from ..conversation import Conversation
from ..models import LOCALES, MAX_BUTTON_CHARS, Incoming, Locale, Reply, clip
from ..privacy import pseudonym
from ..settings import Settings
from ..web import Bucket, RateLimiter, read_body

log = logging.getLogger(__name__)

CHANNEL = "web"
PAGE = "/chat"
API = "/api/chat"
MAX_BODY_BYTES = 4096
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_ASSETS = {"chat.js": "text/javascript; charset=utf-8", "chat.css": "text/css; charset=utf-8"}
_FALLBACK_NUMBERS = ("110", "119", "120", "999")  # the emergency numbers care replies name in words


ID_LIMIT = Bucket(burst=10, per_second=0.5)  # a person: ten quick clicks, then one message every two seconds
# An address: many people can share one (a carrier's NAT, an office), so it is several people's worth.
ADDRESS_LIMIT = Bucket(burst=60, per_second=3)


# --- rendering -----------------------------------------------------------------------------------------


def hotline_numbers(care: CareContent) -> tuple[str, ...]:
    """The crisis lines and emergency numbers care replies name (`safety/lines.yaml`), longest first."""
    numbers = set(_FALLBACK_NUMBERS)
    for region in care.regions.values():
        numbers.update(line.number for line in region.lines)
        for words in region.emergency.values():
            numbers.update(re.findall(r"(?<![0-9])[0-9]{3}(?![0-9])", words))
    return tuple(sorted(numbers, key=lambda number: (-len(number), number)))


def _number_pattern(numbers: Sequence[str]) -> re.Pattern[str] | None:
    if not numbers:
        return None
    alternatives = "|".join(re.escape(number) for number in numbers)
    # Not inside a longer number, an amount, an article (第110条) or a date.
    return re.compile(rf"(?<![0-9A-Za-z第.\-/])({alternatives})(?![0-9A-Za-z条條%\-/])")


def parts(text: str, numbers: Sequence[str]) -> list[dict[str, str]]:
    """`text` as runs of plain text and hotline numbers: `{"text"}` or `{"text", "tel"}` (digits only)."""
    pattern = _number_pattern(numbers)
    out: list[dict[str, str]] = []
    position = 0
    for found in pattern.finditer(text) if pattern is not None else ():
        if found.start() > position:
            out.append({"text": text[position : found.start()]})
        out.append({"text": found.group(1), "tel": re.sub(r"[^0-9]", "", found.group(1))})
        position = found.end()
    if position < len(text) or not out:
        out.append({"text": text[position:]})
    return out


def render_web(replies: Sequence[Reply], numbers: Sequence[str] = ()) -> list[dict[str, object]]:
    """The replies as the page shows them: text (and its parts with hotline links), buttons, 👍/👎, a letter to copy."""
    rendered: list[dict[str, object]] = []
    for reply in replies:
        text = reply.text.strip()
        rendered.append(
            {
                "text": text,
                "parts": parts(text, numbers),
                "buttons": [{"label": button.label, "action": button.payload} for button in reply.buttons],
                "feedback": (
                    [{"label": button.label, "action": button.payload} for button in reply.feedback.buttons]
                    if reply.feedback is not None
                    else []
                ),
                "question": reply.feedback.question if reply.feedback is not None else "",
                "copy": reply.copy.strip(),
            }
        )
    return rendered


# --- the channel ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WebChatConfig:
    """What this channel needs of the settings: the origins that may embed the page."""

    origins: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> WebChatConfig:
        return cls(settings.web_origins)


def _asset(name: str) -> bytes:
    return resources.files("bot").joinpath("static", name).read_bytes()


class WebChatChannel:
    """`/chat`, its script and style, and `/api/chat`."""

    name = CHANNEL

    def __init__(
        self,
        config: WebChatConfig,
        conversation: Conversation,
        secret: bytes,
        *,
        id_limit: Bucket = ID_LIMIT,
        address_limit: Bucket = ADDRESS_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.conversation = conversation
        self.secret = secret
        self.per_id = RateLimiter(id_limit, clock=clock)
        self.per_address = RateLimiter(address_limit, clock=clock)
        ancestors = " ".join(config.origins) if config.origins else "'none'"
        self.frame_ancestors = ancestors
        self.page_policy = (
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:;"
            f" base-uri 'none'; form-action 'self'; frame-ancestors {ancestors}"
        )
        self.page = _asset("chat.html")
        self.assets = {name: _asset(name) for name in _ASSETS}

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PAGE, self.serve_page, methods=["GET"]),
            *(Route(f"{PAGE}/{name}", self.serve_asset, methods=["GET"]) for name in _ASSETS),
            Route(API, self.chat, methods=["POST"]),
        ]

    async def start(self) -> None:
        log.info("web chat: %s and %s", PAGE, API)

    async def stop(self) -> None:
        return None

    def _headers(self, policy: str) -> dict[str, str]:
        headers = {
            "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
            "Cross-Origin-Resource-Policy": "same-origin",
        }
        if self.frame_ancestors == "'none'":
            headers["X-Frame-Options"] = "DENY"  # for browsers older than frame-ancestors
        return headers

    async def serve_page(self, request: Request) -> Response:
        return Response(self.page, media_type="text/html; charset=utf-8", headers=self._headers(self.page_policy))

    async def serve_asset(self, request: Request) -> Response:
        name = request.url.path.rsplit("/", 1)[-1]
        headers = self._headers("default-src 'none'; frame-ancestors 'none'")
        headers["Cache-Control"] = "no-cache"
        return Response(self.assets[name], media_type=_ASSETS[name], headers=headers)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse(
            {"error": message},
            status_code=status,
            headers={**self._headers("default-src 'none'; frame-ancestors 'none'"), **(headers or {})},
        )

    async def chat(self, request: Request) -> Response:
        address = request.client.host if request.client is not None else "-"
        wait = self.per_address.take(address)
        if wait:
            return self._error(429, "too many messages; wait a moment", {"Retry-After": str(math.ceil(wait))})
        if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/json":
            # JSON only: another site's page cannot send this without asking the browser first (CORS).
            return self._error(415, "send application/json")
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return self._error(413, f"the message is too long (at most {MAX_BODY_BYTES} bytes)")
        incoming = self._incoming(body)
        if isinstance(incoming, str):
            return self._error(400, incoming)
        wait = self.per_id.take(incoming.user)
        if wait:
            return self._error(429, "too many messages; wait a moment", {"Retry-After": str(math.ceil(wait))})
        numbers = hotline_numbers(self.conversation.dialog.knowledge.current.care)
        async with self.conversation.exchange(incoming) as exchange:  # never raises: an apology at worst
            replies = render_web(exchange.replies, numbers)
            exchange.delivered = True
        return JSONResponse({"replies": replies}, headers=self._headers("default-src 'none'; frame-ancestors 'none'"))

    def _incoming(self, body: bytes) -> Incoming | str:
        """The message as the core sees it, or what is wrong with the request (safe to show, no user text)."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            return "the body is not JSON"
        if not isinstance(data, dict):
            return "the body must be a JSON object"
        raw_id = data.get("id")
        if not isinstance(raw_id, str) or not _ID.match(raw_id):
            return "id must be 16 to 64 letters, digits, - or _"
        lang = data.get("lang")
        language: Locale | None = next((locale for locale in LOCALES if locale == lang), None)
        user = pseudonym(self.secret, CHANNEL, raw_id)  # the id goes into the pseudonym and nowhere else
        text, action = data.get("text"), data.get("action")
        if isinstance(action, str) and text is None:
            if not action or len(action) > MAX_BUTTON_CHARS:
                return "action is not a button of this chat"
            return Incoming(CHANNEL, user, button=action, language=language)
        if isinstance(text, str) and action is None:
            return Incoming(CHANNEL, user, clip(text), language=language)
        return 'send either "text" or "action" (a string)'
