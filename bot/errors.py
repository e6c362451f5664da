"""Errors that stop the bot before it starts: one line for the operator, no traceback (see `bot.cli`)."""

from __future__ import annotations


class StartupError(Exception):
    """The bot cannot start; the message says why and what to do, in one line (no traceback)."""
