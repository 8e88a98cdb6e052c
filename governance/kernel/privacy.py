"""Masking of personal data (the one rule for lists, exports, logs and public pages)."""

import re

_MOBILE = re.compile(r"^(\d{3})\d{4}(\d{4})$")


def mask_phone(phone: str) -> str:
    """138****5678 for a mobile; 010-****5678 for a landline; keeps only the last 4 digits."""
    if not phone:
        return ""
    digits = phone.strip()
    m = _MOBILE.match(digits)
    if m:
        return f"{m.group(1)}****{m.group(2)}"
    if "-" in digits:
        area, number = digits.split("-", 1)
        return f"{area}-****{number[-4:]}"
    return "****" + digits[-4:]


def phone_for_handler(phone: str, *, anonymous: bool) -> str:
    """What staff who may contact the resident (appeals.selectors.sees_resident) see of the
    phone: the full number — or, when the resident asked for anonymity (匿名), the masked
    one; the full number is then given only by the "拨打/显示号码" reveal, one access-log
    entry each (appeals.selectors.resident_phone_reveal)."""
    return mask_phone(phone) if anonymous else phone


def mask_name(name: str) -> str:
    """张*华 / 李*: for public pages."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_tracking_code(code: str) -> str:
    """AB********YZ: a tracking code with its last 4 phone digits opens an appeal's page, so
    logs and the admin show only its ends."""
    if not code:
        return ""
    if len(code) <= 4:
        return "*" * len(code)
    return code[:2] + "*" * (len(code) - 4) + code[-2:]
