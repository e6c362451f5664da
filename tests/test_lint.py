"""`lint` catches every class of volunteer mistake, each located as path:line, and never crashes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.knowledge import KnowledgeBase, KnowledgeSource, load_knowledge

INTENTS = Path("intents/main.yaml")
ANSWERS = Path("faq/zh-Hans/main.yaml")


def edit(kb_dir: Path, relative: Path, old: str, new: str) -> None:
    path = kb_dir / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture changed: {old!r} not in {relative}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(kb_dir: Path, relative: Path, needle: str) -> int:
    for number, line in enumerate((kb_dir / relative).read_text(encoding="utf-8").splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not found")


def problems(kb_dir: Path) -> list[str]:
    return [f"{e.path.relative_to(kb_dir)}:{e.line}: {e.message}" for e in load_knowledge(kb_dir).errors]


def test_fixture_knowledge_base_is_clean(kb_dir: Path) -> None:
    assert problems(kb_dir) == []


def test_tab_indentation_is_reported_on_its_line(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 爆通讯录了怎么办", "\t- 爆通讯录了怎么办")
    line = line_of(kb_dir, INTENTS, "爆通讯录了怎么办")
    assert f"intents/main.yaml:{line}: a tab is used for indentation; indent with spaces" in problems(kb_dir)


def test_bad_indentation_names_the_line_that_slipped(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "  keywords: [轰炸, 不停]", "   keywords: [轰炸, 不停]")
    line = line_of(kb_dir, INTENTS, "keywords: [轰炸, 不停]")
    found = problems(kb_dir)
    assert any(
        p.startswith(f"intents/main.yaml:{line}: this line is indented 3 spaces, which lines up with nothing above")
        for p in found
    ), found
    assert len(found) == 1, found  # nothing follows on from it: the other files' checks do not pile up


def test_an_over_indented_dash_is_reported_although_yaml_accepts_it(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 爆通讯录了怎么办", "      - 爆通讯录了怎么办")
    line = line_of(kb_dir, INTENTS, "爆通讯录了怎么办")
    found = problems(kb_dir)
    assert any(p.startswith(f"intents/main.yaml:{line}: this `-` line is indented further") for p in found), found
    assert len(found) == 1, found


def test_a_colon_inside_a_text_gets_plain_advice(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 爆通讯录了怎么办", "    - 问题: 爆通讯录了怎么办")
    found = problems(kb_dir)
    line = line_of(kb_dir, INTENTS, "问题: 爆通讯录了怎么办")
    expected = (
        f"intents/main.yaml:{line}: the `: ` after `问题` makes YAML read this text as `key: value`; "
        "put the whole text in quotes, or use a full-width colon `：`"
    )
    assert expected in found, found


def test_unknown_key_names_the_known_ones(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "  keywords: [轰炸, 不停]", "  keyword: [轰炸, 不停]")
    line = line_of(kb_dir, INTENTS, "keyword: [轰炸")
    found = problems(kb_dir)
    assert any(p.startswith(f"intents/main.yaml:{line}: unknown key `keyword`; known keys:") for p in found), found


def test_duplicate_id_points_at_the_first(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "- id: legal.call_hours", "- id: legal.call_frequency")
    line = line_of(kb_dir, INTENTS, "- id: legal.call_frequency")  # the first one
    found = problems(kb_dir)
    assert any(
        p.startswith("intents/main.yaml:")
        and "duplicate id `legal.call_frequency` (first at" in p
        and p.endswith(f"main.yaml:{line})")
        for p in found
    ), found


def test_intent_without_simplified_answer_is_reported_and_left_out(kb_dir: Path) -> None:
    edit(kb_dir, ANSWERS, "- intent: legal.call_hours", "- intent: meta.greeting_removed")
    loaded = load_knowledge(kb_dir)
    messages = [e.message for e in loaded.errors]
    assert "`legal.call_hours` has no answer in faq/zh-Hans/" in messages
    assert "legal.call_hours" not in loaded.knowledge.intents  # never matched to an empty answer


def test_related_id_that_does_not_exist(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "related: [report.regulator]", "related: [report.regulatorr]")
    line = line_of(kb_dir, INTENTS, "report.regulatorr")
    expected = (
        f"intents/main.yaml:{line}: related id `report.regulatorr` does not exist; did you mean `report.regulator`?"
    )
    assert expected in problems(kb_dir)


def test_example_under_two_intents(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 凌晨打电话合法吗", "    - 凌晨打电话合法吗\n    - 爆通讯录了怎么办!")
    found = problems(kb_dir)
    assert any("is also an example of `legal.contact_contacts`" in p for p in found), found


def test_empty_example(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 凌晨打电话合法吗", "    - 凌晨打电话合法吗\n    -")
    line = line_of(kb_dir, INTENTS, "凌晨打电话合法吗") + 1
    assert f"intents/main.yaml:{line}: an item of `examples` is empty or not text" in problems(kb_dir)


def test_legal_answer_without_sources(kb_dir: Path) -> None:
    edit(
        kb_dir,
        ANSWERS,
        "  sources: [GB/T 45251—2025]\n  reviewed: 2026-11-29\n- intent: legal.call_hours",
        "  reviewed: 2026-11-29\n- intent: legal.call_hours",
    )
    line = line_of(kb_dir, ANSWERS, "- intent: legal.call_frequency")
    assert (
        f"faq/zh-Hans/main.yaml:{line}: `legal.call_frequency` makes legal claims "
        "but has no `sources` (law and article)" in problems(kb_dir)
    )


def test_test_phrase_copied_from_examples_is_reported(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 深夜还在打", "    - 凌晨打电话合法吗?")
    example = line_of(kb_dir, INTENTS, "- 凌晨打电话合法吗")
    test = line_of(kb_dir, INTENTS, "- 凌晨打电话合法吗?")
    expected = (
        f"intents/main.yaml:{test}: test '凌晨打电话合法吗?' is also an example (line {example}); "
        "tests must be new phrasings"
    )
    assert problems(kb_dir) == [expected]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "- intent: legal.call_hours\n  answer: x\n  reviewed: 2026-13-01\n  sources: [a]\n",
            "`reviewed` must be a date",
        ),
        ("- intent: legal.nope\n  answer: x\n  reviewed: 2026-11-29\n", "answer for unknown intent `legal.nope`"),
        ("- intent: legal.call_hours\n  reviewed: 2026-11-29\n", "`legal.call_hours` has no `answer` text"),
        ("just: a mapping\n", "the file must be a list of entries starting with -"),
    ],
)
def test_answer_file_mistakes(kb_dir: Path, content: str, message: str) -> None:
    (kb_dir / "faq" / "en" / "extra.yaml").write_text(content, encoding="utf-8")
    assert any(message in p and p.startswith("faq/en/extra.yaml:") for p in problems(kb_dir)), problems(kb_dir)


def test_unknown_locale_folder_and_yml_extension(kb_dir: Path) -> None:
    (kb_dir / "faq" / "fr").mkdir()
    (kb_dir / "intents" / "more.yml").write_text("- id: a.b\n", encoding="utf-8")
    found = problems(kb_dir)
    assert any("unknown locale folder `fr`" in p for p in found)
    assert any("rename this file to end in .yaml" in p for p in found)


def test_broken_file_keeps_the_rest_serving(kb_dir: Path) -> None:
    """A syntax error in one answer file leaves every other file's content usable."""
    (kb_dir / "intents" / "broken.yaml").write_text("- id: [unclosed\n", encoding="utf-8")
    loaded = load_knowledge(kb_dir)
    assert loaded.errors
    assert loaded.knowledge.decide("爆通讯录了怎么办").intent == "legal.contact_contacts"


def test_reload_serves_a_broken_file_from_its_last_good_version(kb_dir: Path) -> None:
    source = KnowledgeSource(kb_dir)
    before = source.current
    edit(kb_dir, INTENTS, "- id: legal.call_hours", "- id: legal.call_frequency")
    errors = source.reload()
    assert any("duplicate id `legal.call_frequency`" in str(error) for error in errors), errors
    assert source.stood_in == (kb_dir / INTENTS,)
    assert set(source.current.intents) == set(before.intents)  # legal.call_hours is still there
    assert source.current.answer("legal.call_hours", "zh-Hans") is not None
    edit(
        kb_dir,
        INTENTS,
        "- id: legal.call_frequency\n  title:\n    zh-Hans: 半夜",
        "- id: legal.call_hours\n  title:\n    zh-Hans: 半夜",
    )
    assert source.reload() == ()
    assert source.stood_in == ()
    assert source.current is not before


def test_aliases_rewrite_typos_before_matching(kb_dir: Path) -> None:
    typo = "爆通讯路了怎么办"
    before = load_knowledge(kb_dir).knowledge.decide(typo)
    (kb_dir / "lexicon").mkdir()
    (kb_dir / "lexicon" / "aliases.yaml").write_text("通讯录: [通讯路, 通信录]\n", encoding="utf-8")
    loaded = load_knowledge(kb_dir)
    assert loaded.errors == ()
    after = loaded.knowledge.decide(typo)
    assert after.intent == "legal.contact_contacts"
    assert after.score == 100.0 > before.score  # the typo now reads as the example itself


def test_alias_under_two_words_is_reported(kb_dir: Path) -> None:
    (kb_dir / "lexicon").mkdir()
    (kb_dir / "lexicon" / "aliases.yaml").write_text("催收: [崔收]\n征信: [崔收]\n", encoding="utf-8")
    assert "lexicon/aliases.yaml:2: `崔收` is already a variant of `催收` (line 1)" in problems(kb_dir)


def regional(intent: str, region: str, answer: str = "x", sources: str = "[a]") -> str:
    return f"- intent: {intent}\n  region: {region}\n  answer: {answer}\n  sources: {sources}\n  reviewed: 2026-11-29\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            regional("legal.call_hours", "macau"),
            "unknown region `macau`; use hk or tw (leave `region` out for mainland China)",
        ),
        (regional("legal.nope", "hk"), "answer for unknown intent `legal.nope`"),
        (
            regional("legal.call_hours", "tw"),
            "`legal.call_hours` has a tw answer in zh-Hant but none in English; add one to faq/en/ with `region: tw`",
        ),
        (
            regional("legal.contact_contacts", "hk"),
            "second answer for `legal.contact_contacts` in zh-Hant for hk (first at",
        ),
        (regional("legal.call_hours", "hk", "有危險打110"), "Hong Kong's emergency number is 999, never 110"),
        (regional("legal.call_hours", "tw", "請打{police}"), "unknown placeholder `{police}`; known: {emergency}"),
        (
            regional("legal.call_hours", "tw", sources="\n    - full: a"),
            "a source written as a set needs both `full:` and `short:`",
        ),
    ],
)
def test_regional_answer_mistakes(kb_dir: Path, content: str, message: str) -> None:
    # Named to sort after hk.yaml, so that a duplicate is reported here rather than at the first one.
    (kb_dir / "faq" / "zh-Hant" / "zz.yaml").write_text(content, encoding="utf-8")
    found = problems(kb_dir)
    assert any(message in p and p.startswith("faq/zh-Hant/zz.yaml:") for p in found), found


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("可以拨打12378投诉。", "危险时打110。", "`report.regulator` says 110: write {emergency} instead"),
        (
            "频繁电话轰炸属于骚扰。",
            "法律上：国家标准要求每天不超过3次。",
            "GB/T 45251—2025 is a recommended standard and the association documents are self-regulation",
        ),
        ("频繁电话轰炸属于骚扰。", "银行业协会规定每天最多拨打6次。", "每天不宜超过6次"),
        ("家人没有替你还钱的义务。", "利率超过24%的部分是自然债务。", "the 24%/36% rule of 2015 was replaced in 2020"),
        ("家人没有替你还钱的义务。", "上限是LPR四倍即13.8%。", "13.8% is not the current cap"),
    ],
)
def test_claims_found_wrong_once_are_reported(kb_dir: Path, old: str, new: str, message: str) -> None:
    edit(kb_dir, ANSWERS, old, new)
    found = problems(kb_dir)
    assert any(p.startswith("faq/zh-Hans/main.yaml:") and message in p for p in found), found


def test_sources_line_too_long_for_a_phone(kb_dir: Path) -> None:
    long_source = "《" + "很长的文件名" * 20 + "》第1条"
    edit(
        kb_dir,
        ANSWERS,
        "  sources: [GB/T 45251—2025]\n  reviewed: 2026-11-29\n- intent: legal.call_hours",
        f"  sources: [{long_source}]\n  reviewed: 2026-11-29\n- intent: legal.call_hours",
    )
    found = problems(kb_dir)
    assert any("the sources line under `legal.call_frequency` is too long for a phone" in p for p in found), found


def test_a_plain_source_is_shown_without_book_title_marks(kb: KnowledgeBase) -> None:
    answer = kb.answer("rights.family_liability", "zh-Hans")
    assert answer is not None
    assert [(s.full, s.short) for s in answer.sources] == [("《民法典》第1064条", "民法典第1064条")]


def test_a_restart_with_a_broken_file_serves_its_last_good_version_from_the_data_dir(
    kb_dir: Path, tmp_path: Path
) -> None:
    keep = tmp_path / "data"
    KnowledgeSource(kb_dir, keep)  # the bot ran once with clean files
    (kb_dir / INTENTS).write_text("- id: legal.contact_contacts\n  examples: [oops\n", encoding="utf-8")

    without = KnowledgeSource(kb_dir)  # no memory of the past: the broken file's intents are gone
    assert "legal.contact_contacts" not in without.current.intents
    restarted = KnowledgeSource(kb_dir, keep)
    assert restarted.stood_in == (kb_dir / INTENTS,)
    assert restarted.current.decide("爆通讯录了怎么办").intent == "legal.contact_contacts"


def test_unreadable_memory_of_last_good_versions_is_not_fatal(kb_dir: Path, tmp_path: Path) -> None:
    keep = tmp_path / "data"
    keep.mkdir()
    (keep / "content-last-good.json").write_text("{not json", encoding="utf-8")
    source = KnowledgeSource(kb_dir, keep)
    assert "legal.contact_contacts" in source.current.intents
    assert json.loads((keep / "content-last-good.json").read_text(encoding="utf-8"))["intents/main.yaml"]


def test_a_reload_with_a_broken_file_finds_its_last_good_version_on_disk_not_in_memory(
    kb_dir: Path, tmp_path: Path
) -> None:
    """With a data folder, only digests of the last good texts stay in memory: the stand-in is read back from the
    file, the one that was kept, and a reload that fixes the file keeps the new text."""
    keep = tmp_path / "data"
    source = KnowledgeSource(kb_dir, keep)
    kept = json.loads((keep / "content-last-good.json").read_text(encoding="utf-8"))
    index = json.loads((keep / "content-last-good.digests.json").read_text(encoding="utf-8"))
    assert set(index) == set(kept) and "intents/main.yaml" in kept
    assert source._in_memory == {}  # the texts themselves are not held

    original = (kb_dir / INTENTS).read_text(encoding="utf-8")
    (kb_dir / INTENTS).write_text("- id: legal.contact_contacts\n  examples: [oops\n", encoding="utf-8")
    assert source.reload()
    assert source.stood_in == (kb_dir / INTENTS,)
    assert source.current.decide("爆通讯录了怎么办").intent == "legal.contact_contacts"

    fixed = original.replace("- id: legal.call_hours", "- id: legal.call_hours\n  # fixed")
    (kb_dir / INTENTS).write_text(fixed, encoding="utf-8")
    assert source.reload() == ()
    assert json.loads((keep / "content-last-good.json").read_text(encoding="utf-8"))["intents/main.yaml"] == fixed
    (kb_dir / INTENTS).write_text("- id: [\n", encoding="utf-8")
    source.reload()
    assert source.stood_in == (kb_dir / INTENTS,)
    assert "legal.call_hours" in source.current.intents


def test_last_good_versions_without_their_digests_are_still_used_and_get_them(kb_dir: Path, tmp_path: Path) -> None:
    """A data folder from before the digests file, or one whose digests are older than the texts (a write cut
    short), is read from the texts themselves; the next load writes the digests."""
    keep = tmp_path / "data"
    KnowledgeSource(kb_dir, keep)
    index = keep / "content-last-good.digests.json"
    index.unlink()
    KnowledgeSource(kb_dir, keep)
    assert "intents/main.yaml" in json.loads(index.read_text(encoding="utf-8"))

    index.write_text(json.dumps({"intents/main.yaml": "0" * 64}), encoding="utf-8")  # wrong, and older than the texts
    texts = keep / "content-last-good.json"
    os.utime(index, ns=(1, 1))
    (kb_dir / INTENTS).write_text("- id: [\n", encoding="utf-8")
    restarted = KnowledgeSource(kb_dir, keep)
    assert restarted.stood_in == (kb_dir / INTENTS,)
    assert restarted.current.decide("爆通讯录了怎么办").intent == "legal.contact_contacts"
    assert json.loads(texts.read_text(encoding="utf-8"))["intents/main.yaml"]


def test_a_kept_text_whose_digest_is_not_remembered_never_stands_in(kb_dir: Path, tmp_path: Path) -> None:
    """Digests newer than the texts but not theirs (the texts file replaced by hand): the texts are not trusted."""
    keep = tmp_path / "data"
    KnowledgeSource(kb_dir, keep)
    texts = keep / "content-last-good.json"
    kept = json.loads(texts.read_text(encoding="utf-8"))
    kept["intents/main.yaml"] = kept["intents/main.yaml"].replace("legal.contact_contacts", "legal.elsewhere")
    texts.write_text(json.dumps(kept, ensure_ascii=False), encoding="utf-8")
    os.utime(texts, ns=(1, 1))
    (kb_dir / INTENTS).write_text("- id: [\n", encoding="utf-8")
    restarted = KnowledgeSource(kb_dir, keep)
    assert restarted.stood_in == ()
    assert "legal.elsewhere" not in restarted.current.intents


# --- rules CI enforces, each with its numbers in the message -------------------------------------------------


def test_too_few_examples_and_tests_name_the_rule_and_its_numbers(kb_dir: Path) -> None:
    (kb_dir / "content-rules.yaml").write_text("min_examples: 8\nmin_tests: 2\n", encoding="utf-8")
    line = line_of(kb_dir, INTENTS, "- id: legal.contact_contacts")
    found = problems(kb_dir)
    assert (
        f"intents/main.yaml:{line}: `legal.contact_contacts` has 7 examples; every intent needs at least 8 "
        "(content-rules.yaml): add the ways people really ask"
    ) in found, found
    assert any(p.startswith(f"intents/main.yaml:{line}: `legal.contact_contacts` has 1 test; ") for p in found)
    # wellbeing.crisis is answered by the safety layer and exempt; meta.greeting is not
    assert not any("`wellbeing.crisis` has" in p for p in found)
    assert any("`meta.greeting` has 3 examples" in p for p in found)


def test_a_rules_file_with_a_word_for_a_number_is_reported(kb_dir: Path) -> None:
    (kb_dir / "content-rules.yaml").write_text("min_examples: fifteen\n", encoding="utf-8")
    assert "content-rules.yaml:1: `min_examples` must be a whole number, like 15" in problems(kb_dir)


def test_a_repeated_example_within_one_intent_points_at_the_first(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "    - 催收联系我的家人\n", "    - 催收联系我的家人\n    - 催收联系我的家人！\n")
    first = line_of(kb_dir, INTENTS, "- 催收联系我的家人")
    found = problems(kb_dir)
    expected = (
        f"intents/main.yaml:{first + 1}: '催收联系我的家人！' repeats line {first} of the same intent; remove one"
    )
    assert found == [expected]


def test_a_chinese_title_longer_than_a_button_is_reported(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "zh-Hans: 催收打给家人朋友合法吗", "zh-Hans: 催收打电话给我的家人和朋友这样做到底合法吗")
    line = line_of(kb_dir, INTENTS, "催收打电话给我的家人和朋友")
    expected = f"intents/main.yaml:{line}: the zh-Hans title is 21 characters; a button shows at most 16"
    assert expected in problems(kb_dir)


def test_a_misspelt_related_id_gets_a_did_you_mean(kb_dir: Path) -> None:
    edit(kb_dir, INTENTS, "related: [rights.family_liability, report.regulator]", "related: [rights.family_liabilty]")
    line = line_of(kb_dir, INTENTS, "rights.family_liabilty")
    expected = (
        f"intents/main.yaml:{line}: related id `rights.family_liabilty` does not exist; "
        "did you mean `rights.family_liability`?"
    )
    assert expected in problems(kb_dir)


def test_an_answer_over_several_lines_without_a_bar_is_reported(kb_dir: Path) -> None:
    edit(kb_dir, ANSWERS, "  answer: 频繁电话轰炸属于骚扰。", "  answer: 频繁电话轰炸属于骚扰。\n    1. 保留通话记录。")
    line = line_of(kb_dir, ANSWERS, "频繁电话轰炸属于骚扰")
    assert problems(kb_dir) == [
        f"faq/zh-Hans/main.yaml:{line}: `answer` runs over several lines without `|`, so its lines would be joined "
        "into one paragraph; write `answer: |` and put the text on the lines below it"
    ]


def test_english_prose_may_wrap_but_numbered_steps_need_a_bar(kb_dir: Path) -> None:
    english = Path("faq/en/main.yaml")
    text = (kb_dir / english).read_text(encoding="utf-8")
    first = next(line for line in text.splitlines() if line.startswith("  answer: "))
    edit(kb_dir, english, first, first + "\n    and this wrapped sentence goes on")
    assert problems(kb_dir) == []
    edit(kb_dir, english, "    and this wrapped sentence goes on", "    1. Keep every record.")
    assert any("`answer` runs over several lines without `|`" in p for p in problems(kb_dir))


def test_a_related_id_into_a_file_that_cannot_be_read_is_not_reported_as_well(kb_dir: Path) -> None:
    (kb_dir / "intents" / "more.yaml").write_text(
        "- id: oos.first\n  examples: [什么天气]\n  related: [oos.second]\n", encoding="utf-8"
    )
    (kb_dir / "intents" / "second.yaml").write_text("- id: oos.second\n  examples: [oops\n", encoding="utf-8")
    found = problems(kb_dir)
    assert len(found) == 1 and found[0].startswith("intents/second.yaml:"), found
