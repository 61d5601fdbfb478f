"""Fetching a message's file over HTTP with a bound on its size, shared by
the chat providers."""

from __future__ import annotations

from typing import Any

#: Files larger than this are not fetched (the Telegram Bot API's own limit
#: for bots; Matrix gets the same): the message keeps a placeholder.
MAX_ATTACHMENT = 20 * 1024 * 1024


def read_capped(response: Any, limit: int = MAX_ATTACHMENT) -> bytes | None:
    """The body of a streamed ``requests`` response, or ``None`` once it
    passes ``limit`` bytes (the rest is never read)."""
    data = bytearray()
    for chunk in response.iter_content(65536):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)
