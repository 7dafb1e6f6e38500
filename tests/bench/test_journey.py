"""The journey audit on a small cohort: the invariants a person lives by."""

from __future__ import annotations

import asyncio

from bench.journey import run
from bot.core.settings import Settings


def test_a_small_cohort_keeps_every_promise() -> None:
    result = asyncio.run(run(16, 56, 3, "sqlite"))
    max_silence = Settings(_env_file=None).push_max_silence_days  # type: ignore[call-arg]
    assert result["silence_days"]["max"] <= max_silence, result
    assert result["promises"], result
    for kind, counts in result["promises"].items():
        assert counts["kept"] == counts["due"], (kind, result)
    assert result["state_violations"] == {}, result
    assert result["night_messages"] == 0, result
    assert result["pushes_per_week"]["most_in_7_days"] <= 4, result
