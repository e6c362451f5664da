"""The command line as users run it: real subprocesses, real files, exit codes and output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import anxin

REPO = Path(__file__).parent.parent


def test_piped_chat_greets_and_exits_zero(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="你好\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("你好,我是安心。")


def test_chat_answers_both_scripts_with_the_same_intent(kb_dir: Path, data_dir: Path) -> None:
    result = anxin(
        "chat", kb_dir=kb_dir, data_dir=data_dir, stdin="催收打电话给我妈妈合法吗\n催收打電話給我媽媽合法嗎\n"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.count("不合法。催收只能找借款人本人。") == 2  # the same answer twice…
    assert "依据：" in out and "[1] 详细说明" in out  # …once in Simplified
    assert "依據：" in out and "[1] 詳細說明" in out  # …and once in Traditional


def test_chat_numbers_pick_options(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="爆通讯录了怎么办\n2\n")
    assert result.returncode == 0, result.stderr
    assert "家人没有替你还钱的义务。" in result.stdout


def test_chat_creates_the_secret_with_owner_only_permissions(kb_dir: Path, data_dir: Path) -> None:
    anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="你好\n")
    secret = data_dir / "secret.key"
    assert secret.exists()
    assert secret.stat().st_mode & 0o777 == 0o600


def test_match_json_contract(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("match", "催收打電話給我媽媽合法嗎", "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["kind"] == "answer" and data["intent"] == "legal.contact_contacts"
    assert {"intent", "score"} == set(data["candidates"][0])


def test_output_cut_short_by_the_reader_is_no_error(kb_dir: Path, data_dir: Path) -> None:
    """`anxin match … | head -1`: the reader may close the pipe before the bot writes. That is no crash to log.
    (Closed here before the bot has even loaded its content, so its first write meets a closed pipe.)"""
    environment = {**os.environ, "BOT_CONTENT_DIR": str(kb_dir), "BOT_DATA_DIR": str(data_dir)}
    command = [sys.executable, "-m", "bot", "match", "催收打電話給我媽媽合法嗎", "--explain"]
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdout=pipe, stderr=pipe, env=environment, cwd=REPO) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        errors = process.stderr.read().decode()
        assert process.wait(timeout=60) == 141
    assert errors == ""


def test_match_json_crisis(kb_dir: Path, data_dir: Path) -> None:
    data = json.loads(anxin("match", "我不想活了", "--json", kb_dir=kb_dir, data_dir=data_dir).stdout)
    assert (data["kind"], data["intent"]) == ("crisis", "wellbeing.crisis")


def test_eval_json_on_a_labelled_file(kb_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "labelled.yaml"
    labelled.write_text(
        "- {text: 爆通讯录了怎么办, intent: legal.contact_contacts}\n"
        "- {text: 今天天气怎么样, intent: null}\n"
        "- {text: 家里人要不要帮我还钱, intent: legal.call_hours}\n",
        encoding="utf-8",
    )
    result = anxin("eval", str(labelled), "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == 3
    assert data["accuracy"] == pytest.approx(2 / 3, abs=1e-3)
    assert data["in_scope_accuracy"] == 0.5
    assert data["oos_rejection"] == 1.0
    assert data["clarify_rate"] == 0.0
    assert data["errors"] == [
        {
            "text": "家里人要不要帮我还钱",
            "expected": "legal.call_hours",
            "got": "rights.family_liability",
            "kind": "answer",
        }
    ]


def test_eval_safety_json_reports_the_crisis_reply_on_the_clear_risks_a_file_marks(
    kb_dir: Path, data_dir: Path, tmp_path: Path
) -> None:
    labelled = tmp_path / "safety.yaml"
    labelled.write_text(
        "- {text: 我不想活了, crisis: true, level: crisis}\n"
        "- {text: 今天天气不错, crisis: true, level: crisis}\n"
        "- {text: 好想从这个世界上消失, crisis: true, level: concern}\n"
        "- {text: 累死了, crisis: false}\n",
        encoding="utf-8",
    )
    result = anxin("eval", "--safety", str(labelled), "--json", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"total", "recall", "crisis_recall", "false_alarm_rate", "misses", "false_alarms"} <= set(data)
    assert data["total"] == 4 and data["crisis_level_recall"] == 0.5  # one of the two marked crisis-level
    # (the fixture's few rules have no word for disappearing)
    assert [miss["text"] for miss in data["misses"]] == ["今天天气不错", "好想从这个世界上消失"]
    printed = anxin("eval", "--safety", str(labelled), kb_dir=kb_dir, data_dir=data_dir).stdout
    assert "crisis reply on crisis-level 50.0%" in printed.splitlines()[-1]
    # Without levels there is no such figure, rather than a made-up one.
    labelled.write_text("- {text: 我不想活了, crisis: true}\n- {text: 累死了, crisis: false}\n", encoding="utf-8")
    plain = json.loads(anxin("eval", "--safety", str(labelled), "--json", kb_dir=kb_dir, data_dir=data_dir).stdout)
    assert plain["crisis_level_recall"] is None
    labelled.write_text("- {text: 我不想活了, crisis: true, level: urgent}\n", encoding="utf-8")
    wrong = anxin("eval", "--safety", str(labelled), kb_dir=kb_dir, data_dir=data_dir)
    assert wrong.returncode == 2 and "item 1: `level` must be crisis or concern" in wrong.stderr


def test_eval_without_file_scores_the_intents_own_tests(kb_dir: Path, data_dir: Path) -> None:
    data = json.loads(anxin("eval", "--json", kb_dir=kb_dir, data_dir=data_dir).stdout)
    assert data["total"] == 8  # one held-out test per fixture intent


def test_lint_passes_then_fails_with_path_and_line(kb_dir: Path, data_dir: Path) -> None:
    ok = anxin("lint", kb_dir=kb_dir, data_dir=data_dir)
    assert ok.returncode == 0 and ok.stdout.startswith("ok: 8 intents")
    (kb_dir / "intents" / "main.yaml").write_text("- id: legal.x\n\texamples: [a]\n", encoding="utf-8")
    broken = anxin("lint", kb_dir=kb_dir, data_dir=data_dir)
    assert broken.returncode == 1
    assert "main.yaml:2: a tab is used for indentation; indent with spaces" in broken.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eval", "/no/such/file.yaml"), "no such file"),
        (("frobnicate",), "invalid choice"),
        (("match",), "the following arguments are required: text"),
        ((), "the following arguments are required: command"),
    ],
)
def test_wrong_arguments_give_one_line_and_exit_2(
    kb_dir: Path, data_dir: Path, args: tuple[str, ...], message: str
) -> None:
    result = anxin(*args, kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_setting_is_named(kb_dir: Path, data_dir: Path) -> None:
    env = {**os.environ, "BOT_CONTENT_DIR": str(kb_dir), "BOT_DATA_DIR": str(data_dir), "BOT_PORT": "eighty"}
    result = subprocess.run([sys.executable, "-m", "bot", "lint"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert "BOT_PORT must be a whole number" in result.stderr


def test_a_test_chat_leaves_no_trace_unless_asked_to_store(kb_dir: Path, data_dir: Path) -> None:
    """A volunteer trying answers must not show up in the statistics; `--store` is the bot's own console."""
    result = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="催收打电话给我妈妈合法吗\nasdkjqwe zzz\n")
    assert result.returncode == 0, result.stderr
    assert "不合法。" in result.stdout
    assert not list(data_dir.glob("anxin.sqlite3*"))
    stored = anxin("chat", "--store", kb_dir=kb_dir, data_dir=data_dir, stdin="催收打电话给我妈妈合法吗\n")
    assert stored.returncode == 0, stored.stderr
    stats = json.loads(anxin("stats", "--json", kb_dir=kb_dir, data_dir=data_dir).stdout)
    assert stats["messages"] == 1  # only the stored chat counts


def test_match_explain_shows_the_text_as_matched_the_parts_thresholds_and_the_reason(
    kb_dir: Path, data_dir: Path
) -> None:
    (kb_dir / "lexicon").mkdir()
    (kb_dir / "lexicon" / "aliases.yaml").write_text("通讯录: [通讯路]\n", encoding="utf-8")
    result = anxin("match", "爆通讯路了怎么办", "--explain", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "as matched:  爆通讯录了怎么办" in out
    assert "legal.contact_contacts  [best example" in out
    assert "thresholds:  answer " in out and " margin " in out and " clarify " in out
    assert "decision:    answer, because clearly ahead:" in out


def test_match_explain_shows_what_the_safety_layer_saw(kb_dir: Path, data_dir: Path) -> None:
    out = anxin("match", "我真的不想活了", "--explain", kb_dir=kb_dir, data_dir=data_dir).stdout
    assert out.startswith("crisis: wellbeing.crisis")
    safety = next(line for line in out.splitlines() if line.startswith("safety:"))
    assert "crisis: " in safety and "crisis/" in safety, safety
    ordinary = anxin("match", "花呗逾期三个月了会怎么样", "--explain", kb_dir=kb_dir, data_dir=data_dir).stdout
    assert "safety:" not in ordinary  # nothing fired, nothing leaned


def test_match_explain_says_why_it_asks(kb_dir: Path, data_dir: Path) -> None:
    out = anxin("match", "催收", "--explain", kb_dir=kb_dir, data_dir=data_dir).stdout
    decision = next(line for line in out.splitlines() if line.startswith("decision:"))
    assert "because" in decision and ("below clarify" in decision or "not clear enough" in decision), decision


def test_match_explain_shows_the_things_done_named_side_by_side(kb_dir: Path, data_dir: Path) -> None:
    out = anxin("match", "催收不停地打，还专挑半夜打，这合法吗", "--explain", kb_dir=kb_dir, data_dir=data_dir).stdout
    named = next(line for line in out.splitlines() if line.startswith("named side by side"))
    assert named.index("legal.call_frequency") < named.index("legal.call_hours"), named
    assert "decision:    overview, because 2 things done, named side by side" in out


def test_eval_can_be_limited_to_one_intent(kb_dir: Path, data_dir: Path, tmp_path: Path) -> None:
    labelled = tmp_path / "set.yaml"
    labelled.write_text(
        "- {text: 催收打电话给我表哥, intent: legal.contact_contacts}\n"
        "- {text: 半夜两点还打电话, intent: legal.call_hours}\n"
        "- {text: 爆通讯录了怎么办, intent: legal.call_hours}\n",  # mislabelled: contact_contacts takes it
        encoding="utf-8",
    )
    result = anxin(
        "eval", str(labelled), "--intent", "legal.contact_contacts", "--json", kb_dir=kb_dir, data_dir=data_dir
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["total"] == 1
    assert [item["text"] for item in data["taken_from_others"]] == ["爆通讯录了怎么办"]
    wrong = anxin("eval", "--intent", "legal.contact_contact", kb_dir=kb_dir, data_dir=data_dir)
    assert wrong.returncode == 2
    assert "did you mean `legal.contact_contacts`?" in wrong.stderr


def test_keep_unanswered_off_keeps_no_question_text(kb_dir: Path, data_dir: Path) -> None:
    env = {"BOT_KEEP_UNANSWERED": "0"}
    chat = anxin("chat", "--store", kb_dir=kb_dir, data_dir=data_dir, stdin="asdkjqwe zzz\n", env=env)
    assert chat.returncode == 0, chat.stderr
    stats = json.loads(anxin("stats", "--json", kb_dir=kb_dir, data_dir=data_dir).stdout)
    assert stats["messages"] == 1 and stats["top_unanswered"] == []
    assert b"asdkjqwe" not in b"".join(path.read_bytes() for path in data_dir.glob("anxin.sqlite3*"))
