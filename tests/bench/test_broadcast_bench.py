"""The broadcast benchmark on a small cohort: the HR's real dialog, everyone reached once,
within the fake's Telegram limits (no 429s), and the anchor in the same line."""

from __future__ import annotations

import json

import pytest

from bench.broadcast import main


def test_a_small_broadcast_reaches_everyone_once_within_the_limits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--candidates", "45", "--rtt-ms", "20"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["reply"].startswith("已发送给"), result
    assert result["candidates"] == 45, result
    assert result["lost"] == 0 and result["duplicated"] == 0, result
    assert result["refused"] == 0, result  # the product kept Telegram's pace itself
    assert result["anchor_s"] == 1.5 and result["ratio"] > 0.9, result  # not faster than allowed
