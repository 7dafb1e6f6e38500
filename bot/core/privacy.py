"""Masking personal data for lists, staff views and logs."""

from __future__ import annotations

import re

# A Chinese mobile number, optionally with the country code; not part of a longer number.
PHONE_RE = re.compile(
    r"(?<![\dA-Za-z+])((?:\+|00)?86[ -]?)?(1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?!\d)"
)
# A resident ID number: 17 digits and a digit or X check character.
ID_NUMBER_RE = re.compile(r"(?<![\dA-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![\dA-Za-z])")


def mask_phone(phone: str | None) -> str:
    """``13812341234`` becomes ``138****1234``; anything short is starred out."""
    if not phone:
        return "-"
    digits = phone.removeprefix("+86")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_id_number(number: str | None) -> str:
    """``330106199001011234`` becomes ``330106********1234``; anything short is starred out."""
    if not number:
        return "-"
    number = number.strip()
    if len(number) < 10:
        return "*" * len(number)
    return f"{number[:6]}{'*' * (len(number) - 10)}{number[-4:]}"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return "-"
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"


def mask_text(text: str) -> str:
    """Mask every ID number and Chinese mobile number inside free text (log lines)."""
    text = ID_NUMBER_RE.sub(lambda m: f"{m[1]}********{m[3]}", text)
    return PHONE_RE.sub(lambda m: f"{m[1] or ''}{m[2]}****{m[4]}", text)
