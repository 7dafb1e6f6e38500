"""A fake Telegram Bot API server: just the methods the adapter calls.

It records every request (method, decoded parameters, uploaded files, the time
on its clock), serves ``getUpdates`` as a long poll from a queue, serves files
under ``/file/bot<token>/``, answers injected failures (429, 403, ...), and
plays Telegram's part in webhook mode: it posts updates to the URL given to
``setWebhook`` with the ``X-Telegram-Bot-Api-Secret-Token`` header. ``outage``
switches every send method to one failure (500, 429 ...) until ``recover``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

TOKEN = "123456:TEST-token_abc"
BOT_USER = {"id": 999, "is_bot": True, "first_name": "Preboard", "username": "preboard_bot"}
JSON_FIELDS = {"reply_markup", "commands", "scope", "allowed_updates", "link_preview_options"}
SEND_METHODS = {"sendMessage", "sendPhoto", "sendDocument", "sendVoice", "sendVideo"}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes]
    at: float
    status: int = 200
    message: dict[str, Any] | None = None  # what a send method returned
    served: int = 0  # how many updates a getUpdates call returned

    @property
    def chat_id(self) -> str | None:
        value = self.params.get("chat_id")
        return None if value is None else str(value)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data or url) of the inline keyboard, row by row."""
        markup = self.params.get("reply_markup") or {}
        return [
            (b["text"], b.get("callback_data") or b.get("url", ""))
            for row in markup.get("inline_keyboard", [])
            for b in row
        ]


@dataclass
class Failure:
    method: str
    status: int
    description: str
    retry_after: int | None = None
    chat_id: str | None = None
    times: int = 1


@dataclass
class FakeTelegram:
    token: str = TOKEN
    monotonic: Callable[[], float] = time.monotonic
    calls: list[Call] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    webhook_url: str | None = None
    webhook_secret: str | None = None
    fault: Failure | None = None  # while set, every send method answers with it

    def __post_init__(self) -> None:
        self._ids = itertools.count(1)
        self._message_ids = itertools.count(500)
        self._new_update = asyncio.Event()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._file)
        self.app = app

    # ---- server ----------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = getattr(site, "_server", None)
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        self._closing.set()  # wakes pending long polls
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # ---- what tests look at ----------------------------------------------------------

    def calls_to(self, method: str, *, ok: bool = True) -> list[Call]:
        return [c for c in self.calls if c.method == method and (c.status == 200 or not ok)]

    def sent(self, chat_id: int | str | None = None) -> list[Call]:
        """Successful sends (any kind), optionally to one chat."""
        return [
            c
            for c in self.calls
            if c.method in SEND_METHODS
            and c.status == 200
            and (chat_id is None or c.chat_id == str(chat_id))
        ]

    def texts(self, chat_id: int | str | None = None) -> list[str]:
        return [c.params.get("text", "") for c in self.sent(chat_id)]

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
    ) -> None:
        chat = None if chat_id is None else str(chat_id)
        self.failures.append(Failure(method, status, description, retry_after, chat, times))

    def outage(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        """Every send answers ``status`` (e.g. 500, or 429 with ``retry_after``) until
        :meth:`recover`; other methods keep working."""
        self.fault = Failure("*send*", status, description, retry_after)

    def recover(self) -> None:
        self.fault = None

    def add_file(self, data: bytes) -> str:
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = (f"photos/{file_id}.jpg", data)
        return file_id

    # ---- updates Telegram would produce ----------------------------------------------

    def next_update_id(self) -> int:
        return 10_000 + next(self._ids)

    @staticmethod
    def user(user_id: int, name: str = "Test") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": name, "language_code": "zh"}

    def message(self, user_id: int, text: str | None = None, **extra: Any) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Test"},
            "from": self.user(user_id),
        }
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split(" ", 1)[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        message.update(extra)
        return {"update_id": self.next_update_id(), "message": message}

    def photo(self, user_id: int, data: bytes, caption: str | None = None) -> dict[str, Any]:
        big = self.add_file(data)
        small = self.add_file(data[:10])
        sizes = [
            {"file_id": small, "file_unique_id": "s1", "width": 90, "height": 60, "file_size": 10},
            {
                "file_id": big,
                "file_unique_id": "b1",
                "width": 1280,
                "height": 960,
                "file_size": len(data),
            },
        ]
        extra: dict[str, Any] = {"photo": sizes}
        if caption:
            extra["caption"] = caption
        return self.message(user_id, **extra)

    def tap(self, user_id: int, sent: Call, data: str) -> dict[str, Any]:
        """The callback query for tapping a button of a message the bot sent."""
        assert sent.message is not None
        bot_message = dict(sent.message)
        bot_message["reply_markup"] = sent.params.get("reply_markup")
        return {
            "update_id": self.next_update_id(),
            "callback_query": {
                "id": f"cq-{next(self._ids)}",
                "from": self.user(user_id),
                "chat_instance": "ci-1",
                "message": bot_message,
                "data": data,
            },
        }

    def push(self, *updates: dict[str, Any]) -> None:
        """Queue updates for getUpdates (each is served once, in order)."""
        self.updates.extend(updates)
        self._new_update.set()

    async def post_webhook(
        self, update: dict[str, Any] | bytes, *, secret: str | bool | None = True
    ) -> int:
        """Post to the registered webhook like Telegram; ``secret=True`` uses the registered one."""
        assert self.webhook_url is not None, "setWebhook was never called"
        headers = {"Content-Type": "application/json"}
        token = self.webhook_secret if secret is True else secret
        if isinstance(token, str):
            headers[SECRET_HEADER] = token
        body = update if isinstance(update, bytes) else json.dumps(update).encode()
        async with (
            aiohttp.ClientSession() as session,
            session.post(self.webhook_url, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    # ---- handlers --------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        files: dict[str, bytes] = {}
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
            elif name in JSON_FIELDS:
                params[name] = json.loads(str(value))
            else:
                params[name] = str(value)
        call = Call(method, params, files, self.monotonic())
        self.calls.append(call)
        if request.match_info["token"] != self.token:
            call.status = 401
            return _error(401, "Unauthorized")
        failure = self._failure_for(call)
        if failure is not None:
            call.status = failure.status
            return _error(failure.status, failure.description, failure.retry_after)
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            call.status = 404
            return _error(404, "Not Found: method not found")
        if method in SEND_METHODS and not _is_chat_id(call.params.get("chat_id")):
            call.status = 400  # what Telegram answers for a chat that cannot exist
            return _error(400, "Bad Request: chat not found")
        result = await handler(call)
        return web.json_response({"ok": True, "result": result})

    def _failure_for(self, call: Call) -> Failure | None:
        if self.fault is not None and call.method in SEND_METHODS:
            return self.fault
        for failure in self.failures:
            if failure.method == call.method and failure.chat_id in (None, call.chat_id):
                failure.times -= 1
                if failure.times <= 0:
                    self.failures.remove(failure)
                return failure
        return None

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        wanted = request.match_info["path"]
        for path, data in self.files.values():
            if path == wanted:
                return web.Response(body=data)
        return web.Response(status=404)

    async def _m_getMe(self, call: Call) -> Any:
        return BOT_USER

    async def _m_setMyCommands(self, call: Call) -> Any:
        return True

    async def _m_deleteWebhook(self, call: Call) -> Any:
        self.webhook_url = None
        return True

    async def _m_setWebhook(self, call: Call) -> Any:
        self.webhook_url = call.params["url"]
        self.webhook_secret = call.params.get("secret_token")
        return True

    async def _m_answerCallbackQuery(self, call: Call) -> Any:
        return True

    async def _m_getFile(self, call: Call) -> Any:
        file_id = call.params["file_id"]
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "file_size": len(data),
            "file_path": path,
        }

    async def _m_getUpdates(self, call: Call) -> Any:
        timeout = float(call.params.get("timeout") or 0)
        if not self.updates and timeout > 0:
            self._new_update.clear()
            waits = [asyncio.ensure_future(e.wait()) for e in (self._new_update, self._closing)]
            await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()
        batch, self.updates = self.updates[:100], self.updates[100:]
        call.served = len(batch)
        return batch

    async def _send(self, call: Call, **content: Any) -> Any:
        chat_id = int(call.params["chat_id"])
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": BOT_USER,
            **content,
        }
        call.message = message
        return message

    async def _m_sendMessage(self, call: Call) -> Any:
        return await self._send(call, text=call.params["text"])

    async def _m_sendPhoto(self, call: Call) -> Any:
        size = len(call.files.get("photo", b""))
        photo = {"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1, "file_size": size}
        return await self._send(call, photo=[photo])

    async def _m_sendDocument(self, call: Call) -> Any:
        return await self._send(call, document={"file_id": "d", "file_unique_id": "d"})

    async def _m_sendVoice(self, call: Call) -> Any:
        return await self._send(call, voice={"file_id": "v", "file_unique_id": "v", "duration": 1})

    async def _m_sendVideo(self, call: Call) -> Any:
        video = {"file_id": "v", "file_unique_id": "v", "width": 1, "height": 1, "duration": 1}
        return await self._send(call, video=video)


def _is_chat_id(value: object) -> bool:
    try:
        int(str(value))
    except ValueError:
        return False
    return True


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)
