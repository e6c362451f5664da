"""The `anxin` command line (also `python -m bot`): run, chat, lint, match, eval and admin commands."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from .evaluation import Comparison, Report, SafetyReport
    from .knowledge import KnowledgeSource as KnowledgeSourceType
    from .stats import StatsReport
    from .usage import UsageSnapshot

from . import logs
from .content import display_path
from .knowledge import CACHE_DIR, KnowledgeBase, did_you_mean, load_knowledge
from .models import LOCALES, Locale, Match, Reply
from .rates import Absurd, Cost, LoanTerms, Missing, absurd_message, compute, explain, meaning, parse, question_for
from .region import REGIONS, Region, infer_region
from .settings import Settings, StartupError
from .state import StoreError
from .text import detect_locale

log = logging.getLogger("bot")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One clear line, exit code 2: what a volunteer needs, not a usage dump.
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _cache(settings: Settings) -> Path:
    """Where the bot keeps what is slow to build from content (the safety net's weights, the matcher's arrays):
    a command reads them there instead of training again, and keeps them for the next command and the bot."""
    return settings.data_dir / CACHE_DIR


def _knowledge(settings: Settings) -> KnowledgeBase:
    loaded = load_knowledge(settings.content_dir, cache_dir=_cache(settings))
    if loaded.errors:
        log.warning("%d content problem(s); `anxin lint` lists them", len(loaded.errors))
    return loaded.knowledge


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-29") from None


def cmd_lint(settings: Settings, args: argparse.Namespace) -> int:
    from .review import date_problems, today_in_china

    loaded = load_knowledge(settings.content_dir, cache_dir=_cache(settings))
    kb = loaded.knowledge
    expired, stale = date_problems(kb, args.today or today_in_china())
    errors = sorted([*loaded.errors, *expired], key=lambda e: (str(e.path), e.line))
    for error in errors:
        _write(str(error))
    for warning in stale:
        _write(str(warning))
    if errors:
        _write(f"{len(errors)} problem(s) found")
        return 1
    answers = len(kb.written())
    examples = sum(len(intent.examples) for intent in kb.intents.values())
    warned = f"; {len(stale)} warning(s)" if stale else ""
    letters = len(kb.letters.written())
    _write(f"ok: {len(kb.intents)} intents, {examples} examples, {answers} answers, {letters} letter sets{warned}")
    return 0


def cmd_review(settings: Settings, args: argparse.Namespace) -> int:
    from .review import REVIEW_DAYS, due_for_review, today_in_china

    kb = _knowledge(settings)
    due = due_for_review(kb, args.today or today_in_china())
    if args.json:
        _write(json.dumps([item.as_json() for item in due], ensure_ascii=False, indent=2))
        return 0
    if not due:
        _write(f"nothing due: every answer was reviewed within {REVIEW_DAYS} days and none is near its valid_until")
        return 0
    for item in due:
        a = item.answer
        where = f"{display_path(a.path)}:{a.line}" if a.path else "faq"
        _write(f"{where}  {a.intent}  {a.locale}  {a.region or 'mainland'}  {item.reason}")
    _write(f"{len(due)} answer(s) due for review, oldest first")
    return 0


def cmd_match(settings: Settings, args: argparse.Namespace) -> int:
    kb = _knowledge(settings)
    decision = kb.decide(args.text)
    if args.json:
        _write(json.dumps(decision.as_json(), ensure_ascii=False))
        return 0
    _write(f"{decision.kind}: {decision.intent or '-'} ({decision.score:.1f})")
    for candidate in decision.candidates:
        _write(f"  {candidate.score:5.1f}  {candidate.intent}  {kb.title(candidate.intent, 'zh-Hans')}")
    if args.explain:
        _explain(kb, args.text, decision)
    return 0


def _explain(kb: KnowledgeBase, text: str, decision: Match) -> None:
    """Why the matcher decided what it did, for a volunteer tuning examples."""
    from .matcher import CONTEXT_WEIGHT, EXAMPLE_WEIGHT, NEAR_DISCOUNT

    found = kb.matcher.explain(text)
    _write("")
    _write(f"normalised:  {found.normalised}")
    if found.matched != found.normalised:
        _write(f"as matched:  {found.matched}   (lexicon/ aliases and dialect words applied)")
    if found.clauses:
        _write(f"clauses (a question counts fully, a story clause × {CONTEXT_WEIGHT:g}):")
        for clause, asks, best in found.clauses:
            winner = f"{best.intent} {best.score:.1f}" if best else "-"
            _write(f"  [{'asks ' if asks else 'story'}] {clause.strip()}  →  {winner}")
    if found.analysis.conjuncts:
        named = ", ".join(f"{c.intent} {c.score:.1f}" for c in found.analysis.conjuncts)
        _write(f"named side by side under one 'is it allowed?' (with a keyword each): {named}")
    if found.analysis.focus is not None:
        focus = found.analysis.focus
        _write(f"singled out as what they mainly want to know: {focus.intent} {focus.score:.1f}")
    _write(
        f"top candidates; whole-message score = {EXAMPLE_WEIGHT:g} × best example + {1 - EXAMPLE_WEIGHT:g} × "
        f"centroid (or near copy − {NEAR_DISCOUNT:g}) + keywords:"
    )
    for candidate in found.analysis.ranked[:5]:
        pieces = found.parts.get(candidate.intent, {})
        detail = ", ".join(f"{name} {value:g}" for name, value in pieces.items() if value)
        scope = " (out of scope)" if candidate.intent in kb.matcher.out_of_scope else ""
        whole = found.whole.get(candidate.intent, 0.0)
        source = f"; whole message {whole:.1f}, a clause scored higher" if candidate.score > whole + 0.05 else ""
        _write(f"  {candidate.score:5.1f}  {candidate.intent}{scope}  [{detail or '-'}{source}]")
    limits = kb.matcher.thresholds
    _write("thresholds:  " + "  ".join(f"{name} {getattr(limits, name):g}" for name in limits.__dataclass_fields__))
    _write(f"decision:    {decision.kind}, because {decision.reason or found.decision.reason}")
    if decision.kind != found.decision.kind:
        _write(
            f"             (the matcher alone said {found.decision.kind}; the safety layer or the long-message rule"
            " changed it)"
        )
    assessment = kb.assess(text)
    if assessment.reasons:
        # the rules, exclusions and nets behind a check-in, a crisis reply or a lean (`bot/safety.py`)
        leaning = " (leaning)" if assessment.leaning else ""
        _write(f"safety:      {assessment.level}{leaning}: {', '.join(assessment.reasons)}")


def _print_report(report: Report) -> None:
    data = report.as_json()
    for miss in report.errors:
        _write(f"MISS [{miss.kind}] {miss.text!r}: expected {miss.expected}, got {miss.got}")
    _write(
        f"total {data['total']}  accuracy {data['accuracy']:.1%}  in-scope {data['in_scope_accuracy']:.1%}  "
        f"out-of-scope rejected {data['oos_rejection']:.1%}  clarify {data['clarify_rate']:.1%}  "
        f"confident wrong {data['confident_wrong']}"
    )


def _print_safety(report: SafetyReport) -> None:
    data = report.as_json()
    for text, kind in report.misses:
        _write(f"MISS [{kind}] {text!r}")
    for text, kind in report.false_alarms:
        _write(f"FALSE ALARM [{kind}] {text!r}")
    clear = data["crisis_level_recall"]
    marked = f"  crisis reply on crisis-level {clear:.1%}" if isinstance(clear, float) else ""
    _write(
        f"total {data['total']}  recall {data['recall']:.1%}  crisis recall {data['crisis_recall']:.1%}{marked}  "
        f"false alarms {data['false_alarm_rate']:.1%}"
    )


def _print_changes(changes: Comparison, against: str) -> None:
    for change in changes.changes:
        mark = "BETTER" if change.better else "WORSE"
        _write(f"{mark} [{change.label}: {change.before} → {change.after}] {change.text!r}")
    _write(
        f"against {against}: {len(changes.better)} better, {len(changes.worse)} worse, {changes.unchanged} unchanged, "
        f"{changes.new} new, {changes.gone} gone"
    )


def _eval_safety(settings: Settings, args: argparse.Namespace) -> int:
    from .evaluation import EvalFileError, SafetyRun, compare, evaluate_safety, load_safety_items

    try:
        items = load_safety_items(Path(args.safety))
        # Read before the minutes of assessing, and before `--save` may replace the same file.
        before = SafetyRun.load(Path(args.against)) if args.against is not None else None
    except EvalFileError as exc:
        sys.stderr.write(f"anxin eval: {exc}\n")
        return 2
    kb = _knowledge(settings)
    run = SafetyRun.measure(kb, args.safety, items)
    safety = evaluate_safety(kb, items, run.outcomes)
    changes = compare(before, run) if before is not None else None
    if args.json:
        data = safety.as_json()
        if changes is not None:
            data["changes"] = changes.as_json()
        _write(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_safety(safety)
        if changes is not None:
            _print_changes(changes, args.against)
    if args.save is not None:
        try:
            run.save(Path(args.save))
        except OSError as exc:
            sys.stderr.write(f"anxin eval: cannot save the run to {args.save} ({exc})\n")
            return 2
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    from .evaluation import EvalFileError, evaluate, held_out, load_labelled

    if args.safety is not None:
        return _eval_safety(settings, args)
    if args.save is not None or args.against is not None:
        sys.stderr.write("anxin eval: --save and --against keep and compare safety runs; add --safety FILE\n")
        return 2
    kb = _knowledge(settings)
    if args.file is None:
        items = held_out(kb)
    else:
        try:
            items = load_labelled(Path(args.file))
        except EvalFileError as exc:
            sys.stderr.write(f"anxin eval: {exc}\n")
            return 2
    taken: list[Report] = []
    if args.intent is not None:
        if args.intent not in kb.intents:
            sys.stderr.write(f"anxin eval: no intent `{args.intent}`{did_you_mean(args.intent, kb.intents)}\n")
            return 2
        # The intent's own messages, and separately the others' messages it wrongly takes.
        others = [item for item in items if item.expected != args.intent]
        items = [item for item in items if item.expected == args.intent]
        taken = [evaluate(kb, others)]
    report = evaluate(kb, items)
    stolen = [miss for miss in taken[0].errors if miss.got == args.intent] if taken else []
    if args.json:
        data = report.as_json()
        if taken:
            data["taken_from_others"] = [{"text": m.text, "expected": m.expected, "kind": m.kind} for m in stolen]
        _write(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _print_report(report)
        for miss in stolen:
            _write(f"TAKEN [{miss.kind}] {miss.text!r}: expected {miss.expected}, got {miss.got}")
        if taken:
            _write(f"{len(stolen)} message(s) of other intents matched {args.intent}")
    return 0


def _render(channel: str, replies: list[Reply], kb: KnowledgeBase | None = None) -> list[str]:
    """The replies as the channel would send them."""
    if channel == "web":
        from .channels.webchat import hotline_numbers, render_web

        numbers = hotline_numbers(kb.care) if kb is not None else ()
        return [json.dumps(render_web(replies, numbers), ensure_ascii=False, indent=2)]
    if channel == "wechat":
        from .channels.wechat import render_wechat

        text = render_wechat(replies)
        return [text, f"({len(text.encode('utf-8'))} of 2048 bytes)"]
    if channel == "telegram":
        from .channels.telegram_render import render_telegram

        lines: list[str] = []
        for message in render_telegram(replies):
            lines.append(message.html)
            if message.keyboard is not None:
                lines.extend("  " + " ".join(f"[{b.text}]" for b in row) for row in message.keyboard.inline_keyboard)
        return lines
    from .channels.console import render_console

    return [render_console(replies)]


def cmd_show(settings: Settings, args: argparse.Namespace) -> int:
    from .dialog import Dialog
    from .knowledge import KnowledgeSource
    from .models import Incoming
    from .state import MemoryStore, Session

    if args.intent == "complaint" and not args.sample:
        sys.stderr.write("anxin show complaint: add --sample to see a filled-in example\n")
        return 2
    source = KnowledgeSource(settings.content_dir, cache_dir=_cache(settings))
    kb = source.current
    if args.intent == "complaint":
        return _show_complaint(source, args)
    if args.intent not in kb.intents or kb.intents[args.intent].out_of_scope:
        sys.stderr.write(f"anxin show: no answer for `{args.intent}` (see `anxin match`)\n")
        return 2
    region = None if args.region == "unknown" else args.region

    async def press() -> list[Reply]:
        # A user who chose this language and region, pressing the intent's button on this channel.
        store = MemoryStore()
        await store.put_session(
            Session("show", locale=args.locale, locale_pinned=True, region=region, region_pinned=region is not None)
        )
        dialog = Dialog(source, store, keep_unanswered=False)
        return await dialog.handle(Incoming(args.channel, "show", button=f"a:{args.intent}"))

    for line in _render(args.channel, asyncio.run(press()), kb):
        _write(line)
    answer = kb.answer(args.intent, args.locale, region)
    if answer is None:
        return 0
    origin = f"{display_path(answer.path)}:{answer.line}" if answer.path else "faq"
    how = "converted from the other Chinese script, " if answer.converted else ""
    _write("")
    _write(f"--- answer: {origin} ({how}written for {answer.region or 'mainland China'})")
    _write(f"reviewed: {answer.reviewed or '-'}   valid_until: {answer.valid_until or '-'}")
    if answer.sources:
        _write("sources (full title → shown as):")
        for item in answer.sources:
            _write(f"  - {item.full}  →  {item.short}")
    return 0


def _show_complaint(source: KnowledgeSourceType, args: argparse.Namespace) -> int:
    """`anxin show complaint --sample`: the letters a made-up user gets, as the channel shows them, then where
    each letter and each rule it cites comes from."""
    from .flows.letters import LETTER_REGIONS
    from .flows.sample import sample_story, sample_turns

    region: Region = next((r for r in LETTER_REGIONS if r == args.region), "mainland")
    letters = source.current.letters.get(region, args.locale)
    if letters is None:
        sys.stderr.write(f"anxin show complaint: no {region} letters in {args.locale} (see `anxin lint`)\n")
        return 2
    turns = asyncio.run(sample_turns(source, args.locale, region, args.channel))
    for number, turn in enumerate(turns, 1):
        if len(turns) > 1:
            hint = " (the user replies 1 for each next one)" if number == 1 else ""
            _write(f"--- message {number} of {len(turns)}{hint}")
        for line in _render(args.channel, turn, source.current):
            _write(line)
    origin = display_path(letters.path) if letters.path else "letters"
    how = " (converted from the other Chinese script)" if letters.converted else ""
    _write("")
    _write(f"--- letters: {origin}{how}; reviewed {letters.reviewed or '-'}, valid_until {letters.valid_until or '-'}")
    story = sample_story(region)
    for letter in letters.letters:
        if not letter.wanted(story):
            continue
        _write(f"{letter.id}: cites")
        for rule in letters.cited(letter.id, story):
            _write(f"  - [{rule.kind}] {rule.source}  ({rule.id}: when {', '.join(sorted(rule.when))})")
    return 0


def _rate_json(result: Cost | Missing | Absurd, locale: Locale, region: Region | None) -> dict[str, object]:
    if isinstance(result, Missing):
        return {"missing": list(result.fields), "question": question_for(result, locale)}
    if isinstance(result, Absurd):
        return {"absurd": result.reason, "message": absurd_message(result, locale)}
    return {
        **result.as_json(),
        "explanation": explain(result, locale, region),
        "meaning": meaning(result, locale, region),
    }


def _terms_line(terms: LoanTerms) -> str:
    return "terms: " + ", ".join(
        f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}" for key, value in terms.as_json().items()
    )


def cmd_rate(settings: Settings, args: argparse.Namespace) -> int:
    """The real annual cost of a loan described in words, for volunteers checking what the bot would say."""
    text: str = args.text
    locale: Locale = args.locale or detect_locale(text) or "zh-Hans"
    guess = infer_region(text)
    region: Region | None = args.region or (guess.region if guess is not None else None)
    parsed = parse(text)
    result = compute(parsed) if isinstance(parsed, LoanTerms) else parsed
    if args.json:
        _write(json.dumps(_rate_json(result, locale, region), ensure_ascii=False, indent=2))
        return 0
    if isinstance(result, Missing):
        _write(f"missing: {', '.join(result.fields)}")
        _write(question_for(result, locale))
        return 0
    if isinstance(result, Absurd):
        _write(f"absurd: {result.reason}" + (f" ({result.detail})" if result.detail else ""))
        _write(absurd_message(result, locale))
        return 0
    _write(_terms_line(result.terms))
    figures = f"apr {result.apr:.2%}"
    if result.effective is not None:
        figures += f"  effective {result.effective:.2%}"
    if result.total_cost is not None and result.cost_ratio is not None:
        figures += f"  total cost {result.total_cost:,.2f} ({result.cost_ratio:.0%} of the money received)"
    if result.deducted_up_front:
        figures += f"  deducted up front {result.deducted_up_front:,.2f}"
    _write(f"{figures}  [{result.method}]")
    for line in [*explain(result, locale, region), *meaning(result, locale, region)]:
        _write(line)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """A volunteer's test chat: in memory, so it never counts in the statistics, unless `--store` asks."""
    from .runner import open_services, run_console
    from .state import MemoryStore

    async def chat() -> None:
        services = None if args.store else await open_services(settings, MemoryStore())
        await run_console(settings, services)

    asyncio.run(chat())
    return 0


async def _collect(settings: Settings, days: int) -> StatsReport:
    from .runner import open_database
    from .stats import collect
    from .store import database_path

    path = database_path(settings)
    if settings.database_url is None and not await asyncio.to_thread(path.is_file):
        raise StoreError(path, "no database here yet (has the bot run with this BOT_DATA_DIR?)")
    kb = await asyncio.to_thread(_knowledge, settings)  # titles instead of ids; unanswered questions grouped
    store = await open_database(settings, migrate=False)
    try:
        return await collect(store, days, kb=kb)
    finally:
        await store.close()


async def _unanswered(settings: Settings, days: int) -> UsageSnapshot:
    from .runner import open_database
    from .store import database_path
    from .usage import DAY, day_of

    path = database_path(settings)
    if settings.database_url is None and not await asyncio.to_thread(path.is_file):
        raise StoreError(path, "no database here yet (has the bot run with this BOT_DATA_DIR?)")
    store = await open_database(settings, migrate=False)
    try:
        return await store.usage(day_of(time.time() - (days - 1) * DAY))
    finally:
        await store.close()


def cmd_suggest(settings: Settings, args: argparse.Namespace) -> int:
    """Unanswered questions grouped into drafts a volunteer can turn into examples or new intents."""
    from .suggest import draft_yaml, file_name, group, summary

    if args.days < 1:
        sys.stderr.write("anxin suggest: --days must be 1 or more\n")
        return 2
    try:
        snapshot = asyncio.run(_unanswered(settings, args.days))
    except StoreError as exc:
        sys.stderr.write(f"anxin suggest: {exc}\n")
        return 2
    kb = _knowledge(settings)
    suggestions = group(snapshot.unanswered, kb)
    if args.json:
        _write(json.dumps([s.as_json() for s in suggestions], ensure_ascii=False, indent=2))
        return 0
    if not suggestions:
        _write(f"no unanswered questions in the last {args.days} day(s)")
        return 0
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for number, suggestion in enumerate(suggestions, 1):
            (out / file_name(number, suggestion)).write_text(
                draft_yaml(suggestion, number, args.days, kb), encoding="utf-8"
            )
    except OSError as exc:
        sys.stderr.write(f"anxin suggest: cannot write drafts to {out}: {exc.strerror}\n")
        return 2
    for line in summary(suggestions):
        _write(line)
    _write(f"{len(suggestions)} draft(s) in {out}/ (the bot never reads them; see the comments at their top)")
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from .stats import render_csv, render_html, render_table

    if args.days < 1:
        sys.stderr.write("anxin stats: --days must be 1 or more\n")
        return 2
    if args.public and args.json:
        sys.stderr.write("anxin stats: --public is for the table, --html and --csv (--json keeps exact counts)\n")
        return 2
    try:
        report = asyncio.run(_collect(settings, args.days))
    except StoreError as exc:
        sys.stderr.write(f"anxin stats: {exc}\n")
        return 2
    files = [(args.html, "html"), (args.csv, "csv")]
    for name, kind in files:
        if not name:
            continue
        try:
            text = render_html(report, public=args.public) if kind == "html" else render_csv(report)
            Path(name).write_text(text, encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"anxin stats: cannot write {name}: {exc.strerror}\n")
            return 2
    if args.json:
        _write(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _write(render_table(report, public=args.public))
    return 0


async def _purge(settings: Settings) -> str:
    from .runner import open_database

    store = await open_database(settings)
    try:
        result = await store.purge()
    finally:
        await store.close()
    return (
        f"purged: {result.sessions} idle session(s), {result.event_links} per-user event link(s), "
        f"{result.unanswered} unanswered question(s)"
    )


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:

    try:
        _write(asyncio.run(_purge(settings)))
    except StoreError as exc:
        sys.stderr.write(f"anxin purge: {exc}\n")
        return 2
    return 0


async def _migrate(settings: Settings) -> str:
    if settings.database_url is None:
        from .store import SqliteStore, database_path

        path = database_path(settings)
        sqlite = await SqliteStore.open(path)  # opening the file upgrades it
        try:
            return f"{path}: schema version {await sqlite.schema_version()}, up to date"
        finally:
            await sqlite.close()
    from .store_pg import PostgresStore

    store = await PostgresStore.open(settings.database_url.value, pool_size=2, migrate=False)
    try:
        before = await store.schema_version()
        applied = await store.migrate()
        after = await store.schema_version()
    finally:
        await store.close()
    if not applied:
        return f"{store.name}: schema version {after}, up to date"
    return f"{store.name}: schema upgraded from version {before} to {after}"


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        _write(asyncio.run(_migrate(settings)))
    except StoreError as exc:
        sys.stderr.write(f"anxin migrate: {exc}\n")
        return 2
    return 0


def cmd_copy_store(settings: Settings, args: argparse.Namespace) -> int:
    from .copy_store import CopyError, copy_store
    from .store import database_path

    try:
        copied = asyncio.run(copy_store(database_path(settings), args.to))
    except (CopyError, StoreError) as exc:
        sys.stderr.write(f"anxin copy-store: {logs.scrub(str(exc))}\n")
        return 2
    _write(copied.summary())
    return 0


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from .bench import BenchSize, render_table, run_bench

    figures, details = run_bench(settings, BenchSize.quick() if args.quick else BenchSize())
    report = {"figures": [figure.as_json() for figure in figures], "details": details}
    if args.json:
        _write(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        # People read the table; the JSON line after it is for keeping a record of the run.
        _write(render_table(figures))
        if details.get("postgres_missing"):
            _write(f"PostgreSQL figures left out: {logs.scrub(str(details['postgres_missing']))}")
        _write("")
        _write(json.dumps(report, ensure_ascii=False))
    # Exit 0 even when a target is missed: the bench reports, the tests gate.
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from .runner import run

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(run(settings))
    return 0


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop when it is installed (optional: `pip install uvloop`), else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="anxin", description="安心 Anxin: advice for borrowers facing abusive debt collection")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("run", help="start every configured channel (console chat when none)").set_defaults(
        handler=cmd_run
    )
    chat = commands.add_parser(
        "chat", help="chat on the console (one message a line from a pipe); nothing is stored unless --store"
    )
    chat.add_argument("--store", action="store_true", help="keep the chat in the bot's database, like `run` does")
    chat.set_defaults(handler=cmd_chat)
    lint = commands.add_parser("lint", help="check intents/ and faq/; exit 1 on any problem")
    lint.add_argument("--today", type=_date, help="check review dates as if today were this day (YYYY-MM-DD)")
    lint.set_defaults(handler=cmd_lint)
    show = commands.add_parser("show", help="an answer exactly as a channel renders it, then its full sources")
    show.add_argument("intent", help="an intent id, or `complaint` (with --sample) for the /complain letters")
    show.add_argument("--locale", choices=["zh-Hans", "zh-Hant", "en"], default="zh-Hans")
    show.add_argument(
        "--region", choices=["mainland", "hk", "tw", "other", "unknown"], default="mainland", help="where the user is"
    )
    show.add_argument("--channel", choices=["console", "wechat", "telegram", "web"], default="console")
    show.add_argument("--sample", action="store_true", help="with `complaint`: letters filled in for a made-up user")
    show.set_defaults(handler=cmd_show)
    review = commands.add_parser("review", help="answers due for review or past valid_until, oldest first")
    review.add_argument("--json", action="store_true", help="machine-readable output")
    review.add_argument("--today", type=_date, help="as if today were this day (YYYY-MM-DD)")
    review.set_defaults(handler=cmd_review)
    match = commands.add_parser("match", help="show the decision for one message")
    match.add_argument("text")
    match.add_argument("--json", action="store_true", help="machine-readable output")
    match.add_argument(
        "--explain", action="store_true", help="the text as matched, clauses, score parts, thresholds and why"
    )
    match.set_defaults(handler=cmd_match)
    evaluation = commands.add_parser("eval", help="accuracy on a labelled YAML file, or on the intents' tests")
    evaluation.add_argument("file", nargs="?", help="labelled YAML (default: every intent's `tests`)")
    evaluation.add_argument(
        "--safety", metavar="FILE", help="crisis detection on [{text, crisis: true|false}] instead of matching"
    )
    evaluation.add_argument(
        "--save", metavar="PATH", help="with --safety: keep every message's outcome in PATH (JSON) for --against"
    )
    evaluation.add_argument(
        "--against", metavar="PATH", help="with --safety: list the messages whose outcome moved since the run in PATH"
    )
    evaluation.add_argument("--json", action="store_true", help="machine-readable output")
    evaluation.add_argument(
        "--intent", metavar="ID", help="only the messages labelled ID, and list other messages ID wrongly took"
    )
    evaluation.set_defaults(handler=cmd_eval)
    suggest = commands.add_parser("suggest", help="group unanswered questions into drafts for new examples")
    suggest.add_argument("--days", type=int, default=30, help="questions from the last N days (default 30)")
    suggest.add_argument("--out", default="suggestions", help="folder for the draft files (default: suggestions)")
    suggest.add_argument("--json", action="store_true", help="the groups as JSON on stdout; no files written")
    suggest.set_defaults(handler=cmd_suggest)
    rate = commands.add_parser("rate", help="the real annual cost of a loan described in words")
    rate.add_argument("text", help='e.g. "借1万到手8500分12期每期1000"')
    rate.add_argument("--json", action="store_true", help="machine-readable output")
    rate.add_argument("--locale", choices=LOCALES, help="language of the explanation (default: the text's)")
    rate.add_argument("--region", choices=REGIONS, help="whose rules frame the figure (default: guessed)")
    rate.set_defaults(handler=cmd_rate)
    stats = commands.add_parser("stats", help="usage statistics for admins")
    stats.add_argument("--days", type=int, default=30, help="how many days back, today included (default 30)")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with a daily chart")
    stats.add_argument("--csv", metavar="FILE", help="also write the aggregates as CSV (counts under 5 as <5)")
    stats.add_argument("--public", action="store_true", help="figures safe to publish: counts from 1 to 4 as <5")
    stats.set_defaults(handler=cmd_stats)
    commands.add_parser("purge", help="apply the retention policy now (BOT_*_DAYS)").set_defaults(handler=cmd_purge)
    commands.add_parser("migrate", help="upgrade the database schema now (the bot also does it at start)").set_defaults(
        handler=cmd_migrate
    )
    copy = commands.add_parser("copy-store", help="copy the SQLite database into an empty PostgreSQL database")
    copy.add_argument("--to", required=True, metavar="URL", help="postgresql://user:password@host:5432/dbname")
    copy.set_defaults(handler=cmd_copy_store)
    bench = commands.add_parser("bench", help="speed and memory figures against their targets")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--quick", action="store_true", help="a tiny run that only shows the bench works")
    bench.set_defaults(handler=cmd_bench)
    return parser


def _secrets(settings: Settings) -> list[str]:
    """Every configured secret, for the log scrubber (the generated key and derived ones are added later)."""
    values = (
        settings.secret,
        settings.telegram_token,
        settings.telegram_webhook_secret,
        settings.wechat_token,
        settings.wechat_aes_key,
        settings.database_url,
        settings.admin_token,
    )
    hidden = [value.value for value in values if value is not None]
    if settings.database_url is not None:
        from urllib.parse import urlsplit

        password = urlsplit(settings.database_url.value).password
        if password:
            hidden.append(password)
    return hidden


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except StartupError as exc:
        sys.stderr.write(f"anxin: {exc}\n")
        return 2
    quiet = args.command in ("chat", "lint", "match", "eval", "bench", "review", "show", "rate") or (
        args.command == "run" and sys.stdin.isatty()
    )
    logs.configure(logging.WARNING if quiet else settings.log_level, _secrets(settings))
    handler = args.handler
    try:
        result: int = handler(settings, args)
    except StartupError as exc:
        # Something the operator has to fix (a key, a token, a data dir): one line, no traceback.
        sys.stderr.write(f"anxin: {logs.scrub(str(exc))}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`anxin match … | head -1`): not an error of the bot, so nothing is logged. Output
        # still buffered goes nowhere instead of failing again at exit; the status is a program's ended by SIGPIPE.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception:
        # Whatever it is, it goes through the log, where secrets are hidden: never a raw traceback on stderr.
        log.critical("anxin %s stopped on an unexpected error", args.command, exc_info=True)
        return 1
    return result
