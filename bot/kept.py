"""Arrays kept in the data folder's `cache/` between starts: the safety net's weights (`bot.safety`) and the
matcher's arrays (`bot.matcher_cache`), each in a numpy .npz file named by a digest of what it was made from.

Texts are kept as one UTF-8 byte array and their lengths: a numpy string array pads every text to the longest
(the safety net's 194k features at 30k extra examples took 57 MB that way, and as long to read), and pickled
objects are never read (`allow_pickle=False`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

Arrays = Mapping[str, npt.NDArray[np.generic]]


def pack_texts(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """The texts as one UTF-8 byte array, and each text's length in characters."""
    blob = "".join(texts).encode("utf-8", "surrogatepass")
    return np.frombuffer(blob, dtype=np.uint8), np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))


def unpack_texts(blob: npt.NDArray[np.generic], lengths: npt.NDArray[np.generic]) -> list[str]:
    """What `pack_texts` was given; ValueError when the two arrays do not fit together."""
    if blob.dtype != np.uint8 or lengths.dtype != np.int64 or blob.ndim != 1 or lengths.ndim != 1:
        raise ValueError("texts kept in arrays of the wrong kind")
    text = blob.tobytes().decode("utf-8", "surrogatepass")
    if len(lengths) and int(lengths.min()) < 0:
        raise ValueError("a text of negative length")
    ends = list(itertools.accumulate(lengths.tolist()))
    if (ends[-1] if ends else 0) != len(text):
        raise ValueError("text lengths do not add up")
    return [text[start:end] for start, end in zip([0, *ends][:-1], ends, strict=True)]  # [] for no text


def code_digest(*modules: str | None) -> hashlib._Hash:
    """A sha256 begun with the source of `modules` (their `__file__`): what is kept is named by the code that made it
    as well as by its content, so a changed reader or trainer never reads an older file."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(str(module)).read_bytes())
    return digest


def read_arrays(path: Path, names: Sequence[str] | None = None) -> dict[str, npt.NDArray[np.generic]]:
    """Every array in the file, or only those `names` (the others are not read); raises whatever a missing or
    damaged file raises, KeyError for a name the file lacks."""
    # Opened here, so that it is closed however damaged it is (np.load leaves it open on a broken zip).
    with path.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        return {name: data[name] for name in (data.files if names is None else names)}


def write_text(final: Path, text: str) -> None:
    """`final` holding `text` (UTF-8), written atomically: a temporary file beside it, then a rename. Raises OSError,
    leaving no temporary file behind; the folder is made when missing."""
    temporary = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, final)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise


def write_arrays(folder: Path, prefix: str, key: str, arrays: Arrays) -> None:
    """`folder/{prefix}{key}.npz`, written atomically (a temporary file, then rename); the files of older
    content (the same prefix, another key) are removed. Raises OSError, leaving no temporary file behind."""
    final = folder / f"{prefix}{key}.npz"
    temporary = folder / f".{prefix}{key}.{os.getpid()}.tmp.npz"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(temporary, allow_pickle=False, **arrays)
        os.replace(temporary, final)
        for old in folder.glob(f"{prefix}*.npz"):
            if old != final:
                old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise
