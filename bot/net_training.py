"""Trains the safety net in a short-lived process of its own: `python -m bot.net_training INPUTS FOLDER KEY`.

Started by `bot.safety` at a start that finds no kept weights, so the bot process never holds the training
arrays; it reads the weights this process keeps in FOLDER. Exits non-zero on any failure (the bot then
trains in its own process).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .safety import train_kept


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        sys.stderr.write("usage: python -m bot.net_training INPUTS FOLDER KEY\n")
        return 2
    train_kept(Path(argv[0]), Path(argv[1]), argv[2])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
