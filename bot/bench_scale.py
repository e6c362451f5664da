"""Knowledge-base scaling for `anxin bench`: the matcher at 3k, 10k, 30k and 100k examples, each size measured
in a child process of its own (so peak memory is that size's alone), with the same-run anchors beside it.

    build         Matcher.build over the synthetic intents (`bot.bench.synthetic_intents`, 20 examples each)
    match         Matcher.match on held-out phrasings of those intents: p50 and p99
    difflib       the best SequenceMatcher ratio against every example, on a subset of the same queries:
                  the speed-up is difflib's median ÷ the matcher's median on that subset
    TF-IDF        character 1-3-gram TF-IDF, nearest example by cosine (numpy, an inverted index): p50 on the
                  same queries, and (in `tfidf_accuracy`) its accuracy on eval/holdout.yaml beside Anxin's
    peak RSS      the child's high-water mark (VmHWM): knowledge base loaded, matcher built, queries run
    reload peak   the high-water mark after a second build beside the first (what a reload does) ÷ the first
    start-up      a `python -m bot chat` child on a content folder of the bundled content plus the synthetic
                  intents (with answers): exec to first reply, and its peak RSS

Run one size by hand: `python -m bot.bench_scale 30000` prints its JSON.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .bench_load import _quiet, difflib_best, measure_startup, percentile, synthetic_intents
from .knowledge import Intent, KnowledgeBase, load_knowledge
from .text import normalise

SIZES = (3_000, 10_000, 30_000, 100_000)
EXAMPLES_PER_INTENT = 20


def _status_mb(field: str) -> float:
    """A field of /proc/self/status in MB (Linux); 0 where there is none."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _reset_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs); False where it cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True


# --- TF-IDF anchor ----------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def _grams(text: str) -> dict[str, float]:
    text = _SPACES.sub(" ", text)
    counts: dict[str, float] = defaultdict(float)
    for size in (1, 2, 3):
        for start in range(len(text) - size + 1):
            counts[text[start : start + size]] += 1.0
    return counts


class TfidfBaseline:
    """A plain TF-IDF nearest-example classifier on character 1-3-grams: the textbook fast baseline."""

    def __init__(self, intents: Sequence[Intent]) -> None:
        owners: list[int] = []
        docs: list[dict[str, float]] = []
        for index, intent in enumerate(intents):
            for example in intent.examples:
                docs.append(_grams(normalise(example)))
                owners.append(index)
        frequency: dict[str, int] = defaultdict(int)
        for doc in docs:
            for gram in doc:
                frequency[gram] += 1
        total = max(len(docs), 1)
        self.idf = {gram: math.log((1 + total) / (1 + df)) + 1.0 for gram, df in frequency.items()}
        postings: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        for row, doc in enumerate(docs):
            weights = {gram: (1 + math.log(tf)) * self.idf[gram] for gram, tf in doc.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            for gram, weight in weights.items():
                rows, values = postings[gram]
                rows.append(row)
                values.append(weight / norm)
        self.columns = {
            gram: (np.array(rows, dtype=np.intp), np.array(values)) for gram, (rows, values) in postings.items()
        }
        self.owners = np.array(owners, dtype=np.intp)
        self.ids = tuple(intent.id for intent in intents)
        self.out_of_scope = frozenset(intent.id for intent in intents if intent.id.startswith("oos."))
        self.size = len(docs)

    def best(self, text: str) -> tuple[str | None, float]:
        doc = _grams(normalise(text))
        weights = {gram: (1 + math.log(tf)) * self.idf[gram] for gram, tf in doc.items() if gram in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if not weights or norm == 0 or not self.size:
            return None, 0.0
        found = [(self.columns[gram], weight / norm) for gram, weight in weights.items()]
        rows = np.concatenate([indexes for (indexes, _), _ in found])
        values = np.concatenate([column * weight for (_, column), weight in found])
        dots = np.asarray(np.bincount(rows, weights=values, minlength=self.size), dtype=np.float64)
        row = int(np.argmax(dots))
        return self.ids[int(self.owners[row])], float(dots[row])

    def predict(self, text: str, threshold: float) -> str | None:
        intent, score = self.best(text)
        if intent is None or score < threshold or intent in self.out_of_scope:
            return None
        return intent


@dataclass(frozen=True)
class Accuracy:
    anxin: float  # share of eval/holdout.yaml the bot gets right (answered or offered first; fallback for null)
    anxin_wrong_answers: int  # answered with the wrong intent
    tfidf: float
    tfidf_wrong_answers: int
    tfidf_threshold: float  # the cosine below which TF-IDF falls back, the best on eval/dev.yaml
    items: int


def tfidf_accuracy(kb: KnowledgeBase, root: Path) -> Accuracy | None:
    """Anxin and the TF-IDF anchor on eval/holdout.yaml; TF-IDF's fallback threshold is tuned on eval/dev.yaml."""
    from .evaluation import EvalFileError, evaluate, load_labelled

    try:
        dev = load_labelled(root / "eval" / "dev.yaml")
        holdout = load_labelled(root / "eval" / "holdout.yaml")
    except EvalFileError:
        return None
    baseline = TfidfBaseline(list(kb.intents.values()))
    dev_scores = [(item.expected, *baseline.best(item.text)) for item in dev]

    def dev_hits(threshold: float) -> int:
        return sum(
            (got if got is not None and score >= threshold and got not in baseline.out_of_scope else None) == expected
            for expected, got, score in dev_scores
        )

    threshold = max((step / 100 for step in range(0, 100, 2)), key=lambda value: (dev_hits(value), -value))
    tfidf_hits = tfidf_wrong = 0
    for item in holdout:
        got = baseline.predict(item.text, threshold)
        tfidf_hits += got == item.expected
        tfidf_wrong += got is not None and got != item.expected
    report = evaluate(kb, holdout)
    total = max(len(holdout), 1)
    return Accuracy(
        anxin=report.correct / total,
        anxin_wrong_answers=report.confident_wrong,
        tfidf=tfidf_hits / total,
        tfidf_wrong_answers=tfidf_wrong,
        tfidf_threshold=threshold,
        items=len(holdout),
    )


# --- One size, in a child -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleTiming:
    examples: int
    intents: int
    build_s: float
    match_p50_ms: float
    match_p99_ms: float
    difflib_p50_ms: float
    speedup: float  # difflib median ÷ matcher median, same queries, same process
    tfidf_build_s: float
    tfidf_p50_ms: float
    peak_rss_mb: float  # the child's high-water mark: bundled knowledge base, synthetic matcher, its queries
    build_peak_mb: float  # the high-water mark during the build, above the RSS just before it
    reload_ratio: float  # high-water mark over a second build beside the first ÷ the RSS with one matcher
    startup_s: float = 0.0
    startup_rss_mb: float = 0.0  # every start after the first (`measure_startup`)
    first_startup_rss_mb: float = 0.0  # the first, on an empty data folder
    training_peak_mb: float = 0.0  # the first start's safety-net training process (`measure_startup`)


def _timed(function: object, queries: Sequence[str]) -> list[float]:
    call = function  # a callable taking one query
    samples: list[float] = []
    for query in queries:
        start = time.perf_counter()
        call(query)  # type: ignore[operator]
        samples.append(time.perf_counter() - start)
    return samples


def synthetic_for(kb: KnowledgeBase, examples: int) -> tuple[list[Intent], list[str]]:
    count = max(1, examples // EXAMPLES_PER_INTENT)
    return synthetic_intents(list(kb.intents.values()), count=count, examples_per_intent=EXAMPLES_PER_INTENT)


def measure_size(content_dir: Path, examples: int, *, queries: int, baseline_queries: int) -> ScaleTiming:
    """One size, in this process (call it in a fresh child: the memory figures are this process's)."""
    from .matcher import Matcher

    with _quiet("bot.knowledge"):
        kb = load_knowledge(content_dir).knowledge
    made, asked = synthetic_for(kb, examples)
    asked = asked[:queries]
    before = _status_mb("VmRSS")
    _reset_peak()
    start = time.perf_counter()
    matcher = Matcher.build(made)
    build_s = time.perf_counter() - start
    build_peak = _status_mb("VmHWM") - before

    for query in asked[:30]:
        matcher.match(query)  # warm caches (OpenCC, rapidfuzz)
    samples = _timed(matcher.match, asked)
    peak = _status_mb("VmHWM")  # before the anchors: the matcher's process, not the baselines' memory
    subset = asked[: max(1, baseline_queries)]
    examples_text = matcher.example_text
    baseline = _timed(lambda query: difflib_best(query, examples_text), subset)
    ours = statistics.median(_timed(matcher.match, subset * 3))

    start = time.perf_counter()
    tfidf = TfidfBaseline(made)
    tfidf_build = time.perf_counter() - start
    tfidf_samples = _timed(tfidf.best, asked)
    del tfidf

    one = _status_mb("VmRSS")
    _reset_peak()
    second = Matcher.build(made)  # a reload builds the new matcher while the old one still serves
    reload_peak = _status_mb("VmHWM")
    del second
    return ScaleTiming(
        examples=len(examples_text),
        intents=len(matcher.intents),
        build_s=build_s,
        match_p50_ms=percentile(samples, 0.5) * 1000,
        match_p99_ms=percentile(samples, 0.99) * 1000,
        difflib_p50_ms=statistics.median(baseline) * 1000,
        speedup=statistics.median(baseline) / ours if ours > 0 else float("inf"),
        tfidf_build_s=tfidf_build,
        tfidf_p50_ms=percentile(tfidf_samples, 0.5) * 1000,
        peak_rss_mb=peak,
        build_peak_mb=build_peak,
        reload_ratio=reload_peak / one if one > 0 else 0.0,
    )


def _yaml_text(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def write_content(source: Path, target: Path, made: Sequence[Intent]) -> None:
    """The bundled content in `target`, plus the synthetic intents with a short answer each in zh-Hans and en."""
    for name in ("intents", "faq", "safety", "lexicon", "letters"):
        if (source / name).is_dir():
            shutil.copytree(source / name, target / name)
    for name in ("content-rules.yaml",):
        if (source / name).is_file():
            shutil.copy(source / name, target / name)
    lines: list[str] = []
    for intent in made:
        lines.append(f"- id: {intent.id.replace('_', '')}")
        lines.append("  title: {zh-Hans: 测试问题, en: A test question}")
        lines.append("  examples:")
        lines.extend(f"    - {_yaml_text(example)}" for example in intent.examples)
        if intent.keywords:
            lines.append("  keywords: [" + ", ".join(_yaml_text(k) for k in intent.keywords) + "]")
    (target / "intents" / "zz-bench.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for locale, answer in (("zh-Hans", "这是一个测试回答。"), ("en", "This is a test answer.")):
        folder = target / "faq" / locale
        folder.mkdir(parents=True, exist_ok=True)
        text = "".join(
            f"- intent: {intent.id.replace('_', '')}\n  answer: {answer}\n  reviewed: 2026-11-30\n" for intent in made
        )
        (folder / "zz-bench.yaml").write_text(text, encoding="utf-8")


def _child_size(examples: int, queries: int, baseline_queries: int, content_dir: Path) -> ScaleTiming:
    """One size in a fresh `python -m bot.bench_scale` child, one core, so its memory and time are its own."""
    command = [
        sys.executable,
        "-m",
        "bot.bench_scale",
        str(examples),
        "--queries",
        str(queries),
        "--baseline",
        str(baseline_queries),
        "--content",
        str(content_dir),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=Path(__file__).parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"scaling child for {examples} examples failed:\n{done.stderr[-2000:]}")
    return ScaleTiming(**json.loads(done.stdout.strip().splitlines()[-1]))


def measure_scaling(
    content_dir: Path,
    sizes: Sequence[int] = SIZES,
    *,
    queries: int = 400,
    baseline_queries: int = 8,
    startup_sizes: Sequence[int] = (),
) -> list[ScaleTiming]:
    from dataclasses import replace

    with _quiet("bot.knowledge"):
        kb = load_knowledge(content_dir).knowledge
    results: list[ScaleTiming] = []
    for examples in sizes:
        timing = _child_size(examples, queries, baseline_queries, content_dir)
        if examples in startup_sizes:
            made, _ = synthetic_for(kb, examples)
            with tempfile.TemporaryDirectory(prefix="anxin-scale-") as folder:
                write_content(content_dir, Path(folder), made)
                startup = measure_startup(Path(folder), runs=1)
            timing = replace(
                timing,
                startup_s=startup.seconds,
                startup_rss_mb=startup.peak_rss_mb,
                first_startup_rss_mb=startup.first_peak_rss_mb,
                training_peak_mb=startup.training_peak_mb,
            )
        results.append(timing)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    import argparse

    from .settings import _default_content_dir

    parser = argparse.ArgumentParser(prog="python -m bot.bench_scale")
    parser.add_argument("examples", type=int)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--baseline", type=int, default=8)
    parser.add_argument("--content", type=Path, default=None)
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    content = args.content or _default_content_dir()
    timing = measure_size(content, args.examples, queries=args.queries, baseline_queries=args.baseline)
    sys.stdout.write(json.dumps(asdict(timing)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
