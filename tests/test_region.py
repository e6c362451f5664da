"""Where the user is, from what they write: a stated place wins; Cantonese and local money say a lot."""

from __future__ import annotations

import pytest

from bot.region import infer_region, update_region


@pytest.mark.parametrize(
    ("text", "region", "strength"),
    [
        ("我喺香港 財務公司話要上門淋紅油 我應該點做", "hk", "stated"),
        ("I live in Hong Kong and a money lender keeps calling", "hk", "stated"),
        ("我在台北 卡債還不出來", "tw", "stated"),
        ("人在深圳 网贷逾期了", "mainland", "stated"),
        # where the family is says nothing of where the writer is
        ("家人在台灣 我喺深圳 網貸逾期了", "mainland", "stated"),
        ("I'm in the UK now but my 花呗 is overdue", "other", "stated"),
        ("佢哋日日打嚟我屋企", "hk", "strong"),
        ("欠咗財務公司錢", "hk", "strong"),
        ("銀行說要把我的卡債轉給討債公司", "tw", "strong"),
        ("借了HK$20000", "hk", "strong"),
        ("花呗逾期了怎么办", "mainland", "weak"),
    ],
)
def test_region_is_inferred_from_what_the_user_writes(text: str, region: str, strength: str) -> None:
    guess = infer_region(text)
    assert guess is not None and (guess.region, guess.strength) == (region, strength)


@pytest.mark.parametrize(
    "text",
    ["催收打電話給我媽媽合法嗎", "collectors keep calling my parents", "我朋友在台湾", "我在超市", "借了999块", "你好"],
)
def test_text_that_says_nothing_about_a_place_gives_no_guess(text: str) -> None:
    assert infer_region(text) is None


def test_a_stated_place_pins_the_region_and_only_another_stated_place_changes_it() -> None:
    region, pinned = update_region(None, False, "我在香港", simplified_script=False)
    assert (region, pinned) == ("hk", True)
    assert update_region(region, pinned, "花呗逾期了", simplified_script=True) == ("hk", True)
    assert update_region(region, pinned, "我已经回到大陆了", simplified_script=True) == ("mainland", True)


def test_simplified_script_alone_means_mainland_until_something_stronger_appears() -> None:
    region, pinned = update_region(None, False, "催收天天打电话", simplified_script=True)
    assert (region, pinned) == ("mainland", False)
    assert update_region(region, pinned, "佢哋又打嚟", simplified_script=False) == ("hk", False)
    assert update_region(None, False, "催收打電話給我", simplified_script=False) == (None, False)
