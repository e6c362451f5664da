"""The log: secrets hidden in every line, tracebacks included; repeated lines counted instead of written."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import HIDDEN, ScrubbingFormatter, Throttle

TOKEN = "123456:AAH-very_secret-token-part"
WEBHOOK_SECRET = "f" * 64


@pytest.fixture
def formatter() -> ScrubbingFormatter:
    return ScrubbingFormatter(secrets=[TOKEN])


@pytest.fixture
def logged(formatter: ScrubbingFormatter) -> Iterator[tuple[logging.Logger, io.StringIO, list[float]]]:
    stream = io.StringIO()
    now = [0.0]
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(Throttle(burst=3, window=60, clock=lambda: now[0]))
    logger = logging.getLogger("anxin-test-logs")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream, now
    logger.removeHandler(handler)


def test_a_secret_is_hidden_in_messages_urls_and_tracebacks(
    formatter: ScrubbingFormatter, logged: tuple[logging.Logger, io.StringIO, list[float]]
) -> None:
    logger, stream, _ = logged
    formatter.hide(WEBHOOK_SECRET)  # known only after start-up
    try:
        raise RuntimeError(f"The token `{TOKEN}` was rejected; secret {WEBHOOK_SECRET}")
    except RuntimeError:
        logger.exception("start failed for https://api.telegram.org/bot%s/getMe", TOKEN.replace(":", "%3A"))
    text = stream.getvalue()
    assert "Traceback" in text and HIDDEN in text
    for leaked in (TOKEN, TOKEN.replace(":", "%3A"), TOKEN.split(":")[1], WEBHOOK_SECRET):
        assert leaked not in text


def test_a_repeated_kind_of_line_is_written_a_few_times_a_minute_then_counted(
    logged: tuple[logging.Logger, io.StringIO, list[float]],
) -> None:
    logger, stream, now = logged
    for n in range(100):
        logger.warning("wechat: message refused: %s", f"reason {n}")
    logger.info("something else")
    assert len(stream.getvalue().splitlines()) == 3 + 1
    now[0] = 61.0
    logger.warning("wechat: message refused: %s", "later")
    last = stream.getvalue().splitlines()[-1]
    assert "later" in last and "97 more like this left out" in last
