"""Text normalisation, script detection and script conversion for matching and replies.

Matching works on one canonical form: NFKC (full-width → half-width), case-folded, Traditional → Simplified
(OpenCC t2s), with punctuation, emoji and spacing removed, except single spaces between Latin words, which
the English scorers need. Replies are written in Simplified Chinese and converted for Traditional writers.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from functools import cache, lru_cache
from pathlib import Path
from typing import Protocol

from .models import Locale


class _Converter(Protocol):
    def convert(self, text: str) -> str: ...


@cache
def _opencc(config: str) -> _Converter:
    # OpenCC builds its dictionaries on first use (a few ms); cached converters are read-only.
    import opencc

    converter: _Converter = opencc.OpenCC(config)
    return converter


@cache
def _taiwan_variants() -> _Converter:
    """OpenCC's last step of s2tw alone (Taiwan's standard character forms, 裏 → 裡), as a config of its own: its two
    small dictionaries, found where the opencc package keeps its data."""
    import opencc

    share = Path(opencc.__file__).parent / "clib" / "share" / "opencc"
    names = ("TWVariantsPhrases.ocd2", "TWVariants.ocd2")
    dictionaries = [{"type": "ocd2", "file": str(share / name)} for name in names]
    config = {
        "name": "Traditional Chinese to Taiwan standard forms (the last step of s2tw)",
        "conversion_chain": [{"dict": {"type": "group", "match_policy": "short_circuit", "dicts": dictionaries}}],
    }
    # OpenCC reads a config only from a file; the file is not needed once the converter is built.
    with tempfile.TemporaryDirectory(prefix="anxin-opencc-") as folder:
        path = Path(folder) / "tw-variants.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        converter: _Converter = opencc.OpenCC(str(path))
    return converter


def to_simplified(text: str) -> str:
    return _opencc("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified → Traditional characters (Taiwan standard forms), keeping mainland wording.

    Not s2twp: its phrase conversion renames laws and documents (《个人信息保护法》 → 《個人資訊保護法》,
    互联网金融 → 網際網路金融), and a cited source must keep its real name.

    OpenCC's s2tw is s2t followed by the Taiwan variants step. Done here as those two steps, so the one copy of the
    large phrase dictionary that `to_traditional_chars` needs serves both: s2tw held its own two copies, 43 MB of a
    process of about 190 (a test checks the result is s2tw's on every bundled text).
    """
    return _taiwan_variants().convert(_opencc("s2t").convert(text))


def warm_up() -> None:
    """Load the OpenCC dictionaries now, so the first user does not wait for them."""
    to_simplified("測試")
    to_traditional("测试")


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FFFF or 0xF900 <= code <= 0xFAFF
    )


_CJK_RANGES = "\u4e00-\u9fff\u3400-\u4dbf\U00020000-\U0002ffff\uf900-\ufaff"
_NOT_WORD = re.compile(r"[\W_]+")  # punctuation, symbols, emoji and spacing: letters and digits of any script stay
_SPACE_BY_CJK = re.compile(f" (?=[{_CJK_RANGES}])|(?<=[{_CJK_RANGES}]) ")


# One message is normalised several times on its way through (the safety check, the matcher and each of its
# clauses, typed option picking, the flows): the last few results are kept, so it is done once. Few and short on
# purpose: this remembers the text of the last message or two in memory, never more, and never long text; /forget
# and a dropped flow empty it (`forget_recent_texts`).
RECENT_TEXTS = 32
RECENT_MAX_CHARS = 600


def normalise(text: str) -> str:
    """The canonical form used for matching: see the module docstring."""
    return _normalise_recent(text) if len(text) <= RECENT_MAX_CHARS else _normalise(text)


def _normalise(text: str) -> str:
    folded = simplified_folded(text)
    # Chinese has no spaces between words: a space next to a Chinese character carries nothing.
    return _SPACE_BY_CJK.sub("", _NOT_WORD.sub(" ", folded)).strip()


def respaced(text: str) -> str:
    """Spaces as `normalise` leaves them, after words were cut out of a normalised text: one between Latin words,
    none next to a Chinese character."""
    return _SPACE_BY_CJK.sub("", " ".join(text.split()))


def simplified_folded(text: str) -> str:
    """NFKC, case-folded, Simplified, punctuation kept: the first step of `normalise`, and what the role patterns
    read (`bot.understanding.fold`). Kept for the recent texts like `normalise`: both run on every message, and
    OpenCC is most of their cost."""
    return _folded_recent(text) if len(text) <= RECENT_MAX_CHARS else _simplified_folded(text)


def _simplified_folded(text: str) -> str:
    return to_simplified(unicodedata.normalize("NFKC", text).casefold())


_normalise_recent = lru_cache(maxsize=RECENT_TEXTS)(_normalise)
_folded_recent = lru_cache(maxsize=RECENT_TEXTS)(_simplified_folded)


# The same ranges as `_is_cjk`, as one regular expression: has_cjk runs for every keyword of every message.
_CJK_CHAR = re.compile(f"[{_CJK_RANGES}]")


def has_cjk(text: str) -> bool:
    return _CJK_CHAR.search(text) is not None


def detect_locale(text: str) -> Locale | None:
    """The script the user writes in, or None when the text does not tell (digits, emoji, "ok")."""
    return _detect_recent(text) if len(text) <= RECENT_MAX_CHARS else _detect_locale(text)


def _detect_locale(text: str) -> Locale | None:
    han = [char for char in unicodedata.normalize("NFKC", text) if _is_cjk(char)]
    if han:
        sample = "".join(han[:200])
        traditional_only = sum(a != b for a, b in zip(sample, to_simplified(sample), strict=False))
        simplified_only = sum(a != b for a, b in zip(sample, to_traditional_chars(sample), strict=False))
        return "zh-Hant" if traditional_only > simplified_only else "zh-Hans"
    letters = [char for char in text if char.isascii() and char.isalpha()]
    if len(letters) >= 2:
        return "en"
    return None


_detect_recent = lru_cache(maxsize=RECENT_TEXTS)(_detect_locale)  # asked twice a message: its script, its region


def forget_recent_texts() -> None:
    """Empty the caches of recent texts: on /forget and when a flow's story is dropped, nothing of it stays."""
    _normalise_recent.cache_clear()
    _folded_recent.cache_clear()
    _detect_recent.cache_clear()


def to_traditional_chars(text: str) -> str:
    """Simplified → Traditional standard forms (OpenCC s2t, no Taiwan variants), one character for one, so lengths
    stay aligned; its phrase entries keep a character that is already right in context (天台, 只是) as it is."""
    return _opencc("s2t").convert(text)


def encodable(text: str) -> str:
    """Text with lone surrogates (from a malformed JSON escape such as "\\ud800") replaced by "?".

    Such a string cannot be encoded as UTF-8, which OpenCC and every store need.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text
