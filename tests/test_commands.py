"""Commands are declared once: every channel gets the same handlers, menus and help; admin ones stay hidden."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import anxin

from bot import commands
from bot.dialog import Dialog
from bot.models import Incoming

USER = "m" * 64


def test_every_declared_command_has_a_handler_and_every_handler_is_declared(dialog: Dialog) -> None:
    assert set(dialog._commands) == {command.name for command in commands.COMMANDS}


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("/stats", ("stats", "")),
        ("/stats@anxin_bot 7", ("stats", "7")),
        ("/LANG  en ", ("lang", "en")),
        ("/forget", ("forget", "")),
        ("not a command", None),
        ("/", None),
        ("/统计", None),
    ],
)
def test_commands_are_parsed_with_telegram_bot_names_and_arguments(text: str, parsed: tuple[str, str] | None) -> None:
    assert commands.parse(text) == parsed


def test_menus_hide_admin_commands_from_everyone_else() -> None:
    names = [name for name, _ in commands.menu("en")]
    assert "stats" not in names and "reload" not in names and "forget" in names
    assert [name for name, _ in commands.menu("zh-Hant", admin=True)][-2:] == ["stats", "reload"]
    assert "/forget 刪除我的全部記錄" in commands.help_text("zh-Hant")


async def test_an_unknown_command_lists_the_real_ones(dialog: Dialog) -> None:
    [reply] = await dialog.handle(Incoming("test", USER, "/nonsense"))
    assert reply.text.startswith("没有这个命令") and "/forget" in reply.text and "/stats" not in reply.text


async def test_admin_commands_answer_like_unknown_ones_for_users(dialog: Dialog) -> None:
    [as_user] = await dialog.handle(Incoming("test", USER, "/stats"))
    [unknown] = await dialog.handle(Incoming("test", USER, "/nonsense"))
    assert as_user.text == unknown.text


async def test_stats_for_an_admin_sends_the_summary_and_the_page(dialog: Dialog) -> None:
    await dialog.handle(Incoming("test", USER, "催收打电话给我妈妈合法吗"))
    [reply] = await dialog.handle(Incoming("test", USER, "/stats 7", role="admin"))
    assert "7" in reply.text and reply.attachment is not None
    assert reply.attachment.filename == "anxin-stats-7d.html" and b"<html" in reply.attachment.data


@pytest.mark.parametrize("argument", ["²", "abc", "0", "99999", "-1", "٣", "9" * 5000])
async def test_stats_with_a_bad_number_says_how_to_use_it_on_every_channel(dialog: Dialog, argument: str) -> None:
    [reply] = await dialog.handle(Incoming("test", USER, f"/stats {argument}", role="admin"))
    assert reply.text == "用法：/stats 或 /stats 天数（1–3650），例如 /stats 7"
    assert reply.attachment is None


async def test_reload_for_an_admin_reports_the_content(dialog: Dialog) -> None:
    [reply] = await dialog.handle(Incoming("test", USER, "/reload", role="admin"))
    assert reply.text.startswith("已重新加载")


def test_the_console_operator_can_use_stats_and_reload(kb_dir: Path, data_dir: Path) -> None:
    result = anxin("chat", kb_dir=kb_dir, data_dir=data_dir, stdin="催收打电话给我妈妈合法吗\n/stats\n/reload\n")
    assert result.returncode == 0, result.stderr
    assert "已重新加载" in result.stdout
    assert "消息" in result.stdout  # the statistics summary
