"""Parsing commands and their Chinese aliases."""

from __future__ import annotations

import pytest

from bot.core.router import Router
from bot.handlers import build_router
from storage.models import Role


@pytest.fixture
def router() -> Router:
    return build_router()


def test_slash_command_with_args(router: Router) -> None:
    parsed = router.parse("/status  张三 ")
    assert parsed.command is not None and parsed.command.name == "status"
    assert parsed.args == "张三"


def test_chinese_alias_without_slash(router: Router) -> None:
    parsed = router.parse("进度")
    assert parsed.command is not None and parsed.command.name == "progress"
    parsed = router.parse("绑定 ABCDE23456")
    assert parsed.command is not None and parsed.command.name == "bind"
    assert parsed.args == "ABCDE23456"


def test_telegram_bot_suffix(router: Router) -> None:
    parsed = router.parse("/progress@preboard_bot")
    assert parsed.command is not None and parsed.command.name == "progress"


def test_english_word_without_slash_is_text(router: Router) -> None:
    parsed = router.parse("help me please")
    assert parsed.command is None and parsed.word is None


def test_unknown_slash_word(router: Router) -> None:
    parsed = router.parse("/frobnicate now")
    assert parsed.command is None and parsed.word == "frobnicate"


def test_help_lists_by_role(router: Router) -> None:
    unbound = {c.name for c in router.commands_for(None)}
    candidate = {c.name for c in router.commands_for(Role.CANDIDATE)}
    hr = {c.name for c in router.commands_for(Role.HR)}
    assert "bind" in unbound and "progress" not in unbound
    assert "progress" in candidate and "status" not in candidate and "bind" not in candidate
    assert "status" in hr and "progress" not in hr


def test_duplicate_words_rejected() -> None:
    router = Router()

    @router.command("a", roles={None}, aliases=("甲",))
    async def a(ctx: object, args: str) -> None: ...

    with pytest.raises(ValueError):
        router.command("b", roles={None}, aliases=("甲",))(a)  # type: ignore[arg-type]
