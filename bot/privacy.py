"""Pseudonyms and redaction: how the bot avoids storing who people are.

A user is known only as HMAC-SHA256(secret, channel + ":" + platform id). Unanswered questions are kept
for volunteers only after phone, ID-card and bank-card numbers, e-mail addresses and URLs are replaced.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from pathlib import Path

log = logging.getLogger(__name__)

SECRET_FILE = "secret.key"


def pseudonym(secret: bytes, channel: str, platform_id: str | int) -> str:
    message = f"{channel}:{platform_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def load_or_create_secret(data_dir: Path) -> bytes:
    """The pseudonym key kept in the data dir, created once with owner-only permissions."""
    path = data_dir / SECRET_FILE
    if path.exists():
        return path.read_text(encoding="ascii").strip().encode()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(32)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip().encode()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(value + "\n")
    log.info("created a new pseudonym secret in the data directory")
    return value.encode()


# Order matters: longer number shapes first, so an ID number is not half-eaten by the phone pattern.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE), "[链接]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[邮箱]"),
    (re.compile(r"(?<!\d)\d{6}(19|20)\d{2}(0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?!\d)"), "[身份证号]"),
    (re.compile(r"(?<!\d)(\d[ -]?){15,18}\d(?!\d)"), "[卡号]"),
    (re.compile(r"(?<!\d)(\+?86[ -]?)?1[3-9]\d([ -]?\d){8}(?!\d)"), "[手机号]"),
    (re.compile(r"(?<!\d)0\d{2,3}[ -]?\d{7,8}(?!\d)"), "[电话]"),
)


def redact(text: str) -> str:
    for pattern, label in _REDACTIONS:
        text = pattern.sub(label, text)
    return text
