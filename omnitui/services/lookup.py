"""Finding a customer from what an agent or a script typed: a name (any
case, accents or not), part of an e-mail address, or a phone number in any
format. One rule for every picker of the console and for the CLI."""

from __future__ import annotations

import re

from sqlmodel import Session

from omnitui.addresses import InvalidAddress, normalize_phone
from providers.base import DEFAULT_REGION
from storage import queries
from storage.queries import CustomerRow

_DIALLED = re.compile(r"^\+?[\d\s().\-/]{4,}$")


def typed_phone(text: str, default_region: str) -> str | None:
    """``text`` as an E.164 number if it reads as a whole phone number in
    ``default_region`` (``(415) 555-0100`` -> ``+14155550100``), else ``None``."""
    if not _DIALLED.match(text.strip()):
        return None
    try:
        return normalize_phone(text, default_region)
    except InvalidAddress:
        return None


def find_customers(
    session: Session, query: str, *, default_region: str = DEFAULT_REGION, limit: int = 20
) -> list[CustomerRow]:
    """Customers matching ``query`` (see :func:`storage.queries.list_customers`),
    a national number read with ``default_region``."""
    text = query.strip()
    return queries.list_customers(
        session, query=text, phone=typed_phone(text, default_region), limit=limit
    )
