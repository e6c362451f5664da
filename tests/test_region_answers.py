"""Answers follow the user's region: a Hong Kong or Taiwan answer when there is one, otherwise the mainland
answer under one line saying so and naming local help; the emergency number is the region's own."""

from __future__ import annotations

import pytest

from bot.dialog import Dialog
from bot.messages import say
from bot.models import Incoming, Locale, Reply

USER = "r" * 64
HK_ANSWER = "財務公司追數只可以搵你本人，唔可以滋擾你屋企人。有危險打999。"


async def send(dialog: Dialog, text: str = "", *, button: str | None = None) -> Reply:
    replies = await dialog.handle(Incoming("test", USER, text, button=button))
    assert len(replies) == 1
    return replies[0]


def payloads(reply: Reply) -> list[str]:
    return [button.payload for button in reply.buttons]


async def test_hong_kong_user_gets_the_hong_kong_answer(dialog: Dialog) -> None:
    await send(dialog, button="r:hk")
    reply = await send(dialog, "催收打電話給我媽媽合法嗎")
    assert reply.text.startswith(HK_ANSWER)
    assert "依據：第228章第20條" in reply.text
    assert not any(p.startswith("r:") for p in payloads(reply))  # the region is known: nothing to ask


async def test_hong_kong_user_writing_simplified_gets_the_hong_kong_answer_converted(dialog: Dialog) -> None:
    await send(dialog, "我在香港")
    reply = await send(dialog, "催收打电话给我妈妈合法吗")
    assert reply.text.startswith("财务公司追数只可以揾你本人，唔可以滋扰你屋企人。有危险打999。")


async def test_hong_kong_user_writing_english_gets_the_english_hong_kong_answer(dialog: Dialog) -> None:
    await send(dialog, "I live in Hong Kong")
    reply = await send(dialog, "my collector is calling everyone in my contacts")
    assert reply.text.startswith("In Hong Kong, pestering your family can be an offence. In danger, call 999.")
    assert "Checked 2026-11" in reply.text


@pytest.mark.parametrize(
    ("region", "text", "locale"),
    [
        ("hk", "家人要替我还钱吗", "zh-Hans"),
        ("hk", "家人要替我還錢嗎", "zh-Hant"),
        ("tw", "家人要替我還錢嗎", "zh-Hant"),
        ("tw", "does my family have to pay my debt", "en"),
        ("other", "does my family have to pay my debt", "en"),
    ],
)
async def test_mainland_answer_for_a_user_elsewhere_starts_with_one_line_on_local_help(
    dialog: Dialog, region: str, text: str, locale: Locale
) -> None:
    await send(dialog, button=f"r:{region}")
    reply = await send(dialog, text)
    first, second = reply.text.split("\n")[:2]
    assert first == say(f"preface.{region}", locale)
    assert second in ("家人没有替你还钱的义务。", "家人沒有替你還錢的義務。", "Your family owes nothing.")


def test_the_local_help_line_names_the_regions_own_numbers() -> None:
    assert "999" in say("preface.hk", "zh-Hant") and "110" not in say("preface.hk", "zh-Hant")
    assert "999" in say("preface.hk", "en") and "110" not in say("preface.hk", "en")
    for locale in ("zh-Hant", "en"):
        line = say("preface.tw", locale)
        assert "110" in line and "119" in line and "165" in line


async def test_mainland_user_sees_no_preface(dialog: Dialog) -> None:
    reply = await send(dialog, "家人要替我还钱吗")
    assert reply.text.startswith("家人没有替你还钱的义务。")


@pytest.mark.parametrize(
    ("region", "locale", "number"),
    [
        ("mainland", "zh-Hans", "110"),
        ("hk", "zh-Hans", "999"),
        ("hk", "zh-Hant", "999"),
        ("hk", "en", "999"),
        ("tw", "zh-Hant", "110"),
        ("other", "zh-Hant", "當地的緊急電話"),
        ("other", "en", "your local emergency number"),
    ],
)
async def test_emergency_number_is_the_users_own(dialog: Dialog, region: str, locale: Locale, number: str) -> None:
    await send(dialog, f"/lang {locale}")
    await send(dialog, button=f"r:{region}")
    reply = await send(dialog, button="a:report.regulator")
    assert number in reply.text
    assert "{emergency}" not in reply.text
    if region in ("hk", "other"):
        assert "110" not in reply.text


async def test_taiwan_user_gets_the_taiwan_answer_with_110_119_and_165(dialog: Dialog) -> None:
    await send(dialog, "我在台北")
    reply = await send(dialog, "催收一天打幾十個電話")
    assert reply.text.startswith("銀行委外催收不可以騷擾你。有危險打110或119，遇到詐騙打165。")


async def test_more_details_of_a_mainland_answer_carry_the_same_preface(dialog: Dialog) -> None:
    await send(dialog, button="r:tw")
    await send(dialog, "/lang zh-Hans")
    reply = await send(dialog, button="m:legal.contact_contacts")  # no Taiwan answer: the mainland details
    assert reply.text == say("preface.tw", "zh-Hans") + "\n保留通话录音和截图。"


async def test_traditional_writer_is_asked_where_they_are_with_the_first_legal_answer_only(dialog: Dialog) -> None:
    first = await send(dialog, "催收打電話給我媽媽合法嗎")
    assert first.text.endswith(say("region_ask", "zh-Hant"))
    assert payloads(first)[-5:] == ["r:mainland", "r:hk", "r:tw", "r:other", "f:complain.contacts"]
    second = await send(dialog, "催收一天打幾十個電話")
    assert not any(p.startswith("r:") for p in payloads(second))  # asked once, not under every answer
    await send(dialog, "4")  # the number picks an option offered last time; here not a region: no harm
    await send(dialog, button="r:hk")
    third = await send(dialog, "催收打電話給我媽媽合法嗎")
    assert third.text.startswith(HK_ANSWER)
    assert not any(p.startswith("r:") for p in payloads(third))


async def test_region_is_not_asked_of_simplified_writers_or_for_other_topics(dialog: Dialog) -> None:
    simplified = await send(dialog, "催收打电话给我妈妈合法吗")
    assert not any(p.startswith("r:") for p in payloads(simplified))
    greeting = await Dialog(dialog.knowledge, dialog.store).handle(Incoming("test", "g" * 64, "你好呀"))
    assert not any(p.startswith("r:") for reply in greeting for p in payloads(reply))


async def test_answer_shows_when_it_was_checked_in_the_users_script(dialog: Dialog) -> None:
    hant = await send(dialog, "催收打電話給我媽媽合法嗎")
    assert "\n核對於 2026-11" in hant.text
    english = await send(dialog, "they call me fifty times a day")
    assert english.text.endswith("\n\nSources: GB/T 45251—2025\nChecked 2026-11")


async def test_a_debt_question_in_care_mode_gets_the_users_regional_answer(dialog: Dialog) -> None:
    await send(dialog, button="r:hk")
    await send(dialog, "我不想活了")  # care mode starts
    await send(dialog, "催收打電話給我媽媽合法嗎")  # first a gentle check
    answered = await send(dialog, "催收打電話給我媽媽合法嗎")
    assert answered.text.startswith(HK_ANSWER)
    regulator = await send(dialog, button="a:report.regulator")
    assert "999" in regulator.text and "110" not in regulator.text


async def test_typing_the_place_answers_where_are_you(dialog: Dialog) -> None:
    await send(dialog, "催收打電話給我媽媽合法嗎")  # asked where they are
    await send(dialog, "香港")
    reply = await send(dialog, "催收打電話給我媽媽合法嗎")
    assert reply.text.startswith(HK_ANSWER)


async def test_a_follow_up_gets_the_details_with_the_same_preface(dialog: Dialog) -> None:
    await send(dialog, button="r:tw")
    await send(dialog, "催收打电话给我妈妈合法吗")
    details = await send(dialog, "那爆通讯录了怎么办")
    assert details.text == say("preface.tw", "zh-Hans") + "\n保留通话录音和截图。"
