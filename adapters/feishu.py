"""Feishu / Lark through lark-oapi: events by webhook or long connection, Open API sends.

Webhook (``FEISHU_MODE=webhook``): ``POST /feishu/events``. We check the body
ourselves (JSON -> 400; decryption with the SDK's AESCipher, the X-Lark-Signature and
the verification token -> 401/403), because the SDK answers every failure with a 500
and logs a traceback. Then, in a worker thread, the verified event is read into the
SDK's typed model (P2ImMessageReceiveV1, P2CardActionTrigger) and turned into an
:class:`Incoming` (an event of the wrong shape -> 400); the handler then ``await
self.submit(...)`` on the loop and answers (the challenge, ``{}`` for a card tap).
Long connection (``FEISHU_MODE=ws``): ``lark.ws.Client`` runs in its own thread with
its own loop; lark-oapi's EventDispatcherHandler calls our processors there, which
pass events to the bot's loop.

Every SDK call blocks (requests), so it runs in ``asyncio.to_thread``. Tenant tokens
live in the bot's SharedCache through :class:`SharedTokenCache` (lark's ICache).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import Future
from datetime import timedelta
from pathlib import Path
from typing import Any

import lark_oapi as lark
import lark_oapi.api.im.v1 as im
import lark_oapi.ws.client as lark_ws_client
from aiohttp import web
from lark_oapi.core.exception import ObtainAccessTokenException
from lark_oapi.event.callback.model.p2_card_action_trigger import (
    P2CardActionTrigger,
    P2CardActionTriggerResponse,
)

from adapters import feishu_payloads as payloads
from adapters.base import BaseAdapter, Route
from adapters.ratelimit import RateLimiter, Window
from bot.core.cache import SharedCache
from bot.core.clock import Clock
from bot.core.edge import storable
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    ChatAddress,
    DeliveryError,
    Incoming,
    Outgoing,
    OutgoingFile,
)
from bot.core.settings import Settings

log = logging.getLogger(__name__)

PATH = "/feishu/events"
DEDUP_WINDOW = timedelta(hours=1)  # Feishu keeps a message uuid for one hour
UPLOAD_TTL = timedelta(days=7)
WS_HANDOVER_SECONDS = 2.0  # Feishu wants a long-connection answer within 3 s
# The events read from a webhook, each with the SDK model it is read into.
MODELS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "im.message.receive_v1": im.P2ImMessageReceiveV1,
    "card.action.trigger": P2CardActionTrigger,
}


class SharedTokenCache(lark.ICache):
    """lark-oapi's token cache kept in the bot's SharedCache, so processes share one token.

    The SDK reads it synchronously on the worker thread of a call; the value is
    fetched on the bot's loop. Off that path (on the loop itself, loop gone, database
    error) it falls back to this process's copy; the SDK then at worst fetches a token.
    """

    PREFIX = "feishu:sdk:"

    def __init__(self, shared: SharedCache) -> None:
        self.shared = shared
        self.loop: asyncio.AbstractEventLoop | None = None
        self._local: dict[str, tuple[str, float]] = {}

    def get(self, key: str) -> str | None:
        value, expire = self._local.get(key, ("", 0.0))
        if expire <= time.time():
            raw = self._on_loop(lambda: self.shared.get(self.PREFIX + key))
            if not raw:
                return None
            value, expire = json.loads(raw)
            self._local[key] = (value, expire)
        return value if expire > time.time() else None

    def set(self, key: str, value: str, expire: int) -> None:
        self._local[key] = (value, float(expire))
        ttl = expire - time.time()
        if ttl > 0:
            raw = json.dumps([value, expire])
            self._on_loop(lambda: self.shared.set(self.PREFIX + key, raw, timedelta(seconds=ttl)))

    async def forget(self, key: str) -> None:
        """Drop a token Feishu refused (call on the loop)."""
        self._local.pop(key, None)
        await self.shared.delete(self.PREFIX + key)

    def _on_loop(self, make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
        loop = self.loop
        with contextlib.suppress(RuntimeError):
            if asyncio.get_running_loop() is loop:
                return None  # blocking here would deadlock the loop
        if loop is None or loop.is_closed():
            return None
        future = asyncio.run_coroutine_threadsafe(make(), loop)
        try:
            return future.result(timeout=5)
        except Exception:
            future.cancel()
            log.warning("shared token cache unavailable; using this process's copy", exc_info=True)
            return None


class FeishuAdapter(BaseAdapter):
    platform = payloads.PLATFORM

    def __init__(self, *, settings: Settings, cache: SharedCache, clock: Clock) -> None:
        super().__init__()
        if not settings.feishu_app_id or not settings.feishu_app_secret:
            raise ValueError("FEISHU_APP_ID and FEISHU_APP_SECRET are required")
        self.settings = settings
        self.cache = cache
        self.clock = clock
        self.app_id = settings.feishu_app_id
        self.app_secret = settings.feishu_app_secret
        self.domain = payloads.resolve_domain(settings.feishu_domain)
        self.mode = settings.feishu_mode
        self.encrypt_key = settings.feishu_encrypt_key or ""
        self.verification_token = settings.feishu_verification_token or ""
        self.limiter = RateLimiter(per_key=Window(5, 1.0), overall=Window(50, 1.0))
        self.tokens = SharedTokenCache(cache)
        # Client.build() installs the cache as the SDK's (process-wide) token cache.
        self.client = (
            lark.Client.builder()
            .app_id(self.app_id)
            .app_secret(self.app_secret)
            .domain(self.domain)
            .timeout(10)
            .cache(self.tokens)
            .log_level(lark.LogLevel.WARNING)
            .build()
        )
        self.handler = (
            lark.EventDispatcherHandler.builder(self.encrypt_key, self.verification_token)
            .register_p2_im_message_receive_v1(self._on_message)
            .register_p2_card_action_trigger(self._on_card)
            .build()
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ws_thread: threading.Thread | None = None
        self._ws_loop: asyncio.AbstractEventLoop | None = None
        self._ws_stop = threading.Event()

    # ---- lifecycle --------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return [Route("POST", PATH, self.webhook)] if self.mode == "webhook" else []

    def _bind_loop(self) -> None:
        self._loop = self.tokens.loop = asyncio.get_running_loop()

    async def start(self) -> None:
        self._bind_loop()
        if self.mode == "ws":
            self._ws_stop.clear()
            self._ws_thread = threading.Thread(target=self._run_ws, name="feishu-ws", daemon=True)
            self._ws_thread.start()
        elif not (self.encrypt_key or self.verification_token):
            log.error("Feishu webhook refuses every event: set FEISHU_ENCRYPT_KEY or the token")

    async def stop(self) -> None:
        thread, self._ws_thread = self._ws_thread, None
        if thread is None:
            return
        self._ws_stop.set()
        deadline = time.monotonic() + 5
        # start() nests several run_until_complete calls: stop each until the thread ends.
        while thread.is_alive() and time.monotonic() < deadline:
            loop = self._ws_loop
            if loop is not None:
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(loop.stop)
            await asyncio.sleep(0.02)
        if thread.is_alive():
            log.warning("the Feishu long-connection thread did not stop within 5 s")

    def _run_ws(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._ws_loop = loop
        # The SDK drives a module-level loop chosen at import, which is the bot's own
        # loop when imported from it: give it this thread's loop instead.
        lark_ws_client.loop = loop
        client: Any = None
        try:
            if not self._ws_stop.is_set():
                client = lark.ws.Client(
                    self.app_id,
                    self.app_secret,
                    event_handler=self.handler,
                    domain=self.domain,
                    log_level=lark.LogLevel.WARNING,
                )
                client.start()
        except Exception:  # loop.stop() ends start() with a RuntimeError
            if not self._ws_stop.is_set():
                log.exception("the Feishu long connection ended")
        finally:
            self._close_ws_loop(loop, getattr(client, "_conn", None))

    @staticmethod
    def _close_ws_loop(loop: asyncio.AbstractEventLoop, conn: Any) -> None:
        for _ in range(5):  # a stop() still in flight may interrupt a round
            try:
                if conn is not None:
                    loop.run_until_complete(conn.close())
                    conn = None
                tasks = asyncio.all_tasks(loop)
                for task in tasks:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
                break
            except Exception:
                continue
        loop.close()

    # ---- inbound ----------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        """POST /feishu/events: verify, read with the SDK's models, store, answer."""
        body = await request.read()
        headers = {name: request.headers.get(name, "") for name in payloads.SIGNATURE_HEADERS}
        try:
            answer, incoming = await asyncio.to_thread(self._handle_webhook, body, headers)
        except payloads.Refused as refused:
            log.warning("Feishu event refused (%s): %s", refused.status, refused.reason)
            return web.json_response({"msg": refused.reason}, status=refused.status)
        if incoming is not None:
            await self.submit(incoming)
        return web.Response(body=answer, content_type="application/json")

    def _handle_webhook(
        self, body: bytes, headers: dict[str, str]
    ) -> tuple[bytes, Incoming | None]:
        event_type, event = payloads.open_webhook(
            body,
            headers,
            encrypt_key=self.encrypt_key,
            verification_token=self.verification_token,
            decrypt=lark.AESCipher(self.encrypt_key).decrypt_str if self.encrypt_key else None,
        )
        if event_type == "url_verification":
            return payloads.challenge_answer(event), None
        model = MODELS.get(event_type)
        if model is None:
            # Verified but not one we subscribe to: acknowledge it, or Feishu redelivers.
            log.info("Feishu %s event ignored", event_type)
            return b'{"msg":"ignored"}', None
        now = self.clock.now()
        try:  # the SDK's model reads any JSON object, but fields may have any type
            data = model(event)
            if event_type == "card.action.trigger":
                answer, incoming = b"{}", payloads.from_card_event(data, now)
            else:
                answer, incoming = b'{"msg":"success"}', payloads.from_message_event(data, now)
        except Exception as exc:  # verified, but not an event of that type: no retry
            log.warning("Feishu %s event unreadable: %s", event_type, type(exc).__name__)
            raise payloads.Refused(400, "unreadable event") from None
        if incoming is not None and not storable(incoming):
            raise payloads.Refused(400, "ids too long")
        return answer, incoming

    def _on_message(self, data: im.P2ImMessageReceiveV1) -> None:
        incoming = payloads.from_message_event(data, self.clock.now())
        if incoming is not None:
            self._accept(incoming)

    def _on_card(self, data: P2CardActionTrigger) -> P2CardActionTriggerResponse:
        incoming = payloads.from_card_event(data, self.clock.now())
        if incoming is not None:
            self._accept(incoming)
        return P2CardActionTriggerResponse()  # "{}": no toast, the card stays as it is

    def _accept(self, incoming: Incoming) -> None:
        # Long connection (SDK thread): handle it on the bot's loop. The SDK acknowledges
        # when we return, so wait a little: a handled event is acknowledged, a slow one
        # keeps going and a redelivery of it is a no-op.
        loop = self._loop
        if loop is None or loop.is_closed():
            log.warning("Feishu event %s dropped: the bot is not running", incoming.event_id)
            return
        future: Future[None] = asyncio.run_coroutine_threadsafe(self.dispatch(incoming), loop)
        future.add_done_callback(self._log_failure)
        with contextlib.suppress(Exception):
            future.result(timeout=WS_HANDOVER_SECONDS)

    @staticmethod
    def _log_failure(future: Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.error("handling a Feishu event failed", exc_info=future.exception())

    # ---- outbound ---------------------------------------------------------------------

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        if to.platform != self.platform:
            raise DeliveryError(f"feishu cannot send to {to.platform}", permanent=True)
        if to.chat_id in ("", to.user_id):
            id_type, receive_id = "open_id", to.user_id
        else:
            id_type, receive_id = "chat_id", to.chat_id
        blobs = [await self._read(file) for file in message.files]
        # Idempotency: a uuid derived from recipient + content + how many times this very
        # message was already delivered there within Feishu's one-hour uuid window, so a
        # retry (courier backoff, lease expiry after a crash) reuses the uuid of the send
        # that may have gone through, while a deliberate repeat gets a fresh one.
        # With the courier's key (one per outbox row) the uuid is exact; without it
        # (direct sends) fall back to the content fingerprint and a counter.
        fingerprint = {**message.to_json(), "names": [f.name for f in message.files]}
        if message.key is not None:
            fingerprint = {"key": message.key}
        digest = payloads.message_digest(id_type, receive_id, fingerprint, blobs)
        counter = f"feishu:sent:{digest[:48]}"
        sequence = 0 if message.key is not None else int(await self.cache.get(counter) or 0)
        target = (id_type, receive_id, digest, sequence)
        if message.buttons:
            card = payloads.render_card(message.text, message.buttons, message.links)
            await self._create(target, 0, "interactive", card)
        elif message.text.strip() or message.links:
            await self._create(target, 0, *payloads.render_text(message.text, message.links))
        for part, (file, blob) in enumerate(zip(message.files, blobs, strict=True), start=1):
            await self._create(target, part, *await self._upload(file, blob))
        if message.key is None:
            await self.cache.set(counter, str(sequence + 1), DEDUP_WINDOW)

    async def _create(
        self, target: tuple[str, str, str, int], part: int, msg_type: str, content: str
    ) -> None:
        id_type, receive_id, digest, sequence = target
        body = (
            im.CreateMessageRequestBody.builder()
            .receive_id(receive_id)
            .msg_type(msg_type)
            .content(content)
            .uuid(payloads.message_uuid(digest, sequence, part))
            .build()
        )
        request = (
            im.CreateMessageRequest.builder().receive_id_type(id_type).request_body(body).build()
        )
        await self.limiter.acquire(receive_id)
        await self._call("send", self.client.im.v1.message.create, request)

    async def _read(self, file: OutgoingFile) -> bytes:
        if file.data is not None:
            return file.data
        if file.path is None:
            raise DeliveryError(f"file {file.name} has neither data nor path", permanent=True)
        path = Path(file.path)
        if not path.is_absolute():
            path = self.settings.data_dir / path
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            raise DeliveryError(f"cannot read {path}: {exc.strerror}", permanent=True) from exc

    async def _upload(self, file: OutgoingFile, blob: bytes) -> tuple[str, str]:
        """Upload once per content (keys are reusable); the message type and content."""
        photo = file.kind is AttachmentKind.PHOTO
        kind = "image" if photo else "file"
        cache_key = f"feishu:upload:{kind}:{hashlib.sha256(blob).hexdigest()}"
        key = await self.cache.get(cache_key)
        stream = io.BytesIO(blob)
        if key is None and photo:
            body = im.CreateImageRequestBody.builder().image_type("message").image(stream).build()
            request = im.CreateImageRequest.builder().request_body(body).build()
            response = await self._call("upload image", self.client.im.v1.image.create, request)
            key = response.data.image_key
        elif key is None:
            body = (
                im.CreateFileRequestBody.builder()
                .file_type(payloads.file_type(file.name))
                .file_name(file.name)
                .file(stream)
                .build()
            )
            request = im.CreateFileRequest.builder().request_body(body).build()
            response = await self._call("upload file", self.client.im.v1.file.create, request)
            key = response.data.file_key
        if not key:
            raise DeliveryError(f"feishu upload of {file.name} returned no key")
        await self.cache.set(cache_key, key, UPLOAD_TTL)
        return kind, json.dumps({f"{kind}_key": key})

    async def download(self, attachment: Attachment) -> bytes:
        message_id, file_key, resource_type = payloads.split_file_id(attachment.file_id)
        request = (
            im.GetMessageResourceRequest.builder()
            .message_id(message_id)
            .file_key(file_key)
            .type(resource_type)
            .build()
        )
        response = await self._call("download", self.client.im.v1.message_resource.get, request)
        return bytes(response.file.read()) if response.file is not None else b""

    async def _call(self, action: str, method: Callable[[Any], Any], request: Any) -> Any:
        """Run one blocking SDK call in a thread; DeliveryError unless it succeeded."""
        self._bind_loop()
        try:
            response = await asyncio.to_thread(method, request)
        except ObtainAccessTokenException as exc:
            raise payloads.delivery_error(f"{action} (token)", None, exc.code, exc.msg, {}) from exc
        except Exception as exc:  # network errors, a non-JSON answer (proxy error page) ...
            raise DeliveryError(f"feishu {action} failed: {type(exc).__name__}: {exc}") from exc
        if response.success():
            return response
        raw = response.raw
        if response.code in payloads.TOKEN_INVALID:
            await self.tokens.forget(f"self_tenant_token:{self.app_id}")
        status = raw.status_code if raw is not None else None
        headers = raw.headers if raw is not None else {}
        raise payloads.delivery_error(action, status, response.code, response.msg, headers)
