"""The complaint letters as content (`letters/*.yaml`): what each letter cites for what happened, and `lint`
catching a volunteer's mistakes in them at their line."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, anxin

from bot.content import KnowledgeError
from bot.flows.letters import CONDUCT, Letters, Story, load_letters

TODAY = dt.date(2026, 11, 30)
MAINLAND = Path("mainland.zh-Hans.yaml")


@pytest.fixture
def letters_dir(tmp_path: Path) -> Path:
    target = tmp_path / "letters"
    shutil.copytree(REPO / "letters", target)
    return target


def load(folder: Path) -> tuple[Letters, list[str]]:
    errors: list[KnowledgeError] = []
    letters = load_letters(folder, errors)
    return letters, [f"{e.path.name}:{e.line}: {e.message}" for e in errors]


def edit(folder: Path, relative: Path, old: str, new: str) -> None:
    path = folder / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"letters changed: {old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(folder: Path, relative: Path, needle: str) -> int:
    for number, line in enumerate((folder / relative).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")


def bundled() -> Letters:
    letters, errors = load(REPO / "letters")
    assert errors == []
    return letters


# --- the bundled letters ------------------------------------------------------------------------------------


def test_every_region_has_letters_in_chinese_and_english_and_the_other_script_is_converted() -> None:
    letters = bundled()
    for region in ("mainland", "hk", "tw"):
        for locale in ("zh-Hans", "zh-Hant", "en"):
            assert letters.get(region, locale) is not None, (region, locale)  # type: ignore[arg-type]
    assert letters.get("mainland", "zh-Hant").converted  # type: ignore[union-attr]
    assert letters.get("hk", "zh-Hans").converted  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("conduct", "must", "must_not"),
    [
        ("expose", ["民法典第1033条、第1034条", "个人信息保护法第10条"], ["GB/T"]),
        (
            "night",
            ["国家推荐性标准要求，除非借款人同意，22:00至次日8:00不得催收（GB/T 45251—2025）"],
            ["个人信息保护法"],
        ),
        ("frequency", ["语音催收每天有效通话不超过3次（GB/T 45251—2025）", "民法典第1033条"], ["第1034条"]),
        ("contacts", ["只应联系借款人本人", "个人信息保护法第10条"], ["22:00"]),
        ("visit", ["不得进入他人的住宅等私密空间（民法典第1033条）"], ["GB/T"]),
        ("fees", ["民法典第670条", "人民银行公告〔2021〕第3号", "现金贷整顿通知（2017）"], ["民法典第1033条"]),
        ("fake_legal", [], ["民法典", "GB/T", "刑法"]),  # nothing verified for an app lender: no rule is cited
    ],
)
def test_the_lender_letter_cites_only_the_rules_for_what_happened(
    conduct: str, must: list[str], must_not: list[str]
) -> None:
    letters = bundled().get("mainland", "zh-Hans")
    assert letters is not None
    [lender, *_] = letters.fill(Story("mainland", "app", "某某贷", frozenset({conduct})), TODAY)
    for text in must:
        assert text in lender.body
    for text in must_not:
        assert text not in lender.body


def test_credit_card_rules_apply_to_credit_cards_only() -> None:
    letters = bundled().get("mainland", "zh-Hans")
    assert letters is not None
    card = letters.fill(Story("mainland", "card", "招商银行", frozenset({"contacts"})), TODAY)[0].body
    app = letters.fill(Story("mainland", "app", "某某贷", frozenset({"contacts"})), TODAY)[0].body
    assert "信用卡业务监管办法第68条" in card and "信用卡业务监管办法第68条" not in app
    assert "互金协会公约" in app and "互金协会公约" not in card


def test_the_police_letter_is_written_only_for_threats_home_visits_or_posted_data() -> None:
    letters = bundled().get("mainland", "zh-Hans")
    assert letters is not None
    for conduct in CONDUCT:
        ids = [letter.id for letter in letters.fill(Story("mainland", conduct=frozenset({conduct})), TODAY)]
        assert ("police" in ids) == (conduct in ("threats", "visit", "expose")), conduct


def test_the_police_letter_cites_the_law_and_no_standard_or_self_regulation() -> None:
    letters = bundled().get("mainland", "zh-Hans")
    assert letters is not None
    story = Story("mainland", "card", None, frozenset(CONDUCT))
    police = next(letter for letter in letters.fill(story, TODAY) if letter.id == "police")
    assert "治安管理处罚法第50条" in police.body and "刑法第245条" in police.body
    assert "GB/T" not in police.body and "协会" not in police.body


def test_no_rule_names_a_standard_or_an_association_as_law() -> None:
    for letter_set in bundled().written():
        for rule in letter_set.rules:
            text = rule.text + rule.source
            if rule.kind in ("law", "regulation"):
                assert not re.search(r"GB/T|标准|標準|协会|協會|standard|association", text), rule.id
            if rule.kind == "standard":
                assert re.search(r"推荐性|推薦性|recommended", text), rule.id


PHONE = re.compile(r"(?<![A-Za-z\d,.$-])(?:0\d{1,3}-)?\d{3,5}(?:[- ]\d{3,4}){0,2}(?![\d,%年:])")


def test_every_hotline_in_the_letters_is_one_the_sources_list() -> None:
    sources = (REPO / "docs" / "sources.md").read_text(encoding="utf-8")
    found: set[str] = set()
    for path in sorted((REPO / "letters").glob("*.yaml")):
        found.update(PHONE.findall(path.read_text(encoding="utf-8")))
    numbers = {n for n in found if not re.fullmatch(r"20[23]\d|45251(-2025)?|200|228|486|163|106|1033|1034", n)}
    assert {"95188", "95118", "12378", "2878 1378", "2827 2827", "0800-789-885"} <= numbers  # the check looks
    for number in sorted(numbers):
        assert number in sources, f"{number} is not in docs/sources.md"


def test_hong_kong_and_taiwan_letters_never_send_anyone_to_mainland_channels() -> None:
    letters = bundled()
    for region in ("hk", "tw"):
        for locale in ("zh-Hant", "en"):
            letter_set = letters.get(region, locale)  # type: ignore[arg-type]
            assert letter_set is not None
            story = Story(region, "bank", None, frozenset(CONDUCT))  # type: ignore[arg-type]
            text = "\n".join(f.body + f.send for f in letter_set.fill(story, TODAY))
            text += letter_set.checklist_text(story) + letter_set.next_text()
            assert not re.search(r"12378|12348|12345|民法典|Civil Code art\. 10|GB/T", text), (region, locale)
            if region == "hk":
                assert not re.search(r"(?<!\d)110(?!\d)", text)


def test_a_typed_lender_name_and_a_collectors_number_go_into_the_letter_as_typed() -> None:
    letters = bundled().get("mainland", "zh-Hans")
    assert letters is not None
    story = Story("mainland", "app", "拍拍贷", frozenset({"threats"}), details="13800000000 自称王经理")
    body = letters.fill(story, TODAY)[0].body
    assert body.startswith("致拍拍贷客户服务") and "对方使用的号码、自称或工号：13800000000 自称王经理" in body
    assert body.endswith("2026年11月30日")


# --- lint -----------------------------------------------------------------------------------------------------


def test_a_standard_written_as_law_is_reported_at_its_line(letters_dir: Path) -> None:
    edit(letters_dir, MAINLAND, "  - id: standard_night\n    kind: standard", "  - id: standard_night\n    kind: law")
    _, errors = load(letters_dir)
    line = line_of(letters_dir, MAINLAND, "id: standard_night") + 1  # at its `kind:`
    assert f"{MAINLAND}:{line}: this rule names a standard or an association but says `kind: law`" in errors[0]


def test_a_standard_that_does_not_say_it_is_one_is_reported(letters_dir: Path) -> None:
    edit(letters_dir, MAINLAND, "国家推荐性标准要求，除非借款人同意", "除非借款人同意")
    _, errors = load(letters_dir)
    assert any("must say what it is, so no one takes it for law" in error for error in errors)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("    when: [night]\n", "    when: [midnight]\n", "unknown id `midnight` in `when`"),
        ("  fees: 收取的利息", "  charges: 收取的利息", "unknown key `charges`"),
        ("马上打{emergency}。不紧急的", "马上打110。不紧急的", "write {emergency} instead of 110"),
        ("时间和频率：{timing}", "时间和频率：{timing}{when}", "one placeholder a line"),
        ("对方使用的号码、自称或工号：{details}", "对方使用的号码：{detail}", "unknown placeholder `{detail}`"),
        ("    kind: regulation\n    when: [fees]", "    kind: rule\n    when: [fees]", "unknown kind `rule`"),
        ("语音催收每天有效通话不超过3次", "同一号码每天最多拨打6次", "不宜超过6次"),
        (
            "    lenders: [card]\n    letters: [lender, regulator]\n    text: 信用卡",
            "    lenders: [visa]\n    letters: [lender, regulator]\n    text: 信用卡",
            "unknown id `visa` in `lenders`",
        ),
        ("reviewed: 2026-11-30\n", "", "`reviewed` is missing"),
    ],
)
def test_letter_file_mistakes_are_reported(letters_dir: Path, old: str, new: str, message: str) -> None:
    edit(letters_dir, MAINLAND, old, new)
    _, errors = load(letters_dir)
    assert any(message in error for error in errors), errors


def test_a_missing_fact_is_reported_and_the_set_is_left_out(letters_dir: Path) -> None:
    edit(letters_dir, MAINLAND, "  fake_legal: 冒充法院", "  # fake_legal: 冒充法院")
    letters, errors = load(letters_dir)
    assert any("`facts` needs a line for each of: fake_legal" in error for error in errors)
    assert letters.get("mainland", "zh-Hans") is None


def test_chinese_letters_without_english_are_reported(letters_dir: Path) -> None:
    (letters_dir / "tw.en.yaml").unlink()
    _, errors = load(letters_dir)
    assert any("tw letters have no English version" in error for error in errors)


def test_wrong_claims_are_caught_in_letters_too(letters_dir: Path) -> None:
    edit(letters_dir, MAINLAND, "    text: 借款的利息不得预先", "    text: 年利率超过24%的不受保护；借款的利息不得预先")
    _, errors = load(letters_dir)
    assert any("the 24%/36% rule of 2015 was replaced" in error for error in errors)


def test_anxin_lint_reports_a_broken_letter_file_with_path_and_line(kb_dir: Path, data_dir: Path) -> None:
    shutil.copytree(REPO / "letters", kb_dir / "letters")
    edit(kb_dir / "letters", MAINLAND, "    when: [night]\n", "    when: [midnight]\n")
    result = anxin("lint", kb_dir=kb_dir, data_dir=data_dir)
    assert result.returncode == 1
    line = line_of(kb_dir / "letters", MAINLAND, "when: [midnight]")
    assert f"letters/{MAINLAND}:{line}: unknown id `midnight` in `when`" in result.stdout


def test_lint_reports_letters_past_their_valid_until_date(data_dir: Path) -> None:
    result = anxin("lint", "--today", "2027-12-01", kb_dir=REPO, data_dir=data_dir)
    assert result.returncode == 1
    assert "letters/mainland.zh-Hans.yaml:1: the mainland letters (zh-Hans) are past their valid_until date" in (
        result.stdout
    )
