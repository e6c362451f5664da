"""Normalisation and script detection: what the matcher sees and which script answers come back in."""

from pathlib import Path

import pytest

from bot.text import detect_locale, has_cjk, normalise, to_traditional


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("催收打電話給我媽媽合法嗎?", "催收打电话给我妈妈合法吗"),  # Traditional → Simplified, punctuation gone
        ("ＡＢＣ１２３", "abc123"),  # full-width → half-width, case-folded
        ("My Debt-Collector  KEEPS calling!!", "my debt collector keeps calling"),
        ("催收 天天 打 😭😭 电话", "催收天天打电话"),  # spaces and emoji between Chinese characters vanish
        ("花呗overdue了", "花呗overdue了"),
        ("🙏🙏🙏", ""),
        ("\u200b\t\n", ""),
    ],
)
def test_normalise_gives_one_canonical_form(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


def test_simplified_and_traditional_questions_normalise_identically() -> None:
    assert normalise("催收打电话给我妈妈合法吗") == normalise("催收打電話給我媽媽合法嗎")


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("催收打电话给我妈妈合法吗", "zh-Hans"),
        ("催收打電話給我媽媽合法嗎", "zh-Hant"),
        ("我該怎麼辦", "zh-Hant"),
        ("my collector keeps calling", "en"),
        ("我的花呗 overdue", "zh-Hans"),
        ("1", None),
        ("😭", None),
        ("", None),
    ],
)
def test_detect_locale(text: str, locale: str | None) -> None:
    assert detect_locale(text) == locale


def test_traditional_rendering_uses_traditional_characters() -> None:
    assert to_traditional("催收打电话给我妈妈合法吗") == "催收打電話給我媽媽合法嗎"


def test_traditional_rendering_keeps_the_names_of_laws_and_documents() -> None:
    # Phrase conversion (s2twp) would rename the law: 個人資訊保護法 is not its name.
    assert to_traditional("《个人信息保护法》第47条") == "《個人信息保護法》第47條"
    assert to_traditional("GB/T 45251—2025《互联网金融 个人网络消费信贷 贷后催收风控指引》").startswith(
        "GB/T 45251—2025《互聯網金融"
    )


def test_traditional_is_opencc_s2tw_on_every_text_the_bot_converts() -> None:
    """`to_traditional` is s2t and then the Taiwan variants step, so that one copy of OpenCC's phrase dictionary
    serves it and `to_traditional_chars`; the result must be s2tw's on every bundled text: the answers, the care
    texts, the letters, the bot's own messages and every Chinese line of the code."""
    import opencc
    import yaml

    from bot import messages

    root = Path(__file__).resolve().parent.parent
    texts: set[str] = set()

    def gather(node: object) -> None:
        if isinstance(node, str):
            texts.add(node)
        elif isinstance(node, list):
            for item in node:
                gather(item)
        elif isinstance(node, dict):
            for value in node.values():
                gather(value)

    for folder in ("faq/zh-Hans", "faq/zh-Hant", "letters", "safety", "intents"):
        for path in sorted((root / folder).glob("*.yaml")):
            if path.name != "examples.yaml":
                gather(yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader))
    gather(messages._TEXTS)
    for path in sorted((root / "bot").rglob("*.py")):
        texts.update(line for line in path.read_text(encoding="utf-8").splitlines() if has_cjk(line))
    assert len(texts) > 5_000
    reference = opencc.OpenCC("s2tw")
    different = [text for text in texts if to_traditional(text) != reference.convert(text)]
    assert different == []
    whole = "\n".join(sorted(texts))
    assert to_traditional(whole) == reference.convert(whole)
