"""A fake WeCom: the API endpoints the adapter calls, and callbacks encrypted like WeCom's.

``FakeWeCom`` serves gettoken, message/send, message/update_template_card,
media/upload and media/get on 127.0.0.1 (port 0) and records every request.
``WeComCallbacks`` builds callback XML, encrypts and signs it with wechatpy's own
``WeChatCrypto`` exactly as WeCom does, and posts it to the bot.
"""

from __future__ import annotations

import itertools
import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import aiohttp
from aiohttp import web
from wechatpy.enterprise import WeChatCrypto


@dataclass
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    at: float = field(default_factory=time.monotonic)


TASK_ID = re.compile(r"^[A-Za-z0-9_\-@]{1,128}$")


class FakeWeCom:
    """The WeCom API, as far as the adapter uses it."""

    def __init__(self, corp_id: str, secret: str, agent_id: int) -> None:
        self.corp_id = corp_id
        self.secret = secret
        self.agent_id = agent_id
        self.requests: list[Recorded] = []
        self.valid_tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.send_results: list[dict[str, Any]] = []  # answers for the next message/send calls
        self.http_status: list[int] = []  # HTTP statuses for the next message/send calls
        # While set, every message/send answers this HTTP status, or this errcode body.
        self.outage_status: int | None = None
        self.outage_result: dict[str, Any] | None = None
        self.invalid_users: set[str] = set()
        self.media: dict[str, tuple[bytes, str]] = {}
        self.task_ids: set[str] = set()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ---- server ------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=30 * 1024 * 1024)
        app.router.add_get("/cgi-bin/gettoken", self.gettoken)
        app.router.add_post("/cgi-bin/message/send", self.message_send)
        app.router.add_post("/cgi-bin/message/update_template_card", self.update_card)
        app.router.add_post("/cgi-bin/media/upload", self.media_upload)
        app.router.add_get("/cgi-bin/media/get", self.media_get)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/"

    # ---- knobs and queries -----------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Make every issued token expired (WeCom then answers 42001)."""
        self.expired_tokens |= self.valid_tokens
        self.valid_tokens.clear()

    def outage(self, *, status: int | None = None, errcode: int | None = None) -> None:
        """Every message/send fails until :meth:`recover`: with the HTTP ``status`` (500,
        429 ...) or WeCom's ``errcode`` in a 200 answer (45009: over the rate limit)."""
        self.outage_status = status
        self.outage_result = None if errcode is None else {"errcode": errcode, "errmsg": "fault"}

    def recover(self) -> None:
        self.outage_status = self.outage_result = None

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == f"/cgi-bin/{path}"]

    @property
    def token_fetches(self) -> int:
        return len(self.calls("gettoken"))

    def sent(self, user: str | None = None) -> list[dict[str, Any]]:
        """message/send bodies that WeCom accepted, optionally for one user."""
        return [
            r.body
            for r in self.calls("message/send")
            if r.body.get("_accepted") and (user is None or r.body.get("touser") == user)
        ]

    def texts(self, user: str | None = None) -> list[str]:
        """What each accepted message showed: its text, or a card's title and subtitle."""
        out = []
        for body in self.sent(user):
            kind = body["msgtype"]
            if kind in ("text", "markdown"):
                out.append(body[kind]["content"])
            elif kind == "template_card":
                card = body["template_card"]
                title = card.get("main_title", {}).get("title", "")
                out.append("\n".join(x for x in (title, card.get("sub_title_text", "")) if x))
            else:
                out.append(f"[{kind}]")
        return out

    def cards(self, user: str | None = None) -> list[dict[str, Any]]:
        return [b["template_card"] for b in self.sent(user) if b["msgtype"] == "template_card"]

    # ---- endpoints ---------------------------------------------------------------------

    def _record(self, request: web.Request, body: Any) -> Recorded:
        rec = Recorded(request.method, request.path, dict(request.query), body)
        self.requests.append(rec)
        return rec

    def _token_error(self, request: web.Request) -> web.Response | None:
        token = request.query.get("access_token", "")
        if token in self.valid_tokens:
            return None
        if token in self.expired_tokens:
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})

    async def gettoken(self, request: web.Request) -> web.Response:
        self._record(request, None)
        q = request.query
        if q.get("corpid") != self.corp_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        if q.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        token = f"TOKEN-{next(self._ids)}"
        self.valid_tokens.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    async def message_send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if self.http_status:
            return web.Response(status=self.http_status.pop(0), text="busy")
        if self.outage_status is not None:
            return web.Response(status=self.outage_status, text="fault")
        if self.outage_result is not None:
            return web.json_response(self.outage_result)
        if (error := self._token_error(request)) is not None:
            return error
        if self.send_results:
            return web.json_response(self.send_results.pop(0))
        if body.get("agentid") != self.agent_id:
            return web.json_response({"errcode": 40056, "errmsg": "invalid agentid"})
        if body["touser"] in self.invalid_users:
            return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": body["touser"]})
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": f"msg{len(self.requests)}"}
        if body["msgtype"] == "template_card":
            card = body["template_card"]
            task = card.get("task_id", "")
            buttons = card.get("button_list", [])
            if not TASK_ID.match(task) or task in self.task_ids or not 1 <= len(buttons) <= 6:
                return web.json_response({"errcode": 40058, "errmsg": "invalid template_card"})
            if not card.get("main_title", {}).get("title") and not card.get("sub_title_text"):
                return web.json_response({"errcode": 40058, "errmsg": "title or subtitle needed"})
            self.task_ids.add(task)
            answer["response_code"] = f"RC-{task}"
        elif (
            body["msgtype"] in ("image", "file")
            and body[body["msgtype"]]["media_id"] not in self.media
        ):
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        elif body["msgtype"] in ("text", "markdown") and not body[body["msgtype"]]["content"]:
            return web.json_response({"errcode": 44004, "errmsg": "empty content"})
        body["_accepted"] = True
        return web.json_response(answer)

    async def update_card(self, request: web.Request) -> web.Response:
        body = await request.json()
        self._record(request, body)
        if (error := self._token_error(request)) is not None:
            return error
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": []})

    async def media_upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["media"]
        assert isinstance(upload, web.FileField)
        data = upload.file.read()
        self._record(request, {"filename": upload.filename, "size": len(data)})
        if (error := self._token_error(request)) is not None:
            return error
        media_id = f"MEDIA-{next(self._ids)}"
        self.media[media_id] = (data, upload.filename)
        return web.json_response(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": request.query.get("type"),
                "media_id": media_id,
                "created_at": "1380000000",
            }
        )

    async def media_get(self, request: web.Request) -> web.Response:
        self._record(request, None)
        if (error := self._token_error(request)) is not None:
            return error
        found = self.media.get(request.query.get("media_id", ""))
        if found is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        data, name = found
        return web.Response(
            body=data,
            content_type="image/jpeg",
            headers={"Content-Disposition": f'attachment; filename="{quote(name)}"'},
        )


class WeComCallbacks:
    """Callbacks as WeCom sends them: XML encrypted and signed with the app's token and key."""

    def __init__(self, url: str, *, token: str, aes_key: str, corp_id: str, agent_id: int) -> None:
        self.url = url
        self.corp_id = corp_id
        self.agent_id = agent_id
        self.crypto = WeChatCrypto(token, aes_key, corp_id)
        self._ids = itertools.count(7_000_000_000_000_000_001)
        self._nonces = itertools.count(1)

    def next_msg_id(self) -> str:
        return str(next(self._ids))

    # ---- plaintext messages --------------------------------------------------------------

    def _xml(self, user: str, msg_type: str, fields: dict[str, str], create_time: int) -> str:
        inner = "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
        return (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>"
            f"{inner}<AgentID>{self.agent_id}</AgentID></xml>"
        )

    def text(self, user: str, content: str, msg_id: str | None = None) -> str:
        fields = {"Content": content, "MsgId": msg_id or self.next_msg_id()}
        return self._xml(user, "text", fields, int(time.time()))

    def image(self, user: str, media_id: str, msg_id: str | None = None) -> str:
        fields = {
            "PicUrl": f"https://wework.qpic.cn/{media_id}",
            "MediaId": media_id,
            "MsgId": msg_id or self.next_msg_id(),
        }
        return self._xml(user, "image", fields, int(time.time()))

    def file(self, user: str, media_id: str, name: str) -> str:
        fields = {"MediaId": media_id, "FileName": name, "MsgId": self.next_msg_id()}
        return self._xml(user, "file", fields, int(time.time()))

    def voice(self, user: str, media_id: str) -> str:
        fields = {"MediaId": media_id, "Format": "amr", "MsgId": self.next_msg_id()}
        return self._xml(user, "voice", fields, int(time.time()))

    def card_tap(self, user: str, key: str, task_id: str, create_time: int | None = None) -> str:
        fields = {
            "Event": "template_card_event",
            "EventKey": key,
            "TaskId": task_id,
            "CardType": "button_interaction",
            "ResponseCode": f"RC-{task_id}",
        }
        return self._xml(user, "event", fields, create_time or int(time.time()))

    def event(self, user: str, event: str) -> str:
        return self._xml(user, "event", {"Event": event, "EventKey": ""}, int(time.time()))

    # ---- encryption and posting ------------------------------------------------------------

    def seal(self, plain_xml: str, timestamp: int | None = None) -> tuple[dict[str, str], str]:
        """The query string and body WeCom would post for ``plain_xml`` (signed now, or at
        ``timestamp``)."""
        nonce = f"nonce{next(self._nonces)}"
        sealed = ET.fromstring(self.crypto.encrypt_message(plain_xml, nonce, timestamp))
        params = {
            "msg_signature": sealed.findtext("MsgSignature", ""),
            "timestamp": sealed.findtext("TimeStamp", ""),
            "nonce": sealed.findtext("Nonce", ""),
        }
        body = (
            f"<xml><ToUserName><![CDATA[{self.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed.findtext('Encrypt')}]]></Encrypt>"
            f"<AgentID><![CDATA[{self.agent_id}]]></AgentID></xml>"
        )
        return params, body

    def verification(self, echo: str, timestamp: int | None = None) -> dict[str, str]:
        """The GET query WeCom uses to check the callback URL, for the plaintext ``echo``."""
        params, body = self.seal(echo, timestamp)
        params["echostr"] = ET.fromstring(body).findtext("Encrypt", "")
        return params

    async def post(
        self, http: aiohttp.ClientSession, params: dict[str, str], body: str | bytes
    ) -> tuple[int, str]:
        async with http.post(self.url, params=params, data=body) as resp:
            return resp.status, await resp.text()

    async def deliver_at(
        self, http: aiohttp.ClientSession, plain_xml: str, timestamp: int
    ) -> tuple[int, str]:
        params, body = self.seal(plain_xml, timestamp)
        return await self.post(http, params, body)

    async def deliver(self, http: aiohttp.ClientSession, plain_xml: str) -> tuple[int, str]:
        params, body = self.seal(plain_xml)
        return await self.post(http, params, body)
