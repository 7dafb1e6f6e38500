"""The anchor of ``bench.webhook``: the least a WeCom callback needs, and nothing else.

``python -m bench._bare_webhook PORT DB_PATH TOKEN AES_KEY CORP_ID`` serves
``POST /wecom/callback`` on 127.0.0.1:PORT: verify the signature and decrypt with
wechatpy's ``WeChatCrypto`` (as the adapter does), insert the plain XML into a SQLite
table with its own commit, answer empty. What the product's acknowledgement is
measured against: the same client, the same crypto, the same database engine.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from aiohttp import web
from wechatpy.enterprise import WeChatCrypto


def make_app(db_path: str, token: str, aes_key: str, corp_id: str) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, corp_id)
    conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS inbox (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    lock = asyncio.Lock()

    def insert(body: str) -> None:
        conn.execute("BEGIN")
        conn.execute("INSERT INTO inbox (body) VALUES (?)", (body,))
        conn.execute("COMMIT")

    async def callback(request: web.Request) -> web.Response:
        query = request.query
        body = await request.text()
        start = body.find("<Encrypt><![CDATA[") + len("<Encrypt><![CDATA[")
        encrypted = body[start : body.find("]]></Encrypt>")]
        try:
            plain = crypto.decrypt_message(
                {"Encrypt": encrypted},
                query.get("msg_signature", ""),
                query.get("timestamp", ""),
                query.get("nonce", ""),
            )
        except Exception:
            return web.Response(status=403, text="bad signature")
        async with lock:
            await asyncio.to_thread(insert, plain)
        return web.Response(text="")

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/wecom/callback", callback)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    port, db_path, token, aes_key, corp_id = sys.argv[1:6]
    web.run_app(
        make_app(db_path, token, aes_key, corp_id),
        host="127.0.0.1",
        port=int(port),
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
