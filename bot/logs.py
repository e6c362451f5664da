"""Logging set-up: one line per kind of event, a bounded number of them, and never a secret.

`configure()` is called once by the command line. Every record passes two guards on its way out:

- `Throttle`: each kind of event (logger, level, message template) may write `burst` lines a minute; the
  rest are counted, and the next line of that kind says how many were left out. A flood of bad requests or
  disconnects can neither fill the disk nor stall the event loop with log writing.
- `ScrubbingFormatter`: every secret it was given (the bot token, the webhook secret, the pseudonym key,
  the WeChat token and AES key) is replaced by `**********` in the finished line, tracebacks included,
  whichever library raised and whatever it put in its message.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO
from urllib.parse import quote

HIDDEN = "**********"
MIN_HIDDEN_CHARS = 6  # shorter values would hide ordinary words; no real secret is that short
BURST = 5
WINDOW = 60.0
MAX_KINDS = 2000
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Throttle(logging.Filter):
    """Lets `burst` records of each kind through per `window` seconds and counts the others."""

    def __init__(self, burst: int = BURST, window: float = WINDOW, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        # kind -> [window start, lines written in this window, lines left out in this window]
        self._kinds: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        entry = self._kinds.get(kind)
        if entry is None or now - entry[0] >= self.window:
            left_out = int(entry[2]) if entry is not None else 0
            if entry is None and len(self._kinds) >= MAX_KINDS:
                self._kinds.clear()  # pre-formatted messages could make kinds without end
            self._kinds[kind] = [now, 1, 0]
            if left_out:
                record.msg = f"{record.msg} [{left_out} more like this left out in the last {self.window:.0f} s]"
            return True
        if entry[1] < self.burst:
            entry[1] += 1
            return True
        entry[2] += 1
        return False


class ScrubbingFormatter(logging.Formatter):
    """A formatter that hides given secrets in everything it writes."""

    def __init__(self, fmt: str = FORMAT, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self._secrets: list[str] = []
        self.hide(*secrets)

    def hide(self, *values: str) -> None:
        forms = set(self._secrets)
        for value in values:
            if len(value) < MIN_HIDDEN_CHARS:
                continue
            forms.update({value, quote(value, safe="")})
            # A bot token is "<bot id>:<secret>": the id is public, the part after the colon is not.
            _, colon, rest = value.partition(":")
            if colon and len(rest) >= MIN_HIDDEN_CHARS:
                forms.add(rest)
        self._secrets = sorted(forms, key=len, reverse=True)  # longest first, so no half-hidden value remains

    def format(self, record: logging.LogRecord) -> str:
        return self.scrub(super().format(record))

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, HIDDEN)
        return text


def configure(level: str | int, secrets: Iterable[str] = (), stream: TextIO | None = None) -> ScrubbingFormatter:
    """Log to stderr through the throttle and the scrubber; returns the formatter so more secrets can be added."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = ScrubbingFormatter(FORMAT, secrets)
    handler.setFormatter(formatter)
    handler.addFilter(Throttle())
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, ScrubbingFormatter):  # ours from an earlier call; others stay
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return formatter


def _scrubbers() -> list[ScrubbingFormatter]:
    return [
        handler.formatter
        for handler in logging.getLogger().handlers
        if isinstance(handler.formatter, ScrubbingFormatter)
    ]


def hide(*values: str) -> None:
    """Add secrets known only after start-up (a generated pseudonym key, a derived webhook secret)."""
    for scrubber in _scrubbers():
        scrubber.hide(*values)


def scrub(text: str) -> str:
    """`text` with every secret the log hides hidden too: for messages written to stderr directly."""
    for scrubber in _scrubbers():
        text = scrubber.scrub(text)
    return text
