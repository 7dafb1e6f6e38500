"""The webhook benchmark on a small burst: every request acknowledged, processed once,
answered once, and the anchor measured in the same run."""

from __future__ import annotations

import json

import pytest

from bench.webhook import main


def test_a_small_burst_is_acknowledged_processed_and_answered(
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["--requests", "40", "--concurrency", "8", "--candidates", "12"]
    assert main(args) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["ack"]["requests"] == 40 and result["ack"]["errors"] == 0, result
    assert result["processing"]["processed"] == 40, result
    assert result["processing"]["replies"] == 40, result  # one reply per "进度", none twice
    assert result["anchor"]["requests"] == 40 and result["anchor"]["errors"] == 0, result
    assert result["ack_ratio"] > 0, result
