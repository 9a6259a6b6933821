"""Personal data (个人信息保护法): phone numbers are masked unless revealed."""
from __future__ import annotations


def mask_phone(phone: str | None) -> str:
    """138****5678; short or odd numbers keep only their last two digits."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) >= 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 2) + digits[-2:]
    return "*" * len(digits)
