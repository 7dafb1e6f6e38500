"""Platform adapters: one module per platform, built from settings.

Platform SDKs are imported only inside these modules, and each module only when
its platform is configured (lark-oapi alone takes seconds to import).
"""

from __future__ import annotations

from adapters.base import BaseAdapter, Route
from bot.core.cache import SharedCache
from bot.core.clock import Clock
from bot.core.settings import Settings


def build_platform_adapters(
    settings: Settings, *, cache: SharedCache, clock: Clock
) -> list[BaseAdapter]:
    """An adapter for every platform whose credentials are set."""
    adapters: list[BaseAdapter] = []
    if settings.telegram_enabled:
        from adapters.telegram import TelegramAdapter

        adapters.append(TelegramAdapter(settings=settings, cache=cache, clock=clock))
    if settings.wecom_enabled:
        from adapters.wecom import WeComAdapter

        adapters.append(WeComAdapter(settings=settings, cache=cache, clock=clock))
    if settings.feishu_enabled:
        from adapters.feishu import FeishuAdapter

        adapters.append(FeishuAdapter(settings=settings, cache=cache, clock=clock))
    return adapters


__all__ = ["BaseAdapter", "Route", "build_platform_adapters"]
