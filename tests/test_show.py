"""`anxin show`: an answer as a channel renders it for a user's language and region, then its full sources."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import REPO, anxin


def test_show_renders_the_regional_answer_and_lists_full_titles(kb_dir: Path, data_dir: Path) -> None:
    args = ("show", "legal.contact_contacts", "--locale", "zh-Hans", "--region", "mainland", "--channel", "wechat")
    result = anxin(*args, kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("不合法。催收只能找借款人本人。\n\n依据：民法典第1033条；GB/T 45251—2025（推荐性国家标准）")
    assert "\n4. 帮我写投诉信\n回复 1 / 2 / 3 / 4\n" in out and "of 2048 bytes)" in out
    assert "faq/zh-Hans/main.yaml:2 (written for mainland China)" in out
    full = "GB/T 45251—2025《互联网金融 个人网络消费信贷 贷后催收风控指引》"
    assert f"  - {full}  →  GB/T 45251—2025（推荐性国家标准）" in out


def test_show_for_a_hong_kong_user_in_english(kb_dir: Path, data_dir: Path) -> None:
    args = ("show", "legal.contact_contacts", "--locale", "en", "--region", "hk")
    result = anxin(*args, kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("In Hong Kong, pestering your family can be an offence. In danger, call 999.")
    assert "(written for hk)" in result.stdout


def test_show_an_unknown_intent_exits_2(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("show", "legal.nope", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 2
    assert "no answer for `legal.nope`" in result.stderr


def test_show_complaint_sample_renders_the_filled_letters_and_the_rules_they_cite(data_dir: Path) -> None:
    result = anxin("show", "complaint", "--sample", kb_dir=REPO, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("写好了：3封信") and "致花呗客户服务" in out
    assert "--- letters: letters/mainland.zh-Hans.yaml" in out
    assert "  - [standard] GB/T 45251—2025  (standard_night: when night)" in out
    assert "  - [law] 个人信息保护法第10条" in out


def test_show_complaint_sample_on_wechat_comes_in_messages_that_fit(data_dir: Path) -> None:
    args = ("show", "complaint", "--sample", "--channel", "wechat", "--region", "hk", "--locale", "zh-Hant")
    result = anxin(*args, kb_dir=REPO, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    sizes = [int(size) for size in re.findall(r"\((\d+) of 2048 bytes\)", result.stdout)]
    assert len(sizes) > 3 and max(sizes) <= 2048
    assert "--- message 1 of" in result.stdout and "刑事罪行條例（第200章）第24條" in result.stdout


def test_show_complaint_without_sample_says_how(data_dir: Path) -> None:
    result = anxin("show", "complaint", kb_dir=REPO, data_dir=data_dir)
    assert result.returncode == 2 and "--sample" in result.stderr


def test_show_on_the_web_chat_is_the_json_the_page_draws(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("show", "legal.contact_contacts", "--channel", "web", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    replies = json.loads(result.stdout.split("\n--- answer:", 1)[0])
    assert replies[-1]["buttons"] and replies[-1]["feedback"][0]["label"] == "👍 有帮助"
    assert "".join(part["text"] for part in replies[0]["parts"]) == replies[0]["text"]
