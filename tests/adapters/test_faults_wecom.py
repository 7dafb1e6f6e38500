"""WeCom's API failing for a while under real replies: HTTP 500s (the courier's backoff),
then WeCom's rate-limit errcode 45009 and HTTP 429 (a minute each, as WeCom asks), then
back. Nothing lost, nothing sent twice; the clock is moved, never slept on."""

from __future__ import annotations

from datetime import timedelta

from bot.core.clock import FixedClock
from bot.core.courier import backoff
from tests.adapters.test_faults_platform import SECOND, rows, scrape, sends
from tests.adapters.test_wecom import Harness, fake, wecom, wecom_settings  # noqa: F401

USERS = [f"fault-{n}" for n in range(10)]
RATE_LIMIT_WAIT = timedelta(seconds=60)  # adapters/wecom_payloads: 45009, and a bare 429


async def test_wecom_500_then_rate_limits_then_back(
    wecom: Harness,  # noqa: F811
    clock: FixedClock,
) -> None:
    app, fake = wecom.app, wecom.fake  # noqa: F811
    fake.outage(status=500)
    for user in USERS:
        assert await wecom.say(user, "/help") == []
    assert {(r.status, r.attempts) for r in await rows(app)} == {("pending", 1)}
    assert all("500" in (r.last_error or "") for r in await rows(app))

    fake.outage(errcode=45009)
    clock.advance(backoff(1) - SECOND)
    assert await app.courier.drain() == 0
    clock.advance(2 * SECOND)
    assert await app.courier.drain() == len(USERS)
    assert all("45009" in (r.last_error or "") for r in await rows(app))

    fake.outage(status=429)
    clock.advance(RATE_LIMIT_WAIT - 2 * SECOND)
    assert await app.courier.drain() == 0  # the minute 45009 asks for
    clock.advance(3 * SECOND)
    assert await app.courier.drain() == len(USERS)
    assert all("429" in (r.last_error or "") for r in await rows(app))

    fake.recover()
    assert backoff(3) > RATE_LIMIT_WAIT + 3 * SECOND  # so the next send shows the 429's wait
    clock.advance(RATE_LIMIT_WAIT - 2 * SECOND)
    assert await app.courier.drain() == 0
    assert fake.texts() == []
    clock.advance(3 * SECOND)
    assert await app.courier.drain() == len(USERS)
    for user in USERS:
        texts = fake.texts(user)
        assert len(texts) == 1 and "/bind" in texts[0]
    tried = [r.body["touser"] for r in fake.calls("message/send")]
    assert sorted(tried) == sorted(USERS * 4)  # one refused try per fault, then the one sent
    assert {(r.status, r.attempts) for r in await rows(app)} == {("sent", 4)}
    clock.advance(timedelta(hours=2))
    assert await app.courier.drain() == 0
    # On /metrics: the 500s retried with backoff, 45009 and the 429 counted as rate limits.
    n = len(USERS)
    assert sends(await scrape(wecom.web), "wecom") == {
        "ok": n,
        "retry": n,
        "rate_limited": 2 * n,
        "429s": 2 * n,
        "retries": 3 * n,
    }
