"""Pseudonyms, the key behind them, and redaction: how the bot avoids storing who people are.

A user is known only as HMAC-SHA256(key, channel + ":" + platform id). The key is `BOT_SECRET`, or one
generated once into the data dir. Anyone who has the key can test whether a given platform id used the bot,
so a key that is empty or short would make every pseudonym (and the Telegram webhook secret derived from it)
guessable: such a key is refused, never used. Unanswered questions are kept for volunteers only after
`bot.redaction.redact` has removed what identifies people.

Errors::

    StartupError (bot.settings)
     └── SecretError    the key is missing, unreadable, empty or too short, or cannot be created
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

from .errors import StartupError
from .redaction import redact
from .text import encodable

log = logging.getLogger(__name__)

SECRET_FILE = "secret.key"
MIN_SECRET_CHARS = 16  # the generated key has 64; anything this short is a mistake or a truncated file


class SecretError(StartupError):
    """The pseudonym key cannot be used; the message says what to do, in one line."""


def pseudonym(secret: bytes, channel: str, platform_id: str | int) -> str:
    message = f"{channel}:{platform_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def check_secret(value: bytes, where: str) -> bytes:
    """`value` when it is long enough to be a key; SecretError naming `where` otherwise."""
    if len(value) < MIN_SECRET_CHARS:
        raise SecretError(
            f"{where} is {'empty' if not value else f'only {len(value)} characters long'}; a pseudonym key needs at "
            f"least {MIN_SECRET_CHARS}. Restore the right key (a new one makes every stored user unknown), or, if "
            "the bot never ran with a good key, delete the file and start again"
        )
    return value


def load_or_create_secret(data_dir: Path) -> bytes:
    """The pseudonym key kept in the data dir, created once (atomically, owner-only) when there is none."""
    path = data_dir / SECRET_FILE
    found = _read_secret(path)
    if found is not None:
        return found
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        return _create_secret(path)
    except OSError as exc:
        raise SecretError(f"cannot create the pseudonym key {path}: {exc.strerror or exc}") from None


def _read_secret(path: Path) -> bytes | None:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SecretError(f"cannot read the pseudonym key {path}: {exc.strerror or exc}") from None
    return check_secret(raw.strip(), str(path))


def _create_secret(path: Path) -> bytes:
    """Write a new key to a private temporary file, flush it to disk, then link it into place.

    A link never replaces an existing file, so when two processes start at once exactly one key wins and
    the other process reads it; and the key file appears only complete, never empty or half-written, even
    when the disk fills up while writing (the temporary file is then removed).
    """
    value = secrets.token_hex(32).encode("ascii")
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(value + b"\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            found = _read_secret(path)  # another process was first; its file is complete
            if found is None:
                raise
            return found
        except OSError:
            # A file system without hard links: rename, which replaces, after checking nobody was faster.
            if path.exists():
                found = _read_secret(path)
                if found is not None:
                    return found
            os.rename(temporary, path)
        _sync_directory(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    log.info("created a new pseudonym secret in the data directory")
    return value


def _sync_directory(directory: Path) -> None:
    # The new directory entry must reach the disk too, or a power cut could lose the key the bot already uses.
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened for fsync
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


__all__ = [
    "MIN_SECRET_CHARS",
    "SECRET_FILE",
    "SecretError",
    "check_secret",
    "load_or_create_secret",
    "pseudonym",
    "redact",
]


MAX_UNANSWERED_CHARS = 300  # what is kept of a question the bot could not answer


def keepable(text: str) -> str:
    """What may be kept of a question the bot could not answer: personal data removed, at most
    `MAX_UNANSWERED_CHARS`, and only characters every store can hold (no lone surrogates, no NUL).

    The one definition of that rule: the dialog applies it before storing, and each store applies it again as
    it writes (applied twice it changes nothing).
    """
    # NUL says nothing in a question, and PostgreSQL refuses it in text.
    return encodable(redact(text, MAX_UNANSWERED_CHARS)).replace("\x00", "")
