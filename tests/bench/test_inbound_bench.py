"""The inbound benchmark on a few messages: every message answered once, paced at the
rate asked for, end-to-end latencies measured from post to reply."""

from __future__ import annotations

import json

import pytest

from bench.inbound import main


def test_paced_and_burst_messages_are_answered_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--rate", "20", "--seconds", "2", "--burst", "40", "--candidates", "12"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    paced, burst = result["paced"], result["burst"]
    assert paced["messages"] == 40 and paced["errors"] == 0, result
    assert 15 <= paced["achieved"] <= 25, result
    assert 0 < paced["e2e"]["p50_ms"] <= paced["e2e"]["p99_ms"] <= paced["e2e"]["max_ms"], result
    assert burst["messages"] == 40 and burst["ack_errors"] == 0 and burst["per_second"] > 0, result
