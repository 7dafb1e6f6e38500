"""Telling the admins: admin staff and ADMIN_IDS accounts, each once."""

from __future__ import annotations

from adapters.memory import MemoryAdapter
from bot.core.admins import admin_addresses, notify_admins
from bot.core.messages import Outgoing
from bot.runtime.app import App
from tests.bot.helpers import add_staff


async def test_admin_staff_and_admin_accounts_each_told_once(app: App, chat: MemoryAdapter) -> None:
    settings = app.services.settings.model_copy(
        update={"admin_ids": ["memory:root", "memory:admin-1", "memory:never-wrote"]}
    )
    await add_staff(app, "管理员", "admin", user="admin-1")  # also in ADMIN_IDS
    await add_staff(app, "王芳", "hr", user="hr-1")
    await chat.say("root", "/help")  # an ADMIN_IDS account exists once it has written
    async with app.db.session() as session:
        found = await admin_addresses(session, settings)
        assert sorted(a.key[0] for a in found) == ["i", "s"]
        first = await notify_admins(
            session,
            settings,
            lambda lang: Outgoing(f"hello {lang}"),
            now=app.clock.now(),
            dedupe="k",
        )
        again = await notify_admins(
            session, settings, lambda lang: Outgoing("again"), now=app.clock.now(), dedupe="k"
        )
    assert len(first) == 2 and again == []
    await app.courier.deliver(first)
    assert [m.text for m in chat.sent["admin-1"]] == ["hello None"]
    assert chat.sent["root"][-1].text == "hello None"
    assert "hr-1" not in chat.sent
