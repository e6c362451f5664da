"""The admin dashboard: `GET /admin` (the statistics page of `bot.stats`) and `GET /admin.csv` (the aggregates,
safe to publish), on the bot's web server, only when `BOT_ADMIN_TOKEN` is set (404 otherwise: the routes do
not exist).

The token comes as `Authorization: Bearer <token>`, or as the password of HTTP basic auth (any user name), so
a browser asks for it. It is compared in constant time (`hmac.compare_digest` of two digests of equal length)
and never logged; a wrong or missing one is 401, and an address that keeps guessing gets 429. The page is in
the admin's language (`?lang=`, else the browser's), covers `?days=` days (30 by default), has no script, and
its only style is allowed by its hash in the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import math
import time
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from . import stats
from .knowledge import KnowledgeSource
from .models import LOCALES, Locale
from .settings import Secret
from .state import Store
from .web import Bucket, RateLimiter

log = logging.getLogger(__name__)

PATH = "/admin"
CSV_PATH = "/admin.csv"
DEFAULT_DAYS = 30
MAX_DAYS = 366
GUESSES = Bucket(burst=10, per_second=0.1)  # wrong tokens from one address: ten, then one every ten seconds
_STYLE_HASH = base64.b64encode(hashlib.sha256(stats.STYLE.encode()).digest()).decode()
POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src 'none'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)


def _digest(value: bytes) -> bytes:
    return hashlib.sha256(value).digest()


def presented_token(authorization: str) -> bytes:
    """The token in an Authorization header: a bearer token, or the password of basic auth; b"" otherwise."""
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip().encode()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            return b""
        _, colon, password = decoded.partition(b":")
        return password if colon else b""
    return b""


def admin_locale(request: Request) -> Locale:
    wanted = request.query_params.get("lang", "")
    found = next((locale for locale in LOCALES if locale == wanted), None)
    if found is not None:
        return found
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",", 1)[0].strip()
    if first.startswith(("zh-tw", "zh-hk", "zh-mo", "zh-hant")):
        return "zh-Hant"
    if first.startswith("zh"):
        return "zh-Hans"
    return "en"


class AdminPage:
    """`/admin` and `/admin.csv` for whoever holds `BOT_ADMIN_TOKEN`."""

    name = "admin"

    def __init__(
        self,
        token: Secret,
        store: Store,
        knowledge: KnowledgeSource,
        *,
        clock: Callable[[], float] = time.time,
        guesses: Bucket = GUESSES,
    ) -> None:
        self._token_digest = _digest(token.value.encode())
        self.store = store
        self.knowledge = knowledge
        self.clock = clock
        self.failures = RateLimiter(guesses)

    def routes(self) -> list[BaseRoute]:
        return [Route(PATH, self.page, methods=["GET"]), Route(CSV_PATH, self.csv, methods=["GET"])]

    async def start(self) -> None:
        log.info("admin dashboard: %s", PATH)

    async def stop(self) -> None:
        return None

    def _headers(self) -> dict[str, str]:
        return {
            "Content-Security-Policy": POLICY,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
        }

    def _refused(self, request: Request) -> Response | None:
        """None for the right token; else 401 (or 429 for an address that keeps guessing)."""
        given = presented_token(request.headers.get("authorization", ""))
        if given and hmac.compare_digest(_digest(given), self._token_digest):
            return None
        address = request.client.host if request.client is not None else "-"
        wait = self.failures.take(address)
        headers = self._headers()
        if wait:
            headers["Retry-After"] = str(math.ceil(wait))
            return PlainTextResponse("too many attempts", status_code=429, headers=headers)
        if given:
            log.warning("admin: a request with a wrong token was refused")
        headers["WWW-Authenticate"] = 'Basic realm="Anxin admin", charset="UTF-8"'
        return PlainTextResponse("the admin token is needed (BOT_ADMIN_TOKEN)", status_code=401, headers=headers)

    def _days(self, request: Request) -> int | None:
        value = request.query_params.get("days", str(DEFAULT_DAYS))
        if not (value.isascii() and value.isdigit() and len(value) <= 4):
            return None
        days = int(value)
        return days if 1 <= days <= MAX_DAYS else None

    async def _report(self, days: int) -> stats.StatsReport | Response:
        try:
            return await stats.collect(self.store, days, now=self.clock(), kb=self.knowledge.current)
        except Exception:
            log.exception("admin: the statistics could not be read")
            return PlainTextResponse("the statistics cannot be read now", status_code=503, headers=self._headers())

    async def _allowed_report(self, request: Request) -> stats.StatsReport | Response:
        """The report the request asks for, or the response that refuses it (no token, bad days, no store)."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        days = self._days(request)
        if days is None:
            return PlainTextResponse(f"days must be 1 to {MAX_DAYS}", status_code=400, headers=self._headers())
        return await self._report(days)

    async def page(self, request: Request) -> Response:
        report = await self._allowed_report(request)
        if isinstance(report, Response):
            return report
        locale = admin_locale(request)
        page = stats.render_html(report, locale, csv_href=f"admin.csv?days={report.days}")
        return Response(page, media_type="text/html; charset=utf-8", headers=self._headers())

    async def csv(self, request: Request) -> Response:
        report = await self._allowed_report(request)
        if isinstance(report, Response):
            return report
        headers = {
            **self._headers(),
            "Content-Disposition": f'attachment; filename="anxin-{report.first_day}-{report.last_day}.csv"',
        }
        return Response(
            stats.render_csv(report, admin_locale(request)), media_type="text/csv; charset=utf-8", headers=headers
        )
