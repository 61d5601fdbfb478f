"""Normalized customer addresses: one spelling per person per channel.

E-mail is lower-cased (local parts are case-sensitive in theory, never in
practice, and two spellings must not make two customers); phone numbers are
E.164 via ``phonenumbers``; chat ids are kept as the service gives them,
Matrix ids once checked against the spec's grammar (a user ``@name:server``
or a room ``!id:server``), so a typo is refused before it is queued.
"""

from __future__ import annotations

import re
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


#: The longest Matrix id, sigil and server name included (the spec's 255 bytes).
MATRIX_ID_MAX = 255
#: A server name: a DNS name, an IPv4 address or a bracketed IPv6 one, and a port.
_MATRIX_SERVER = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?"
)
#: What a Matrix id is made of: printable ASCII, no space (historical user
#: ids allow any of it in the localpart, but ':').
_MATRIX_CHARS = re.compile(r"[\x21-\x7e]+")


def _shown(address: str) -> str:
    """``address`` as an error names it: on one line, escapes visible, cut short."""
    return repr(address if len(address) <= 60 else address[:60] + "...")


def normalize_matrix(address: str) -> str:
    """A Matrix user id (``@name:server``) or room id (``!id:server``), as given.

    A room alias (``#name:server``) is refused: messages go to a room's id."""
    cleaned = address.strip()
    shown = _shown(cleaned)
    if not cleaned:
        raise InvalidAddress("an empty address is not valid on matrix")
    if not _MATRIX_CHARS.fullmatch(cleaned):
        raise InvalidAddress(
            f"{shown} is not a Matrix id: it contains a space, a control character or a "
            "character outside ASCII"
        )
    if len(cleaned) > MATRIX_ID_MAX:
        raise InvalidAddress(
            f"{shown} is not a Matrix id: it is {len(cleaned):,} characters long, "
            f"a Matrix id has at most {MATRIX_ID_MAX}"
        )
    sigil, rest = cleaned[0], cleaned[1:]
    local, colon, server = rest.partition(":")
    if sigil == "@":
        if not local or not colon or not _MATRIX_SERVER.fullmatch(server):
            raise InvalidAddress(
                f"{shown} is not a Matrix user id (expected @name:server, e.g. @ann:example.org)"
            )
        return cleaned
    if sigil == "!":
        # newer room versions name a room by a hash alone, without a server
        if not local or (colon and not _MATRIX_SERVER.fullmatch(server)):
            raise InvalidAddress(f"{shown} is not a Matrix room id (expected !id:server)")
        return cleaned
    if sigil == "#":
        raise InvalidAddress(
            f"{shown} is a room alias: send to the room's id (!id:server, in the room's "
            "settings) or to a user (@name:server)"
        )
    raise InvalidAddress(
        f"{shown} is not a Matrix id: send to a user (@name:server) or to a room the "
        "account has joined (!id:server)"
    )


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
    if channel == "matrix":
        return normalize_matrix(address)
    cleaned = address.strip()
    if not cleaned:
        raise InvalidAddress(f"an empty address is not valid on {channel}")
    return cleaned
