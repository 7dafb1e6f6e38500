"""WeCom (企业微信) self-built application: encrypted callbacks in, application messages out.

Access tokens: wechatpy is synchronous and would fetch a token on its own, per
process, whenever its in-memory copy is missing. Here the async layer owns the
token: it is read from this process's memory, else from the shared database
cache (so other processes reuse it), else fetched once (under a lock) and stored
there until shortly before it expires. Each SDK call then runs in a worker
thread with the token in a context variable (``asyncio.to_thread`` copies the
caller's context), and the client's ``access_token`` property reads only that
variable, so the SDK never fetches by itself and concurrent calls never race on
shared state. WeCom answers gettoken with the same token while it is valid, so
two processes fetching at once is harmless. On 40014/42001 the token is dropped
everywhere and the call retried once with a fresh one.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import requests
import requests.adapters
from aiohttp import web
from wechatpy.enterprise import WeChatClient, WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException, WeChatClientException

from adapters.base import BaseAdapter, Route
from adapters.ratelimit import RateLimiter, Window
from adapters.wecom_payloads import (
    PLATFORM,
    TOKEN_ERRORS,
    Part,
    PayloadError,
    delivery_error,
    parse_fields,
    render,
    to_incoming,
)
from bot.core.cache import SharedCache
from bot.core.clock import Clock
from bot.core.edge import fresh
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    ChatAddress,
    DeliveryError,
    Incoming,
    Outgoing,
    OutgoingFile,
)
from bot.core.settings import Settings, SettingsError

log = logging.getLogger(__name__)
# WeCom retries an unanswered callback three times within seconds; older is a replay.
TIMESTAMP_WINDOW = 300.0

T = TypeVar("T")

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com/cgi-bin/"
CALLBACK_PATH = "/wecom/callback"
HTTP_TIMEOUT = 15.0
TOKEN_MARGIN = timedelta(minutes=5)  # refresh this long before WeCom says it expires
PROGRESS_TTL = timedelta(hours=6)
# WeCom's limits for one app sending to one member: 30 a minute and 1,000 an hour.
PER_MEMBER = (Window(30, 60.0), Window(1000, 3600.0))
CHOSEN = "✓"  # what a tapped card's buttons turn into (language-neutral)

_token_var: ContextVar[str | None] = ContextVar("wecom_access_token", default=None)


def _with_token(token: str, call: Callable[[], T]) -> T:
    """Run ``call`` (in a worker thread) with ``token`` visible to the client."""
    _token_var.set(token)
    return call()


class WeComClient(WeChatClient):
    """wechatpy's enterprise client on a configurable base URL that never fetches tokens itself."""

    def __init__(self, corp_id: str, secret: str, base_url: str, timeout: float) -> None:
        super().__init__(corp_id, secret, timeout=timeout, auto_retry=False)
        self.API_BASE_URL = base_url  # wechatpy joins it with every endpoint

    def fetch_access_token(self) -> dict[str, Any]:
        """Get a token from gettoken on our base URL (wechatpy hard-codes qyapi.weixin.qq.com)."""
        res = self._http.get(
            f"{self.API_BASE_URL}gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        res.raise_for_status()
        result = self._handle_result(res)  # raises WeChatClientException on an errcode
        if not isinstance(result, dict) or not result.get("access_token"):
            raise WeChatClientException(None, "gettoken answered without an access_token")
        return result

    @property
    def access_token(self) -> str:
        """The token the async layer handed to this call."""
        token = _token_var.get()
        if token is None:
            # AttributeError, because wechatpy's __new__ probes every attribute with getmembers.
            raise AttributeError("WeCom SDK call made outside WeComAdapter._api")
        return token

    def get_media(self, media_id: str) -> bytes:
        """Download a temporary media file (wechatpy's ``media.download`` ignores the base URL)."""
        res = self._http.get(
            f"{self.API_BASE_URL}media/get",
            params={"access_token": self.access_token, "media_id": media_id},
            timeout=self.timeout,
        )
        res.raise_for_status()
        if "content-disposition" not in {k.lower() for k in res.headers}:
            # Errors come back as JSON without a file name.
            result = self._decode_result(res)
            if isinstance(result, dict) and result.get("errcode"):
                raise WeChatClientException(int(result["errcode"]), result.get("errmsg"))
        return bytes(res.content)


class WeComAdapter(BaseAdapter):
    """A WeCom self-built app: callbacks at ``/wecom/callback``, sends via message/send."""

    platform = PLATFORM

    def __init__(
        self,
        *,
        settings: Settings,
        cache: SharedCache,
        clock: Clock,
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__()
        required = {
            "WECOM_CORP_ID": settings.wecom_corp_id,
            "WECOM_AGENT_ID": settings.wecom_agent_id,
            "WECOM_SECRET": settings.wecom_secret,
            "WECOM_TOKEN": settings.wecom_token,
            "WECOM_AES_KEY": settings.wecom_aes_key,
        }
        for name, value in required.items():
            if not value:
                raise SettingsError(f"setting {name}: required for WeCom")
        corp_id, secret = str(settings.wecom_corp_id), str(settings.wecom_secret)
        if not str(settings.wecom_agent_id).isdigit():
            raise SettingsError("setting WECOM_AGENT_ID: must be the app's numeric AgentId")
        self.agent_id = int(str(settings.wecom_agent_id))
        try:
            self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, corp_id)
        except Exception as exc:
            raise SettingsError(
                "setting WECOM_AES_KEY: must be the 43-character EncodingAESKey"
            ) from exc
        base_url = (settings.wecom_api_base_url or DEFAULT_BASE_URL).rstrip("/") + "/"
        self.client = WeComClient(corp_id, secret, base_url, HTTP_TIMEOUT)
        self.settings = settings
        self.cache = cache
        self.clock = clock
        # WeCom drops app messages beyond 30 per minute to one member.
        self.limiter = limiter or RateLimiter(per_key=PER_MEMBER)
        # wechatpy is synchronous: each API call takes a thread for its round trip.
        threads = settings.send_concurrency + 4
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="wecom-api")
        for scheme in ("http://", "https://"):  # and a connection each, kept for reuse
            self.client._http.mount(scheme, requests.adapters.HTTPAdapter(pool_maxsize=threads))
        app = hashlib.sha256(f"{corp_id}:{secret}".encode()).hexdigest()[:16]
        self._token_key = f"wecom:token:{app}"
        self._token: tuple[str, datetime] | None = None
        self._token_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()

    # ---- lifecycle ---------------------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", CALLBACK_PATH, self.verify_url),
            Route("POST", CALLBACK_PATH, self.callback),
        )

    async def start(self) -> None:
        return None  # callbacks arrive on the shared web server

    async def stop(self) -> None:
        if self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.client._http.close()

    async def drain(self) -> None:
        """Wait for card updates started by button taps (tests, shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # ---- access token --------------------------------------------------------------------

    async def _access_token(self) -> str:
        if self._token is not None and self._token[1] > self.clock.now():
            return self._token[0]
        async with self._token_lock:
            now = self.clock.now()
            if self._token is not None and self._token[1] > now:
                return self._token[0]
            cached = await self.cache.get(self._token_key)
            if cached is not None:
                data = json.loads(cached)
                self._token = (data["token"], datetime.fromisoformat(data["expires_at"]))
                return self._token[0]
            try:
                result = await asyncio.to_thread(self.client.fetch_access_token)
            except (WeChatClientException, requests.RequestException) as exc:
                error = delivery_error(exc)
                # A bad secret fails every message alike: retry later, never drop.
                raise DeliveryError(
                    f"cannot get a WeCom access token ({error.reason})",
                    retry_after=error.retry_after,
                ) from exc
            lifetime = timedelta(seconds=int(result.get("expires_in", 7200))) - TOKEN_MARGIN
            lifetime = max(lifetime, timedelta(seconds=60))
            token = str(result["access_token"])
            expires_at = now + lifetime
            await self.cache.set(
                self._token_key,
                json.dumps({"token": token, "expires_at": expires_at.isoformat()}),
                lifetime,
            )
            self._token = (token, expires_at)
            return token

    async def _drop_token(self, token: str) -> None:
        """Forget a token WeCom refused, here and in the shared cache (unless already replaced)."""
        async with self._token_lock:
            if self._token is not None and self._token[0] == token:
                self._token = None
            cached = await self.cache.get(self._token_key)
            if cached is not None and json.loads(cached).get("token") == token:
                await self.cache.delete(self._token_key)

    async def _in_thread(self, token: str, call: Callable[[], T]) -> T:
        """``call`` in one of the adapter's own threads (as many as the courier's sends in
        flight, not the few of the default executor), with the caller's context."""
        context = contextvars.copy_context()
        job = functools.partial(context.run, _with_token, token, call)
        return await asyncio.get_running_loop().run_in_executor(self._pool, job)

    async def _api(self, call: Callable[[], T]) -> T:
        """Run one SDK call in a thread with a valid token; retry once on an expired token."""
        token = await self._access_token()
        try:
            return await self._in_thread(token, call)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                raise
            log.info("WeCom refused the access token (%s); fetching a new one", exc.errcode)
            await self._drop_token(token)
        token = await self._access_token()
        return await self._in_thread(token, call)

    # ---- callbacks -----------------------------------------------------------------------

    async def verify_url(self, request: web.Request) -> web.Response:
        """WeCom's URL check: answer the decrypted echostr when the signature is right."""
        query = request.query
        args = [query.get(k, "") for k in ("msg_signature", "timestamp", "nonce", "echostr")]
        if not all(args):
            return web.Response(status=400, text="missing parameters")
        if not self._fresh(args[1]):
            return web.Response(status=403, text="stale timestamp")
        try:
            echo = await asyncio.to_thread(self.crypto.check_signature, *args)
        except InvalidSignatureException:
            log.warning("WeCom URL verification with a bad signature refused")
            return web.Response(status=403, text="bad signature")
        except Exception:
            return web.Response(status=400, text="bad echostr")
        return web.Response(text=str(echo))

    async def callback(self, request: web.Request) -> web.Response:
        """An encrypted message or event: verify, decrypt, store, answer at once."""
        query = request.query
        signature, timestamp, nonce = (
            query.get(k, "") for k in ("msg_signature", "timestamp", "nonce")
        )
        if not (signature and timestamp and nonce):
            return web.Response(status=400, text="missing parameters")
        if not self._fresh(timestamp):
            return web.Response(status=403, text="stale timestamp")
        body = await request.read()  # over 1 MiB: aiohttp raises 413
        try:
            encrypted = parse_fields(body).get("Encrypt", "")
        except PayloadError:
            return web.Response(status=400, text="malformed XML")
        if not encrypted:
            return web.Response(status=400, text="no Encrypt element")
        try:
            plain_xml = await asyncio.to_thread(
                self.crypto.decrypt_message, {"Encrypt": encrypted}, signature, timestamp, nonce
            )
        except InvalidSignatureException:
            log.warning("WeCom callback with a bad signature refused")
            return web.Response(status=403, text="bad signature")
        except Exception:  # bad base64/padding or another corp's message
            return web.Response(status=400, text="cannot decrypt")
        try:
            incoming = await asyncio.to_thread(to_incoming, plain_xml, self.clock.now())
        except PayloadError as exc:
            log.warning("WeCom callback refused: %s", exc)
            return web.Response(status=400, text="malformed message")
        if incoming is not None and await self.submit(incoming):
            self._close_card(incoming)
        return web.Response(text="")  # WeCom wants an answer within 5 s; an empty one is fine

    def _fresh(self, timestamp: str) -> bool:
        """A signed request from within :data:`TIMESTAMP_WINDOW` (WeCom retries within
        seconds; an older one is a replay)."""
        # Wall-clock time, not the product's clock: this is about the network.
        if fresh(timestamp, window=TIMESTAMP_WINDOW):
            return True
        log.warning("WeCom request with a stale or malformed timestamp refused")
        return False

    def _close_card(self, incoming: Incoming) -> None:
        """After a tap, grey out the card's buttons so it cannot be tapped twice."""
        code = incoming.extras.get("response_code")
        if incoming.payload is None or not code:
            return
        body = {
            "userids": [incoming.sender.user_id],
            "agentid": self.agent_id,
            "response_code": code,
            "button": {"replace_name": CHOSEN},
        }

        async def update() -> None:
            try:
                await self._api(lambda: self.client.post("message/update_template_card", data=body))
            except Exception as exc:  # cosmetic only: the tap itself is already stored
                log.info("could not update a WeCom card: %s", exc)

        task = asyncio.create_task(update())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # ---- sending -------------------------------------------------------------------------

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        if to.platform != PLATFORM:
            raise DeliveryError(f"wecom cannot send to {to.platform}", permanent=True)
        parts = render(to.user_id, message)
        # A retry after a partial failure must not repeat the parts already delivered.
        progress_key = self._progress_key(to, message) if len(parts) > 1 else None
        done = 0
        if progress_key is not None:
            done = int(await self.cache.get(progress_key) or 0)
        for index, part in enumerate(parts):
            if index < done:
                continue
            try:
                await self._send_part(to.user_id, part)
            except DeliveryError as error:
                if progress_key is not None and index > done and not error.permanent:
                    await self.cache.set(progress_key, str(index), PROGRESS_TTL)
                raise
        if progress_key is not None and done:
            await self.cache.delete(progress_key)

    @staticmethod
    def _progress_key(to: ChatAddress, message: Outgoing) -> str:
        files = [(f.kind.value, f.name, f.path, len(f.data or b"")) for f in message.files]
        seed = json.dumps([to.user_id, message.to_json(), files], sort_keys=True, default=str)
        return "wecom:progress:" + hashlib.sha256(seed.encode()).hexdigest()

    async def _send_part(self, user_id: str, part: Part) -> None:
        await self.limiter.acquire(user_id)
        try:
            msg = part.msg if part.file is None else await self._upload(part.file)
            result = await self._api(
                lambda: self.client.message.send(self.agent_id, user_id, msg=msg)
            )
        except (WeChatClientException, requests.RequestException) as exc:
            raise delivery_error(exc) from exc
        invalid = str(result.get("invaliduser") or "") if isinstance(result, dict) else ""
        if user_id.lower() in invalid.lower().split("|"):
            raise DeliveryError(
                f"wecom: {user_id} is not in the app's visible range", unreachable=True
            )

    async def _upload(self, file: OutgoingFile) -> dict[str, Any]:
        """Upload a file as temporary media; the image or file message that shows it."""
        if file.data is not None:
            data = file.data
        elif file.path is not None:
            path = Path(file.path)
            if not path.is_absolute():
                path = self.settings.data_dir / path
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                raise DeliveryError(f"cannot read {path}: {exc.strerror}", permanent=True) from exc
        else:
            raise DeliveryError(f"file {file.name} has neither path nor data", permanent=True)
        media_type = "image" if file.kind is AttachmentKind.PHOTO else "file"
        uploaded = await self._api(lambda: self.client.media.upload(media_type, (file.name, data)))
        return {"msgtype": media_type, media_type: {"media_id": uploaded["media_id"]}}

    async def download(self, attachment: Attachment) -> bytes:
        try:
            return await self._api(lambda: self.client.get_media(attachment.file_id))
        except (WeChatClientException, requests.RequestException) as exc:
            raise delivery_error(exc) from exc
