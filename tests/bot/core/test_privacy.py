"""Masking phone and ID numbers in text shown to staff."""

from __future__ import annotations

from bot.core.privacy import mask_id_number, mask_phone, mask_text


def test_mask_helpers() -> None:
    assert mask_id_number("330106199001011234") == "330106********1234"
    assert mask_id_number("33010619900101123X") == "330106********123X"
    assert mask_id_number(None) == "-"
    assert mask_phone("+8613812341234") == "138****1234"
    text = "张三 13812341234, +86 138 1234 5678, id 33010619900101123x, order 20260601123456789"
    assert mask_text(text) == (
        "张三 138****1234, +86 138****5678, id 330106********123x, order 20260601123456789"
    )
