"""Button actions: one typed value that survives the trip through any channel, and refuses garbage."""

from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.actions import MAX_PAYLOAD_BYTES, Action, Kind, numbered, payloads
from bot.channels.console import render_console
from bot.models import Button, Reply

VALUES = st.from_regex(r"[a-z0-9_.-]{0,60}", fullmatch=True)


@given(st.sampled_from(get_args(Kind)), VALUES)
def test_every_action_round_trips_and_fits_telegrams_callback_data(kind: Kind, value: str) -> None:
    action = Action(kind, value)
    payload = action.encode()
    assert Action.decode(payload) == action
    assert len(payload.encode()) <= MAX_PAYLOAD_BYTES and payload.isascii()


@pytest.mark.parametrize(
    "payload", ["", "a", "x:legal.threats", "a:legal threats", "a:<script>", "a:" + "x" * 61, "a:催收", "::", "k"]
)
def test_garbage_payloads_decode_to_nothing(payload: str) -> None:
    assert Action.decode(payload) is None


@given(st.text(max_size=80))
def test_decoding_arbitrary_text_never_raises(payload: str) -> None:
    decoded = Action.decode(payload)
    assert decoded is None or Action.decode(decoded.encode()) == decoded


def test_options_are_numbered_across_every_reply_of_a_turn_in_one_place() -> None:
    replies = [
        Reply("first", (Action("answer", "legal.threats").button("A"),)),
        Reply("second", (Action("more", "legal.threats").button("B"), Action("menu").button("C"))),
    ]
    assert [number for number, _ in numbered(replies)] == [1, 2, 3]
    assert payloads(replies) == ("a:legal.threats", "m:legal.threats", "c:")
    assert "[3] C" in render_console(replies)  # the console numbers like WeChat: "3" picks C
    assert render_console([Reply("plain", (Button("only", "n:"),))]).endswith("[1] only")
