"""Trains a safety net in a short-lived process of its own: `python -m bot.net_training INPUTS FOLDER KEY [PREFIX]`.

Started by `bot.safety` at a start that finds no kept weights, so the bot process never holds the training
arrays; it reads the weights this process keeps in FOLDER. Exits non-zero on any failure (the bot then
trains in its own process).
"""

from __future__ import annotations

import sys
from pathlib import Path

from .safety import ACT_CACHE_PREFIX, NET_CACHE_PREFIX, SOMEONE_CACHE_PREFIX, URGENT_CACHE_PREFIX, train_kept


def main(argv: list[str]) -> int:
    # PREFIX says which net the weights are: the one that flags a risk, the one that tells how clear it is, the one
    # that tells an act or a method, or the one that tells someone else at risk.
    kinds = (NET_CACHE_PREFIX, URGENT_CACHE_PREFIX, ACT_CACHE_PREFIX, SOMEONE_CACHE_PREFIX)
    if len(argv) not in (3, 4) or (argv[3:] and argv[3] not in kinds):
        prefixes = "|".join(kinds)
        sys.stderr.write(f"usage: python -m bot.net_training INPUTS FOLDER KEY [{prefixes}]\n")
        return 2
    train_kept(Path(argv[0]), Path(argv[1]), argv[2], *argv[3:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
