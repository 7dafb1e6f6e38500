"""Log lines are masked."""

from __future__ import annotations

import io
import logging

from bot.runtime.logs import MaskingFilter, setup_logging


def test_log_records_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("preboard.test.masking")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        logger.info("bound %s with id %s", "+8613812341234", "330106199001011234")
        try:
            raise ValueError("bad phone 13912345678")
        except ValueError:
            logger.exception("import failed for 13912345678")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert "+86138****1234" in out and "330106********1234" in out
    assert "139****5678" in out
    assert "13812341234" not in out and "13912345678" not in out
    assert "199001011234" not in out


def test_setup_logging_installs_the_masking_filter() -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        setup_logging("json", "INFO")
        assert any(isinstance(f, MaskingFilter) for f in root.handlers[0].filters)
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
