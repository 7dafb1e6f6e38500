"""Masking personal data for lists, staff views and logs."""

from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """``13812341234`` becomes ``138****1234``; anything short is starred out."""
    if not phone:
        return "-"
    digits = phone.removeprefix("+86")
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(email: str | None) -> str:
    if not email or "@" not in email:
        return "-"
    local, domain = email.split("@", 1)
    return f"{local[:1]}***@{domain}"
