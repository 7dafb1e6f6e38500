"""The webhook fuzz benchmark on a few cases per endpoint: the server started as in
production answers every case below 500, accepts no forged request, logs no error,
and still answers a genuine message on each platform afterwards."""

from __future__ import annotations

import json

import pytest

from bench.webhook import main


def test_a_short_fuzz_through_bench_webhook(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fuzz", "--cases", "20"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["cases"] == 20, result
    assert result["per_endpoint"] == {
        e: 5 for e in ("telegram", "wecom_get", "wecom_post", "feishu")
    }
    assert sum(result["statuses"].values()) == 20, result
    assert result["5xx"] == 0 and result["hangs"] == 0 and result["forged_accepted"] == 0, result
    assert result["errors_logged"] == 0 and result["process_alive"], result
    assert all(s is not None for s in result["answered_after_s"].values()), result
