"""A fake Telegram Bot API server on 127.0.0.1, for running the real bot through the real HTTP stack.

It speaks just enough of the Bot API (https://core.telegram.org/bots/api) for the Telegram channel:
getMe, getUpdates (queued updates, then a short long-poll), sendMessage and sendDocument (recorded),
answerCallbackQuery, setMyCommands, deleteWebhook, setWebhook and getWebhookInfo. `fail_next()` makes
the next call of a method fail, e.g. with 429 and `retry_after`, as Telegram does under flood control;
`slow_down()` makes every call of a method take a while, like a Bot API under load (`most_in_flight` then
tells how many such calls the bot had open at once).

After `setWebhook` it delivers updates the way Telegram does: it POSTs each one to the registered URL with
the secret token header, over at most `max_connections` connections at once, and delivers it again until
the answer is a 200; a Bot API call in the body of that answer is made as if it had been sent. `deliveries`
records, per update, every attempt and when it was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKEN = "123456:TEST-token_for-the-fake-server"
BOT_ID = 123456
LONG_POLL_SECONDS = 0.5  # getUpdates waits at most this long, whatever timeout the client asks for
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40  # Telegram's default for setWebhook's max_connections


@dataclass(frozen=True)
class Call:
    """One request the bot made: method name, form fields (JSON values decoded) and uploaded files."""

    method: str
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)


def _decode(value: str) -> Any:
    # PTB sends strings as they are and everything else JSON-encoded.
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, tuple[str, bytes]]]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    params: dict[str, Any] = {}
    files: dict[str, tuple[str, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            files[str(name)] = (filename, payload)
        else:
            params[str(name)] = _decode(payload.decode())
    return params, files


@dataclass
class Delivery:
    """One update on its way to a webhook: every attempt's outcome (a status code or an error name)."""

    update_id: int
    pushed: float
    attempts: list[int | str] = field(default_factory=list)
    first_attempt: float | None = None
    acknowledged: float | None = None


class FakeBotApi:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.url = ""
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._arrived = asyncio.Event()
        self._failures: dict[str, tuple[int, dict[str, Any]]] = {}
        self._delays: dict[str, float] = {}
        self.failures_served: list[tuple[str, int]] = []
        self.answered_in_webhook: list[str] = []  # methods that came back in webhook answers
        self.in_flight = 0  # requests being answered right now
        self.most_in_flight = 0  # the most that ever were at once
        # Webhook delivery, as Telegram does it once setWebhook was called.
        self.deliveries: dict[int, Delivery] = {}
        self.retry_delay = 0.2  # Telegram waits longer between attempts; tests need no more
        self.delivery_timeout = 30.0
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._webhook: tuple[str, str, int] | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.app = Starlette(routes=[Route("/bot{token}/{method}", self._endpoint, methods=["GET", "POST"])])

    # --- what tests use

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update (for getUpdates, or for delivery once a webhook is set); returns its update_id."""
        update_id = next(self._update_ids)
        full = {"update_id": update_id, **update}
        if self._webhook is not None:
            self._enqueue(full)
        else:
            self._updates.append(full)
            self._arrived.set()
        return update_id

    def slow_down(self, method: str, seconds: float) -> None:
        """Every later call of `method` takes `seconds` before it is answered (0 to undo)."""
        self._delays[method] = seconds

    def acknowledged(self) -> list[int]:
        return [update_id for update_id, delivery in self.deliveries.items() if delivery.acknowledged is not None]

    def unacknowledged(self) -> list[int]:
        return [update_id for update_id, delivery in self.deliveries.items() if delivery.acknowledged is None]

    def fail_next(self, method: str, error_code: int = 429, **body: Any) -> None:
        """Answer the next call of `method` with an error, e.g. fail_next("sendMessage", retry_after=1)."""
        if error_code == 429:
            body.setdefault("description", "Too Many Requests: retry later")
            body = {"description": body.pop("description"), "parameters": body}
        else:
            body.setdefault("description", "Bad Request")
        self._failures[method] = (error_code, body)

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def sent_to(self, chat_id: int) -> list[Call]:
        return [
            call
            for call in self.calls
            if call.method in ("sendMessage", "sendDocument") and call.params.get("chat_id") == chat_id
        ]

    async def wait_for(self, check: Callable[[], bool], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; calls so far: {[call.method for call in self.calls]}")
            await asyncio.sleep(0.01)

    async def replies(self, chat_id: int, count: int = 1, within: float = 5.0) -> list[Call]:
        """Wait until `count` more messages went to `chat_id` than were there when called; return those."""
        before = len(self.sent_to(chat_id))
        await self.wait_for(lambda: len(self.sent_to(chat_id)) >= before + count, within)
        return self.sent_to(chat_id)[before:]

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[FakeBotApi]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        server = uvicorn.Server(config)
        server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # the test owns signals
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            yield self
        finally:
            self._arrived.set()  # ends a pending long poll, so shutdown does not wait for it
            await self._stop_delivering()
            server.should_exit = True
            await task
            sock.close()

    # --- webhook delivery

    def _enqueue(self, update: dict[str, Any]) -> None:
        self.deliveries.setdefault(update["update_id"], Delivery(update["update_id"], time.monotonic()))
        self._outbox.put_nowait(update)

    async def _start_delivering(self, url: str, secret: str, connections: int) -> None:
        if self._webhook == (url, secret, connections) and self._workers:
            return  # a restarted bot registering the same webhook again: deliveries carry on
        await self._stop_delivering()
        self._webhook = (url, secret, connections)
        for update in self._updates:  # what was waiting for getUpdates now goes to the webhook
            self._enqueue(update)
        self._updates = []
        client = httpx.AsyncClient(
            trust_env=False, limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        )
        self._workers = [asyncio.create_task(self._deliver(client)) for _ in range(connections)]
        self._workers.append(asyncio.create_task(_close_when_done(client, self._workers[:])))

    async def _stop_delivering(self) -> None:
        self._webhook = None
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _deliver(self, client: httpx.AsyncClient) -> None:
        loop = asyncio.get_running_loop()
        while self._webhook is not None:
            update = await self._outbox.get()
            url, secret, _ = self._webhook
            record = self.deliveries[update["update_id"]]
            if record.acknowledged is not None:
                continue
            if record.first_attempt is None:
                record.first_attempt = time.monotonic()
            try:
                response = await client.post(
                    url, json=update, headers={SECRET_HEADER: secret}, timeout=self.delivery_timeout
                )
                outcome: int | str = response.status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            except asyncio.CancelledError:
                self._outbox.put_nowait(update)  # not acknowledged: it stays pending
                raise
            record.attempts.append(outcome)
            if outcome == 200:
                record.acknowledged = time.monotonic()
                self._answered_with(response)
            else:  # anything but a 200: Telegram delivers the update again later
                loop.call_later(self.retry_delay, self._outbox.put_nowait, update)

    def _answered_with(self, response: httpx.Response) -> None:
        """Like Telegram: a Bot API call in the body of the webhook's answer is made (and recorded) as if sent."""
        if not response.content:
            return
        try:
            body = response.json()
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("method"), str):
            method = body.pop("method")
            self.calls.append(Call(method, body))
            self.answered_in_webhook.append(method)

    # --- the server

    async def _endpoint(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method = request.path_params["method"]
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        files: dict[str, tuple[str, bytes]] = {}
        if content_type.startswith("multipart/form-data"):
            params, files = _parse_multipart(content_type, body)
        elif content_type.startswith("application/json"):
            params = json.loads(body or b"{}")
        else:
            params = {key: _decode(value) for key, value in parse_qsl(body.decode())}
        self.calls.append(Call(method, params, files))

        failure = self._failures.pop(method, None)
        if failure is not None:
            code, extra = failure
            self.failures_served.append((method, code))
            return JSONResponse({"ok": False, "error_code": code, **extra}, status_code=code)

        delay = self._delays.get(method)
        if delay:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(delay)
            finally:
                self.in_flight -= 1
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return JSONResponse(
                {"ok": False, "error_code": 404, "description": "Not Found: method not found"}, status_code=404
            )
        result = await handler(params)
        return JSONResponse({"ok": True, "result": result})

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"id": BOT_ID, "is_bot": True, "first_name": "Anxin", "username": "anxin_test_bot"}

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self._updates = [update for update in self._updates if update["update_id"] >= offset]  # confirmed: gone
        if not self._updates and float(params.get("timeout") or 0) > 0:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), LONG_POLL_SECONDS)
        return list(self._updates)

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": params["chat_id"], "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Anxin"},
            **content,
        }

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, text=str(params.get("text", "")))

    async def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._message(params, document={"file_id": "doc1", "file_unique_id": "doc1"})

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        await self._stop_delivering()
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if url.startswith("http://127.0.0.1"):  # only a local bot can be reached; public URLs are just recorded
            connections = int(params.get("max_connections") or DEFAULT_MAX_CONNECTIONS)
            await self._start_delivering(url, str(params.get("secret_token") or ""), connections)
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        webhooks = self.called("setWebhook")
        url = webhooks[-1].params.get("url", "") if webhooks else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": len(self._updates)}


async def _close_when_done(client: httpx.AsyncClient, workers: list[asyncio.Task[None]]) -> None:
    try:
        await asyncio.gather(*workers, return_exceptions=True)
    finally:
        await client.aclose()


# --- updates as Telegram would send them ---------------------------------------------------------------

_dates = itertools.count(int(time.time()))


def user(user_id: int, language_code: str = "zh-hans") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Test", "language_code": language_code}


def message(
    user_id: int,
    text: str | None = None,
    *,
    chat_type: str = "private",
    chat_id: int | None = None,
    language_code: str = "zh-hans",
    **content: Any,
) -> dict[str, Any]:
    """A `message` update; extra keyword arguments become message fields (sticker=…, photo=…)."""
    chat: dict[str, Any] = {"id": chat_id if chat_id is not None else user_id, "type": chat_type}
    if chat_type != "private":
        chat["title"] = "Some group"
    body: dict[str, Any] = {
        "message_id": next(_dates) % 100000,
        "date": next(_dates),
        "chat": chat,
        "from": user(user_id, language_code),
        **content,
    }
    if text is not None:
        body["text"] = text
        if text.startswith("/"):
            command = text.split()[0]
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"message": body}


def edited(user_id: int, text: str) -> dict[str, Any]:
    update = message(user_id, text)
    body = update["message"]
    body["edit_date"] = body["date"]
    return {"edited_message": body}


def button_press(user_id: int, data: str, language_code: str = "zh-hans") -> dict[str, Any]:
    return {
        "callback_query": {
            "id": f"cq{next(_dates)}",
            "from": user(user_id, language_code),
            "chat_instance": "ci1",
            "data": data,
            "message": {
                "message_id": 999,
                "date": next(_dates),
                "chat": {"id": user_id, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Anxin"},
                "text": "earlier reply",
            },
        }
    }


STICKER = {
    "file_id": "st1",
    "file_unique_id": "st1u",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
