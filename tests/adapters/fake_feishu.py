"""A fake Feishu Open API on 127.0.0.1, and events encrypted and signed like Feishu's.

``FakeFeishu`` answers the endpoints the adapter calls (tenant token, message create,
image/file upload, message resources, the long-connection endpoint and a WebSocket
that speaks lark's protobuf frames) and records every request with a monotonic time.
``FeishuEvents`` builds schema 2.0 events, encrypts them (AES-256-CBC with the key the
SDK's own AESCipher derives, checked by decrypting with it) and signs them (checked
with the SDK's own signature verification).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import json
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web
from Crypto.Cipher import AES
from lark_oapi.core.const import LARK_REQUEST_NONCE, LARK_REQUEST_SIGNATURE, LARK_REQUEST_TIMESTAMP
from lark_oapi.core.model import RawRequest
from lark_oapi.core.utils import AESCipher
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler
from lark_oapi.ws.pb.pbbp2_pb2 import Frame

TOKEN_PATH = "/open-apis/auth/v3/tenant_access_token/internal"


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


@dataclass
class Failure:
    """The next message create answers this; ``deliver`` means it got through anyway."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    deliver: bool = False


class FakeFeishu:
    """Just enough of open.feishu.cn for the adapter."""

    def __init__(self, *, app_id: str = "cli_test", app_secret: str = "s3cret") -> None:
        self.app_id = app_id
        self.app_secret = app_secret
        self.tenant_token = f"t-{uuid.uuid4().hex[:12]}"
        self.requests: list[Recorded] = []
        self.messages: list[dict[str, Any]] = []
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self.resources: dict[tuple[str, str], bytes] = {}
        self.fail_next: list[Failure] = []
        self.ws_endpoint: tuple[int, dict[str, Any]] = (403, {"code": 403, "msg": "forbidden"})
        self.ws_frames: list[Frame] = []  # sent to the client once it connects
        self.ws_replies: list[Frame] = []
        self._by_uuid: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_post(TOKEN_PATH, self._token)
        app.router.add_post("/open-apis/im/v1/messages", self._create)
        app.router.add_post("/open-apis/im/v1/images", self._image)
        app.router.add_post("/open-apis/im/v1/files", self._file)
        app.router.add_get("/open-apis/im/v1/messages/{mid}/resources/{key}", self._resource)
        app.router.add_post("/callback/ws/endpoint", self._endpoint)
        app.router.add_get("/ws", self._ws)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- what tests look at -----------------------------------------------------------

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    def to(self, receive_id: str) -> list[dict[str, Any]]:
        """Messages delivered to an open_id or chat_id, oldest first."""
        return [m for m in self.messages if m["receive_id"] == receive_id]

    def texts(self, receive_id: str) -> list[str]:
        return [render(m) for m in self.to(receive_id)]

    def buttons(self, receive_id: str) -> list[tuple[str, str]]:
        """(label, payload) of the last card sent there."""
        cards = [m for m in self.to(receive_id) if m["msg_type"] == "interactive"]
        if not cards:
            return []
        actions = [e for e in cards[-1]["content"]["elements"] if e["tag"] == "action"]
        return [(b["text"]["content"], b["value"]["p"]) for a in actions for b in a["actions"]]

    # ---- handlers ---------------------------------------------------------------------

    async def _record(self, request: web.Request, body: Any) -> None:
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        )

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.tenant_token}"

    @staticmethod
    def _denied() -> web.Response:
        return web.json_response({"code": 99991663, "msg": "invalid token"}, status=400)

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(request, body)
        if body != {"app_id": self.app_id, "app_secret": self.app_secret}:
            return web.json_response({"code": 10014, "msg": "app secret invalid"}, status=400)
        return web.json_response(
            {"code": 0, "msg": "ok", "tenant_access_token": self.tenant_token, "expire": 7200}
        )

    async def _create(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._record(request, body)
        if not self._authorized(request):
            return self._denied()
        failure = self.fail_next.pop(0) if self.fail_next else None
        if failure is not None and not failure.deliver:
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        message_id = self._by_uuid.get(body.get("uuid") or "")
        if message_id is None:  # Feishu delivers at most one message per uuid an hour
            message_id = f"om_{next(self._ids)}"
            if body.get("uuid"):
                self._by_uuid[body["uuid"]] = message_id
            self.messages.append(
                {
                    "receive_id_type": request.query.get("receive_id_type"),
                    "receive_id": body["receive_id"],
                    "msg_type": body["msg_type"],
                    "content": json.loads(body["content"]),
                    "uuid": body.get("uuid"),
                    "message_id": message_id,
                }
            )
        if failure is not None:  # delivered, but the answer is lost
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        data = {"message_id": message_id, "msg_type": body["msg_type"]}
        return web.json_response({"code": 0, "msg": "success", "data": data})

    async def _upload(self, request: web.Request, field_name: str, prefix: str) -> web.Response:
        """image -> image_key "img_v2_N", file -> file_key "file_v2_N"."""
        # The SDK's multipart parts carry no filename, so read them all as bytes.
        parts: dict[str, bytes] = {}
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            assert isinstance(part, BodyPartReader) and part.name
            parts[part.name] = await part.read()
        data = parts.pop(field_name)
        fields = {k: v.decode() for k, v in parts.items()}
        await self._record(request, {**fields, field_name: data})
        if not self._authorized(request):
            return self._denied()
        key = f"{prefix}_v2_{next(self._ids)}"
        self.uploads[key] = (fields.get("file_name", ""), data)
        answer = {"code": 0, "msg": "success", "data": {f"{field_name}_key": key}}
        return web.json_response(answer)

    async def _image(self, request: web.Request) -> web.Response:
        return await self._upload(request, "image", "img")

    async def _file(self, request: web.Request) -> web.Response:
        return await self._upload(request, "file", "file")

    async def _resource(self, request: web.Request) -> web.Response:
        await self._record(request, None)
        if not self._authorized(request):
            return self._denied()
        data = self.resources.get((request.match_info["mid"], request.match_info["key"]))
        if data is None:
            return web.json_response({"code": 234003, "msg": "file not found"}, status=400)
        return web.Response(body=data, content_type="application/octet-stream")

    async def _endpoint(self, request: web.Request) -> web.Response:
        await self._record(request, await request.json())
        status, body = self.ws_endpoint
        return web.json_response(body, status=status)

    def accept_ws(self) -> None:
        """Make the long-connection endpoint hand out this server's WebSocket."""
        url = f"{self.url.replace('http', 'ws')}/ws?device_id=dev1&service_id=7"
        config = {"ReconnectCount": 0, "ReconnectInterval": 1, "ReconnectNonce": 0}
        data = {"URL": url, "ClientConfig": {**config, "PingInterval": 120}}
        self.ws_endpoint = (200, {"code": 0, "msg": "ok", "data": data})

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        await self._record(request, None)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for frame in self.ws_frames:
            await ws.send_bytes(frame.SerializeToString())
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                reply = Frame()
                reply.ParseFromString(message.data)
                self.ws_replies.append(reply)
        return ws


def render(message: dict[str, Any]) -> str:
    """A delivered message as plain text (the card's text, the post's lines)."""
    content = message["content"]
    kind = message["msg_type"]
    if kind == "text":
        return str(content["text"])
    if kind == "post":
        rows = next(iter(content.values()))["content"]
        return "\n".join("".join(e.get("text", "") for e in row) for row in rows)
    if kind == "interactive":
        divs = [e["text"]["content"] for e in content["elements"] if e["tag"] == "div"]
        return "\n".join(divs)
    return f"[{kind}]"


def event_frame(payload: dict[str, Any], *, message_id: str = "m1") -> Frame:
    """A long-connection DATA frame carrying one (plaintext) event."""
    frame = Frame()
    frame.SeqID, frame.LogID, frame.service, frame.method = 1, 1, 7, 1
    for key, value in (
        ("type", "event"),
        ("message_id", message_id),
        ("sum", "1"),
        ("seq", "0"),
        ("trace_id", "trace1"),
    ):
        header = frame.headers.add()
        header.key, header.value = key, value
    frame.payload = json.dumps(payload).encode()
    return frame


class FeishuEvents:
    """Schema 2.0 events, encrypted and signed the way Feishu delivers them."""

    def __init__(self, *, encrypt_key: str, verification_token: str, app_id: str) -> None:
        self.encrypt_key = encrypt_key
        self.verification_token = verification_token
        self.app_id = app_id
        self._ids = itertools.count(1)

    def envelope(
        self, event_type: str, event: dict[str, Any], *, event_id: str | None = None
    ) -> dict[str, Any]:
        header = {
            "event_id": event_id or uuid.uuid4().hex,
            "token": self.verification_token,
            "create_time": str(int(time.time() * 1000)),
            "event_type": event_type,
            "tenant_key": "tenant1",
            "app_id": self.app_id,
        }
        return {"schema": "2.0", "header": header, "event": event}

    def message(
        self,
        open_id: str,
        message_type: str,
        content: dict[str, Any],
        *,
        message_id: str | None = None,
        chat_type: str = "p2p",
        chat_id: str = "oc_p2p",
        event_id: str | None = None,
    ) -> dict[str, Any]:
        message = {
            "message_id": message_id or f"om_in_{next(self._ids)}",
            "create_time": str(int(time.time() * 1000)),
            "chat_id": chat_id,
            "chat_type": chat_type,
            "message_type": message_type,
            "content": json.dumps(content, ensure_ascii=False),
        }
        sender = {
            "sender_id": {"open_id": open_id, "union_id": f"on_{open_id}", "user_id": None},
            "sender_type": "user",
            "tenant_key": "tenant1",
        }
        event = {"sender": sender, "message": message}
        return self.envelope("im.message.receive_v1", event, event_id=event_id)

    def text(self, open_id: str, text: str, **kwargs: Any) -> dict[str, Any]:
        return self.message(open_id, "text", {"text": text}, **kwargs)

    def card_action(
        self, open_id: str, payload: str, *, event_id: str | None = None
    ) -> dict[str, Any]:
        event = {
            "operator": {"tenant_key": "tenant1", "open_id": open_id, "union_id": "on_x"},
            "token": "c-callback-token",
            "action": {"value": {"p": payload}, "tag": "button"},
            "host": "im_message",
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_p2p"},
        }
        return self.envelope("card.action.trigger", event, event_id=event_id)

    def challenge(self, challenge: str, *, token: str | None = None) -> dict[str, Any]:
        return {
            "challenge": challenge,
            "token": token or self.verification_token,
            "type": "url_verification",
        }

    def encrypt(self, plaintext: str, key: str | None = None) -> str:
        """AES-256-CBC, key sha256(encrypt_key) as the SDK derives it, IV prefixed, base64."""
        cipher_key = AESCipher(key or self.encrypt_key)
        data = plaintext.encode()
        pad = AES.block_size - len(data) % AES.block_size
        iv = os.urandom(AES.block_size)
        sealed = iv + AES.new(cipher_key.digest, AES.MODE_CBC, iv).encrypt(
            data + bytes([pad]) * pad
        )
        encoded = base64.b64encode(sealed).decode()
        assert cipher_key.decrypt_str(encoded) == plaintext  # the SDK can open it
        return encoded

    def seal(
        self, payload: dict[str, Any], *, key: str | None = None, timestamp: float | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The request body and headers Feishu would POST for ``payload`` (at ``timestamp``,
        Unix seconds; now by default)."""
        key = key or self.encrypt_key
        body = json.dumps({"encrypt": self.encrypt(json.dumps(payload), key)}).encode()
        return body, self.sign(body, key, timestamp=timestamp)

    def sign(
        self, body: bytes, key: str | None = None, *, timestamp: float | None = None
    ) -> dict[str, str]:
        key = key or self.encrypt_key
        timestamp_text = str(int(time.time() if timestamp is None else timestamp))
        nonce = uuid.uuid4().hex
        signature = hashlib.sha256((timestamp_text + nonce + key).encode() + body).hexdigest()
        headers = {
            LARK_REQUEST_TIMESTAMP: timestamp_text,
            LARK_REQUEST_NONCE: nonce,
            LARK_REQUEST_SIGNATURE: signature,
            "Content-Type": "application/json",
        }
        # The SDK's own check accepts it (it raises AccessDeniedException otherwise).
        raw = RawRequest()
        raw.headers, raw.body = headers, body
        EventDispatcherHandler()._verify_sign(raw, key)
        return headers


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    """Poll ``condition()`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
