"""Telegram through python-telegram-bot's ``Bot``, against any Bot API server.

Receives by long polling (``getUpdates``) or, when ``TELEGRAM_WEBHOOK_URL`` is
set, on ``POST /telegram/webhook`` guarded by the ``secret_token`` registered
with ``setWebhook``. Sends within Telegram's limits (1 message a second per
chat, 30 a second overall) and never drops a message because of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import weakref
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from telegram import Bot, BotCommand, BotCommandScopeChat, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)

from adapters import telegram_payloads as tp
from adapters.base import BaseAdapter, Route
from adapters.ratelimit import RateLimiter, Window
from bot.core import metrics
from bot.core.cache import SharedCache
from bot.core.clock import Clock
from bot.core.edge import load_json, storable
from bot.core.messages import (
    Attachment,
    AttachmentKind,
    ChatAddress,
    DeliveryError,
    Outgoing,
    OutgoingFile,
)
from bot.core.settings import Settings
from bot.core.text import same

log = logging.getLogger(__name__)

PLATFORM = tp.PLATFORM
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
_SECRET_CHARS = re.compile(r"^[A-Za-z0-9_-]{1,256}$")

# Telegram: about 30 messages a second overall and 1 a second in one chat. The
# margin on the per-chat window absorbs network jitter between us and Telegram.
PER_CHAT = Window(1, 1.05)
# 30 in any 1.04 s, and no two closer than 30 ms: sends spread over the second, so that
# jitter on the way cannot make 31 arrive inside one of Telegram's seconds.
OVERALL = (Window(30, 1.04), Window(1, 0.03))
MAX_INLINE_WAIT = 10.0  # a longer 429 goes back to the courier, which reschedules the row
INLINE_ATTEMPTS = 3
STOP_GRACE = 10.0


class TelegramAdapter(BaseAdapter):
    platform = PLATFORM

    def __init__(
        self,
        *,
        settings: Settings,
        cache: SharedCache,
        clock: Clock,
        limiter: RateLimiter | None = None,
        poll_timeout: int = 25,
    ) -> None:
        super().__init__()
        if not settings.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        self.settings = settings
        self.cache = cache
        self.clock = clock
        self.token = settings.telegram_bot_token
        api_base = settings.telegram_api_base_url or DEFAULT_API_BASE_URL
        self.bot = Bot(
            self.token,
            base_url=api_base,
            base_file_url=settings.telegram_file_base_url or tp.file_base_url(api_base),
        )
        self.limiter = limiter or RateLimiter(per_key=PER_CHAT, overall=OVERALL)
        self.poll_timeout = poll_timeout
        # Without a configured secret one is derived from the token, so every
        # process of the bot agrees on it and it is never empty.
        self.secret = (
            settings.telegram_webhook_secret
            or hashlib.sha256(b"preboard-telegram-webhook:" + self.token.encode()).hexdigest()
        )
        self._chat_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )
        self._hold_until = 0.0  # monotonic time before which nothing is sent (after a 429)
        self._stopping = asyncio.Event()
        self._poller: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._answered: OrderedDict[str, None] = OrderedDict()
        self.offset: int | None = None

    @property
    def webhook_mode(self) -> bool:
        return bool(self.settings.telegram_webhook_url)

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        from bot.core.errors import StartupError  # the core's one-line start-up failure

        if not _SECRET_CHARS.match(self.secret):
            raise StartupError("setting TELEGRAM_WEBHOOK_SECRET: use 1-256 of A-Z a-z 0-9 _ -")
        try:
            await self.bot.initialize()  # getMe: checks the token and the server
        except InvalidToken:
            raise StartupError("Telegram rejected TELEGRAM_BOT_TOKEN") from None
        except TelegramError as exc:
            raise StartupError(
                f"cannot reach the Telegram Bot API at {self.bot.base_url.replace(self.token, '…')}"
                f" (TELEGRAM_API_BASE_URL): {self._redact(exc)}"
            ) from None
        await self._register_commands()
        self._stopping.clear()
        if self.webhook_mode:
            url = self.settings.telegram_webhook_url
            try:
                await self.bot.set_webhook(
                    url=str(url), secret_token=self.secret, allowed_updates=list(ALLOWED_UPDATES)
                )
            except TelegramError as exc:
                raise StartupError(
                    f"setWebhook for {url} failed (TELEGRAM_WEBHOOK_URL): {self._redact(exc)}"
                ) from None
            log.info("telegram webhook set to %s", url)
        else:
            # getUpdates is refused while a webhook is set; pending updates are kept.
            with contextlib.suppress(TelegramError):
                await self.bot.delete_webhook(drop_pending_updates=False)
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")

    async def stop_receiving(self) -> None:
        """Stop taking updates (a shutdown): the poller ends after its current batch."""
        self._stopping.set()
        if self._poller is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._poller), STOP_GRACE)

    async def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            try:
                # The long poll itself stops at once; a batch being handled may finish.
                await asyncio.wait_for(asyncio.shield(self._poller), STOP_GRACE)
            except TimeoutError:
                self._poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._poller
            self._poller = None
        if self._background:
            await asyncio.wait(set(self._background), timeout=2)
        await self.bot.shutdown()

    async def _register_commands(self) -> None:
        """Menus: newcomers' and candidates' commands for everyone, staff's in their chats."""
        for menu in await self.inbound.command_menus(self.platform):
            commands = [
                BotCommand(name, text[:256])
                for name, text in menu.commands
                if tp.valid_command(name)
            ]
            try:
                if menu.chat_id is None:
                    await self.bot.set_my_commands(commands, language_code=menu.language)
                else:  # a staff member's own menu, in their chat
                    await self.bot.set_my_commands(
                        commands, scope=BotCommandScopeChat(int(menu.chat_id))
                    )
            except (TelegramError, ValueError) as exc:  # a menu is a nicety; never block start
                log.warning("setMyCommands failed: %s", self._redact(exc))

    # ---- receiving: long polling -----------------------------------------------------

    async def _poll(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                updates = await self._long_poll()
            except Exception as exc:  # network, 409 (another poller), 5xx: back off, go on
                failures += 1
                log.warning("telegram getUpdates failed: %s", self._redact(exc))
                await self._pause(min(30.0, 2.0**failures))
                continue
            if updates is None:
                return
            failures = 0
            if updates and await self._handle_batch(updates):
                self.offset = updates[-1].update_id + 1

    async def _long_poll(self) -> tuple[Update, ...] | None:
        """The next updates, or None once stopping (which interrupts the wait)."""
        call = asyncio.ensure_future(
            self.bot.get_updates(
                offset=self.offset,
                timeout=self.poll_timeout,
                allowed_updates=list(ALLOWED_UPDATES),
            )
        )
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({call, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not call.done():
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, TelegramError):
                await call
            return None
        return call.result()

    async def _handle_batch(self, updates: Sequence[Update]) -> bool:
        """Handle a batch: each person's updates in order, people in parallel.

        True when all were handled, so the offset may move past them; a batch
        cut short by stop() is fetched again next time (redeliveries are no-ops).
        """
        by_user: defaultdict[str, list[Update]] = defaultdict(list)
        for update in updates:
            user = update.effective_user
            by_user[str(user.id) if user else f"u{update.update_id}"].append(update)

        async def run(queue: list[Update]) -> bool:
            for update in queue:
                if not await self._handle_polled(update):
                    return False
            return True

        results = await asyncio.gather(*(run(q) for q in by_user.values()))
        return all(results)

    async def _handle_polled(self, update: Update) -> bool:
        try:
            incoming = tp.parse_update(update, now=self.clock.now())
        except Exception:  # one odd update must not stall the queue behind it
            log.exception("cannot read telegram update %s; skipped", update.update_id)
            return True
        self._answer_later(update)
        if incoming is None:
            return True
        delay = 1.0
        while True:
            try:
                await self.dispatch(incoming)
                return True
            except Exception:  # storage trouble: keep the update and try again
                log.exception("telegram update %s not stored; retrying", update.update_id)
            if await self._pause(delay):
                return False
            delay = min(30.0, delay * 2)

    async def _pause(self, seconds: float) -> bool:
        """Sleep unless stopping; True when stop() interrupted."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    # ---- receiving: webhook ----------------------------------------------------------

    def routes(self) -> Sequence[Route]:
        return (Route("POST", WEBHOOK_PATH, self.webhook),)

    async def webhook(self, request: web.Request) -> web.StreamResponse:
        """Verify the secret header, store the update, answer at once."""
        if not same(request.headers.get(SECRET_HEADER, ""), self.secret):
            log.warning("telegram webhook: missing or wrong secret token")
            return web.json_response({"ok": False, "error": "forbidden"}, status=403)
        body = await request.read()  # over 1 MiB aiohttp raises 413 itself
        try:
            data = load_json(body)
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.bot)
            incoming = tp.parse_update(update, now=self.clock.now())
            if incoming is not None and not storable(incoming):
                raise ValueError("ids too long to store")
        except Exception as exc:
            log.warning("telegram webhook: bad body (%s)", type(exc).__name__)
            return web.json_response({"ok": False, "error": "bad request"}, status=400)
        if incoming is not None:
            await self.submit(incoming)
        self._answer_later(update)
        return web.json_response({"ok": True})

    # ---- callback queries ------------------------------------------------------------

    def _answer_later(self, update: Update) -> None:
        """Answer a button tap so the client stops its spinner (once per tap in this process)."""
        query = update.callback_query
        # A webhook body is JSON of any shape: the id may be a list, which cannot be a key.
        if query is None or not isinstance(query.id, str) or query.id in self._answered:
            return
        self._answered[query.id] = None
        while len(self._answered) > 1000:
            self._answered.popitem(last=False)
        task = asyncio.create_task(self._answer(query.id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _answer(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:  # too old, or already answered: nothing to do
            log.info("answerCallbackQuery failed: %s", self._redact(exc))

    # ---- sending ---------------------------------------------------------------------

    async def send(self, to: ChatAddress, message: Outgoing) -> None:
        if to.platform != PLATFORM:
            raise DeliveryError(f"telegram cannot send to {to.platform}", permanent=True)
        lock = self._chat_locks.get(to.chat_id)
        if lock is None:
            lock = self._chat_locks[to.chat_id] = asyncio.Lock()
        # One message at a time per chat: keeps parts in order and the per-chat pace honest.
        async with lock:
            for part in tp.plan(message):
                await self._deliver(to.chat_id, part)

    async def _deliver(self, chat_id: str, part: tp.Part) -> None:
        """One API call within the limits; 429s are waited out here when short."""
        plain = False
        for attempt in range(1, INLINE_ATTEMPTS + 1):
            await self._wait_hold()
            await self.limiter.acquire(chat_id)
            try:
                await self._call(chat_id, part, plain=plain)
                return
            except RetryAfter as exc:
                wait = tp.retry_seconds(exc)
                if wait > MAX_INLINE_WAIT or attempt == INLINE_ATTEMPTS:
                    raise DeliveryError(f"telegram 429: {exc}", retry_after=wait) from None
                log.info("telegram 429 for chat %s; waiting %.1fs", chat_id, wait)
                metrics.rate_limited(PLATFORM)  # waited out here; a longer one the courier counts
                self._hold_until = max(self._hold_until, self.limiter.monotonic() + wait)
            except Forbidden as exc:  # blocked by the user, or never started the bot
                raise DeliveryError(f"telegram: {exc}", unreachable=True) from None
            except BadRequest as exc:
                text = str(exc).lower()
                if "chat not found" in text:
                    raise DeliveryError(f"telegram: {exc}", unreachable=True) from None
                if "can't parse entities" in text and part.text is not None and not plain:
                    log.warning("telegram refused our HTML (%s); sending plain text", exc)
                    plain = True
                    continue
                raise DeliveryError(f"telegram: {exc}", permanent=True) from None
            except ChatMigrated as exc:
                raise DeliveryError(f"telegram: {exc}", permanent=True) from None
            except TelegramError as exc:  # network, timeouts, 5xx: the courier backs off
                raise DeliveryError(f"telegram: {self._redact(exc)}") from None

    async def _wait_hold(self) -> None:
        while (wait := self._hold_until - self.limiter.monotonic()) > 0:
            await self.limiter.sleep(wait)

    async def _call(self, chat_id: str, part: tp.Part, *, plain: bool) -> None:
        if part.file is not None:
            await self._send_file(chat_id, part.file)
            return
        assert part.text is not None
        await self.bot.send_message(
            chat_id,
            tp.plain_text(part.text) if plain else tp.render_html(part.text),
            parse_mode=None if plain else ParseMode.HTML,
            reply_markup=part.markup,
        )

    async def _send_file(self, chat_id: str, file: OutgoingFile) -> None:
        data = file.data
        if data is None:
            path = Path(file.path or file.name)
            path = path if path.is_absolute() else self.settings.data_dir / path  # under DATA_DIR
            try:
                data = await asyncio.to_thread(path.read_bytes)
            except OSError as exc:
                raise DeliveryError(f"cannot read {path}: {exc.strerror}", permanent=True) from None
        senders: dict[AttachmentKind, Callable[..., Awaitable[Any]]] = {
            AttachmentKind.PHOTO: self.bot.send_photo,
            AttachmentKind.FILE: self.bot.send_document,
            AttachmentKind.VOICE: self.bot.send_voice,
            AttachmentKind.VIDEO: self.bot.send_video,
        }
        await senders[file.kind](chat_id, data, filename=file.name)

    # ---- files -----------------------------------------------------------------------

    async def download(self, attachment: Attachment) -> bytes:
        try:
            file = await self.bot.get_file(attachment.file_id)
            return bytes(await file.download_as_bytearray())
        except (BadRequest, RuntimeError) as exc:  # too big (20 MB), unknown id, no file_path
            raise DeliveryError(f"telegram download: {exc}", permanent=True) from None
        except TelegramError as exc:
            raise DeliveryError(f"telegram download: {self._redact(exc)}") from None

    def _redact(self, exc: BaseException) -> str:
        """An error text without the bot token (it is part of every Bot API URL)."""
        return str(exc).replace(self.token, "…")
