"""The built matcher's arrays, kept in the data folder between starts.

Building the matcher is most of what a start costs with a large knowledge base (1.5 s of 4.5 s at 30k extra
examples), and it is deterministic: the same intents, lexicon and code always give the same arrays. So, as the
safety net keeps its weights (`bot.safety`), the arrays are kept in `cache/` under a digest of everything the
build reads, and a start with nothing changed reads them instead of building. A reload that leaves the intents
and the lexicon as they were keeps the matcher it already has.

The file holds content only: the examples and keywords as matched, their features and weights; never anything
a user wrote (nothing a user writes is ever built into a matcher). It is written atomically (a temporary file,
then a rename), and the files of older content are removed. A missing file means a build; a stale or damaged
one is built again too, with a warning in the log, never a crash.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from . import lexicon as _lexicon_module
from . import matcher as _matcher_module
from . import region as _region_module
from . import text as _text_module
from .kept import Arrays, code_digest, pack_texts, read_arrays, unpack_texts, write_arrays
from .lexicon import Lexicon
from .matcher import Columns, KeywordIndex, Matcher, Teachable, Thresholds

log = logging.getLogger(__name__)

MATCHER_CACHE_PREFIX = "matcher-"
FORMAT = 1  # what the file holds and how: a new layout must not read an old file


class _Unfit(ValueError):
    """The kept arrays cannot be this content's matcher."""


def build_matcher(
    intents: Sequence[Teachable],
    *,
    lexicon: Lexicon,
    previous: Matcher | None = None,
    normalised: Mapping[str, str] | None = None,
    cache_dir: Path | None = None,
) -> Matcher:
    """The matcher for `intents`: the previous one when nothing it was built from changed, else the arrays kept
    in `cache_dir` for this content, else a fresh build (kept there for the next start)."""
    if cache_dir is None and previous is None:
        return Matcher.build(intents, lexicon=lexicon, normalised=normalised)
    key = matcher_key(intents, lexicon)
    if previous is not None and previous.digest == key:
        if cache_dir is not None and not _path(cache_dir, key).is_file():
            _keep_matcher(cache_dir, key, intents, previous)  # a new data folder still gets the arrays
        return previous
    if cache_dir is not None:
        kept = _kept_matcher(cache_dir, key, intents, lexicon)
        if kept is not None:
            return kept
    matcher = dataclasses.replace(
        Matcher.build(intents, lexicon=lexicon, previous=previous, normalised=normalised), digest=key
    )
    if cache_dir is not None:
        _keep_matcher(cache_dir, key, intents, matcher)
    return matcher


def matcher_key(intents: Sequence[Teachable], lexicon: Lexicon) -> str:
    """A digest of everything `Matcher.build` reads: the code, the Python and libraries that normalise text and
    do the arithmetic, the lexicon and every intent's id, examples and keywords, in order."""
    import opencc

    digest = code_digest(
        __file__, _matcher_module.__file__, _text_module.__file__, _lexicon_module.__file__, _region_module.__file__
    )
    versions = (
        FORMAT,
        sys.version,
        sys.platform,
        np.__version__,
        unicodedata.unidata_version,
        getattr(opencc, "__version__", ""),
    )
    digest.update(repr(versions).encode())
    for variant, word in sorted(lexicon.canonical.items()):
        digest.update(f"\0lexicon\0{variant}\0{word}".encode("utf-8", "surrogatepass"))
    for intent in intents:
        parts = (
            "intent",
            intent.id,
            str(intent.out_of_scope),
            str(len(intent.examples)),
            *intent.examples,
            str(len(intent.keywords)),
            *intent.keywords,
        )
        digest.update(("\0" + "\0".join(parts)).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:40]


def _path(folder: Path, key: str) -> Path:
    return folder / f"{MATCHER_CACHE_PREFIX}{key}.npz"


# --- reading ----------------------------------------------------------------------------------------------


def _kept_matcher(folder: Path, key: str, intents: Sequence[Teachable], lexicon: Lexicon) -> Matcher | None:
    path = _path(folder, key)
    if not path.is_file():
        return None
    try:
        return _assemble(read_arrays(path), key, intents, lexicon)
    except _Unfit as exc:
        log.warning("matcher: the kept arrays do not fit this content (%s); building again", exc)
    except Exception as exc:  # any damage to a cache file only means building again
        log.warning("matcher: the kept arrays could not be read (%s); building again", type(exc).__name__)
    return None


def _array(arrays: Arrays, name: str, dtype: type[np.generic]) -> npt.NDArray[np.generic]:
    found = arrays.get(name)
    if found is None:
        raise _Unfit(f"no `{name}`")
    if found.dtype != dtype or found.ndim != 1:
        raise _Unfit(f"`{name}` is {found.dtype}, {found.ndim}-dimensional")
    return found


def _texts(arrays: Arrays, name: str, count: int) -> list[str]:
    found = unpack_texts(_array(arrays, name, np.uint8), _array(arrays, f"{name}_lengths", np.int64))
    if len(found) != count:
        raise _Unfit(f"`{name}` holds {len(found)} texts, not {count}")
    return found


def _assemble(arrays: Arrays, key: str, intents: Sequence[Teachable], lexicon: Lexicon) -> Matcher:
    """The matcher `Matcher.build` would give, from its kept arrays, checked to fit together and `intents`."""
    stored_key = arrays.get("key")
    if stored_key is None or stored_key.shape != () or str(stored_key) != key:
        raise _Unfit("made from other content")
    counts = _array(arrays, "counts", np.int64).tolist()  # examples in all, features kept, keywords
    if len(counts) != 3:
        raise _Unfit("`counts` is not three numbers")
    examples, kept_features, keyword_count = counts
    written = [example for intent in intents for example in intent.examples]
    if examples != len(written):
        raise _Unfit(f"{examples} examples, not {len(written)}")
    as_matched = _texts(arrays, "prepared", examples)
    prepared = dict(zip(written, as_matched, strict=True))
    texts: list[str] = []
    bounds: list[tuple[int, int]] = []
    position = 0
    for intent in intents:
        first = len(texts)
        for text in as_matched[position : position + len(intent.examples)]:
            if text:
                texts.append(text)
        position += len(intent.examples)
        bounds.append((first, len(texts)))

    features = _texts(arrays, "features", kept_features)
    idf_values = _array(arrays, "idf", np.float64)
    columns = _array(arrays, "columns", np.int64)
    edges = _array(arrays, "edges", np.int64)
    rows = _array(arrays, "rows", np.int32)
    weights = _array(arrays, "weights", np.float64)
    if len(set(features)) != kept_features or len(idf_values) != kept_features or len(columns) != kept_features:
        raise _Unfit("features, idf and columns differ in length")
    if not len(edges) or edges[0] != 0 or np.any(np.diff(edges) < 0) or edges[-1] != len(rows):
        raise _Unfit("column edges do not fit the rows")
    if len(weights) != len(rows):
        raise _Unfit("rows and weights differ in length")
    if len(columns) and (columns.min() < 0 or columns.max() >= len(edges) - 1):
        raise _Unfit("a column outside the edges")
    if len(rows) and (rows.min() < 0 or rows.max() >= len(texts) + len(intents)):
        raise _Unfit("a row outside the examples and centroids")
    if not (np.isfinite(idf_values).all() and np.isfinite(weights).all()):
        raise _Unfit("a weight that is not a number")

    keyword_texts = _texts(arrays, "keywords", keyword_count)
    owner_counts = _array(arrays, "keyword_owner_counts", np.int64).tolist()
    owners = _array(arrays, "keyword_owners", np.int64).tolist()
    if len(owner_counts) != keyword_count or sum(owner_counts) != len(owners) or min(owner_counts, default=1) < 1:
        raise _Unfit("keyword owners do not add up")
    if owners and (min(owners) < 0 or max(owners) >= len(intents)):
        raise _Unfit("a keyword owned by an intent that is not there")
    if keyword_texts != sorted(set(keyword_texts)):
        raise _Unfit("keywords out of order")
    keyword_owners: list[tuple[str, tuple[tuple[int, float], ...]]] = []
    start = 0
    for text, count in zip(keyword_texts, owner_counts, strict=True):
        mine = owners[start : start + count]
        start += count
        keyword_owners.append((text, tuple((index, 10.0 / len(mine)) for index in mine)))

    ids = tuple(intent.id for intent in intents)
    out_of_scope = frozenset(intent.id for intent in intents if intent.out_of_scope)
    filled = [index for index, (first, last) in enumerate(bounds) if last > first]
    return Matcher(
        intents=ids,
        out_of_scope=out_of_scope,
        idf=dict(zip(features, idf_values.tolist(), strict=True)),
        example_text=tuple(texts),
        intent_rows=tuple(range(first, last) if last > first else range(0) for first, last in bounds),
        spans=Columns(dict(zip(features, columns.tolist(), strict=True)), edges.tolist()),
        rows=np.asarray(rows, dtype=np.int32),
        weights=np.asarray(weights, dtype=np.float64),
        starts=np.array([bounds[index][0] for index in filled], dtype=np.intp),
        with_examples=np.array(filled, dtype=np.intp),
        keywords=KeywordIndex.build(keyword_owners),
        lexicon=lexicon,
        thresholds=Thresholds(),
        out_of_scope_mask=np.array([intent_id in out_of_scope for intent_id in ids], dtype=bool),
        prepared=prepared,
        digest=key,
    )


# --- keeping ----------------------------------------------------------------------------------------------


def _keyword_owners(index: KeywordIndex) -> list[tuple[str, list[int]]]:
    """The keywords and their owners' indexes, in the sorted order `KeywordIndex.build` was given them."""
    found = [(text, owners) for entries in index.chinese.values() for text, owners in entries]
    found += [(" ".join(words), owners) for words, owners in index.latin.items()]
    return sorted((text, [owner for owner, _ in owners]) for text, owners in found)


def _keep_matcher(folder: Path, key: str, intents: Sequence[Teachable], matcher: Matcher) -> None:
    """Write the arrays atomically, removing the ones of older content (`bot.kept.write_arrays`)."""
    prepared = [matcher.prepared[example] for intent in intents for example in intent.examples]
    features = list(matcher.spans.number)
    keywords = _keyword_owners(matcher.keywords)
    arrays: dict[str, npt.NDArray[np.generic]] = {
        "key": np.array(key),
        "counts": np.array([len(prepared), len(features), len(keywords)], dtype=np.int64),
        "idf": np.array([matcher.idf[feature] for feature in features], dtype=np.float64),
        "columns": np.array(list(matcher.spans.number.values()), dtype=np.int64),
        "edges": np.array(matcher.spans.edges, dtype=np.int64),
        "rows": np.asarray(matcher.rows, dtype=np.int32),
        "weights": np.asarray(matcher.weights, dtype=np.float64),
        "keyword_owner_counts": np.array([len(owners) for _, owners in keywords], dtype=np.int64),
        "keyword_owners": np.array([owner for _, owners in keywords for owner in owners], dtype=np.int64),
    }
    for name, texts in (("prepared", prepared), ("features", features), ("keywords", [t for t, _ in keywords])):
        arrays[name], arrays[f"{name}_lengths"] = pack_texts(texts)
    try:
        write_arrays(folder, MATCHER_CACHE_PREFIX, key, arrays)
    except OSError as exc:  # a full or read-only disk: the next start builds again, nothing else changes
        log.warning("matcher: the arrays could not be kept (%s)", exc.strerror or exc)
