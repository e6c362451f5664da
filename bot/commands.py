"""The commands people can type, declared once: the dialog's handlers, Telegram's menus and the help text all
come from `COMMANDS`.

    parse("/stats@anxin_bot 7") → ("stats", "7")
    find("menu") → the `help` command (aliases count)
    menu(locale, admin=…) → (name, description) pairs in the order shown

A command marked `admin_only` answers like an unknown command for everyone else; a channel decides who is
an admin from its own configuration and says so in `Incoming.role` (identities never reach the core).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from .models import Locale
from .text import to_traditional


@dataclass(frozen=True)
class Command:
    name: str
    descriptions: Mapping[str, str]  # zh-Hans and en; zh-Hant is converted
    admin_only: bool = False
    aliases: tuple[str, ...] = field(default=())

    def description(self, locale: Locale) -> str:
        if locale == "zh-Hant":
            return to_traditional(self.descriptions["zh-Hans"])
        return self.descriptions.get(locale) or self.descriptions["zh-Hans"]


def _command(name: str, zh: str, en: str, *, admin_only: bool = False, aliases: tuple[str, ...] = ()) -> Command:
    return Command(name, MappingProxyType({"zh-Hans": zh, "en": en}), admin_only, aliases)


COMMANDS: tuple[Command, ...] = (
    _command("start", "开始：我能帮你什么", "Start: what I can help with"),
    _command("help", "话题菜单", "Topics menu", aliases=("menu",)),
    _command("lang", "语言：简体 / 繁體 / English", "Language: 简体 / 繁體 / English"),
    _command("region", "地区：中国大陆 / 香港 / 台湾", "Region: mainland China / Hong Kong / Taiwan"),
    _command("privacy", "隐私：我保存什么、不保存什么", "What I keep and what I don't"),
    _command("forget", "删除我的全部记录", "Delete everything about me"),
    _command("complain", "一步步帮我写投诉信", "Help me write a complaint, step by step"),
    _command("cancel", "取消正在进行的步骤", "Cancel what we are doing"),
    _command("stats", "使用统计（管理员）", "Usage statistics (admins)", admin_only=True),
    _command("reload", "重新加载内容（管理员）", "Reload the content (admins)", admin_only=True),
)
_BY_NAME: Mapping[str, Command] = MappingProxyType(
    {name: command for command in COMMANDS for name in (command.name, *command.aliases)}
)
# "/stats", "/stats@anxin_bot 7" (Telegram adds the bot's name in groups and menus), "/lang en".
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@\S+)?(?:\s+(.*))?$", re.DOTALL)


def parse(text: str) -> tuple[str, str] | None:
    """The command name (lower case) and its argument, or None when `text` is not a command."""
    found = _COMMAND.match(text.strip())
    if found is None:
        return None
    return found.group(1).casefold(), (found.group(2) or "").strip()


def find(name: str) -> Command | None:
    return _BY_NAME.get(name)


def menu(locale: Locale, *, admin: bool = False) -> list[tuple[str, str]]:
    """The commands someone may use, with their descriptions: Telegram's menu and the help text."""
    return [(c.name, c.description(locale)) for c in COMMANDS if admin or not c.admin_only]


def help_text(locale: Locale, *, admin: bool = False) -> str:
    return "\n".join(f"/{name} {description}" for name, description in menu(locale, admin=admin))
