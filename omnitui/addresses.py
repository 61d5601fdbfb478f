"""Normalized customer addresses: one spelling per person per channel.

E-mail is lower-cased (local parts are case-sensitive in theory, never in
practice, and two spellings must not make two customers); phone numbers are
E.164 via ``phonenumbers``; chat ids are kept as the service gives them.
"""

from __future__ import annotations

from email.utils import parseaddr
from functools import lru_cache

from providers.base import DEFAULT_REGION, PHONE_CHANNELS


class InvalidAddress(ValueError):
    """An address that cannot be used on its channel; the message says why."""


def normalize_email(address: str) -> str:
    _name, addr = parseaddr(address.strip())
    addr = addr.strip().lower()
    if "@" not in addr or addr.startswith("@") or addr.endswith("@") or " " in addr:
        raise InvalidAddress(f"{address!r} is not an e-mail address (expected name@example.com)")
    return addr


def normalize_phone(number: str, default_region: str = DEFAULT_REGION) -> str:
    """``number`` in E.164 form (``+14155550100``).

    A ``whatsapp:`` prefix is dropped: the channel carries that fact.
    """
    import phonenumbers  # deferred: its metadata takes a while to import

    raw = number.strip()
    if raw.lower().startswith("whatsapp:"):
        raw = raw[len("whatsapp:") :]
    try:
        parsed = phonenumbers.parse(raw, default_region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress(f"{number!r} is not a phone number: {exc}") from None
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidAddress(
            f"{number!r} is not a valid phone number"
            f" (read with default region {default_region.upper()};"
            " write it with its country code, e.g. +44 20 7946 0958)"
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


@lru_cache(maxsize=65_536)
def normalize_address(channel: str, address: str, default_region: str = DEFAULT_REGION) -> str:
    """The one stored spelling of ``address`` on ``channel``.

    Cached: a poll sees the same few addresses over and over, and parsing a
    phone number costs tens of microseconds.
    """
    if channel == "email":
        return normalize_email(address)
    if channel in PHONE_CHANNELS:
        return normalize_phone(address, default_region)
    cleaned = address.strip()
    if not cleaned:
        raise InvalidAddress(f"an empty address is not valid on {channel}")
    return cleaned
