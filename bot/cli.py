"""The `anxin` command line (also `python -m bot`): run, chat, lint, match, eval and admin commands."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from . import logs
from .evaluation import EvalFileError, Report, evaluate, held_out, load_labelled
from .knowledge import KnowledgeBase, load_knowledge
from .settings import Settings, StartupError

log = logging.getLogger("bot")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One clear line, exit code 2: what a volunteer needs, not a usage dump.
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _write(text: str) -> None:
    sys.stdout.write(text + "\n")


def _knowledge(settings: Settings) -> KnowledgeBase:
    loaded = load_knowledge(settings.content_dir)
    if loaded.errors:
        log.warning("%d content problem(s); `anxin lint` lists them", len(loaded.errors))
    return loaded.knowledge


def cmd_lint(settings: Settings, args: argparse.Namespace) -> int:
    loaded = load_knowledge(settings.content_dir)
    for error in loaded.errors:
        _write(str(error))
    kb = loaded.knowledge
    if loaded.errors:
        _write(f"{len(loaded.errors)} problem(s) found")
        return 1
    answers = sum(1 for _, locale in kb.answers if locale != "zh-Hant")
    examples = sum(len(intent.examples) for intent in kb.intents.values())
    _write(f"ok: {len(kb.intents)} intents, {examples} examples, {answers} answers")
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
    return 0


def _print_report(report: Report) -> None:
    data = report.as_json()
    for miss in report.errors:
        _write(f"MISS [{miss.kind}] {miss.text!r}: expected {miss.expected}, got {miss.got}")
    _write(
        f"total {data['total']}  accuracy {data['accuracy']:.1%}  in-scope {data['in_scope_accuracy']:.1%}  "
        f"out-of-scope rejected {data['oos_rejection']:.1%}  clarify {data['clarify_rate']:.1%}  "
        f"confident wrong {data['confident_wrong']}"
    )


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    kb = _knowledge(settings)
    if args.file is None:
        items = held_out(kb)
    else:
        try:
            items = load_labelled(Path(args.file))
        except EvalFileError as exc:
            sys.stderr.write(f"anxin eval: {exc}\n")
            return 2
    report = evaluate(kb, items)
    if args.json:
        _write(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_report(report)
    return 0


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    from .runner import run_console

    asyncio.run(run_console(settings))
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    from .stats import collect, render_html, render_table
    from .store import StoreError, database_path

    if args.days < 1:
        sys.stderr.write("anxin stats: --days must be 1 or more\n")
        return 2
    try:
        report = asyncio.run(collect(database_path(settings), args.days))
    except StoreError as exc:
        sys.stderr.write(f"anxin stats: {exc}\n")
        return 2
    if args.html:
        try:
            Path(args.html).write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            sys.stderr.write(f"anxin stats: cannot write {args.html}: {exc.strerror}\n")
            return 2
    if args.json:
        _write(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _write(render_table(report))
    return 0


async def _purge(settings: Settings) -> str:
    from .store import SqliteStore

    store = await SqliteStore.from_settings(settings)
    try:
        result = await store.purge()
    finally:
        await store.close()
    return (
        f"purged: {result.sessions} idle session(s), {result.event_links} per-user event link(s), "
        f"{result.unanswered} unanswered question(s)"
    )


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    from .store import StoreError

    try:
        _write(asyncio.run(_purge(settings)))
    except StoreError as exc:
        sys.stderr.write(f"anxin purge: {exc}\n")
        return 2
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
        _write("")
        _write(json.dumps(report, ensure_ascii=False))
    # Exit 0 even when a target is missed: the bench reports, the tests gate.
    return 0


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    from .runner import run

    asyncio.run(run(settings))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="anxin", description="安心 Anxin: advice for borrowers facing abusive debt collection")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    commands.add_parser("run", help="start every configured channel (console chat when none)").set_defaults(
        handler=cmd_run
    )
    commands.add_parser("chat", help="chat on the console; reads one message a line from a pipe").set_defaults(
        handler=cmd_chat
    )
    commands.add_parser("lint", help="check intents/ and faq/; exit 1 on any problem").set_defaults(handler=cmd_lint)
    match = commands.add_parser("match", help="show the decision for one message")
    match.add_argument("text")
    match.add_argument("--json", action="store_true", help="machine-readable output")
    match.set_defaults(handler=cmd_match)
    evaluation = commands.add_parser("eval", help="accuracy on a labelled YAML file, or on the intents' tests")
    evaluation.add_argument("file", nargs="?", help="labelled YAML (default: every intent's `tests`)")
    evaluation.add_argument("--json", action="store_true", help="machine-readable output")
    evaluation.set_defaults(handler=cmd_eval)
    stats = commands.add_parser("stats", help="usage statistics for admins")
    stats.add_argument("--days", type=int, default=30, help="how many days back, today included (default 30)")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with a daily chart")
    stats.set_defaults(handler=cmd_stats)
    commands.add_parser("purge", help="apply the retention policy now (BOT_*_DAYS)").set_defaults(handler=cmd_purge)
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
    )
    return [value.value for value in values if value is not None]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except StartupError as exc:
        sys.stderr.write(f"anxin: {exc}\n")
        return 2
    quiet = args.command in ("chat", "lint", "match", "eval", "bench") or (args.command == "run" and sys.stdin.isatty())
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
    except Exception:
        # Whatever it is, it goes through the log, where secrets are hidden: never a raw traceback on stderr.
        log.critical("anxin %s stopped on an unexpected error", args.command, exc_info=True)
        return 1
    return result
