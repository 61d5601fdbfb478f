"""Signatures: the text after a ``-- `` line at the end of an outgoing message.

A signature is written in the config, per account (``[[accounts]] signature``)
or once for the agent (``[agent] signature``, which wins over the account's),
with a few placeholders filled when the message is queued:

* ``{agent.name}`` - the agent who writes the message (``[agent] name``);
* ``{account.name}`` - the account's name in the config;
* ``{account.address}`` - the account's own address on the message's channel
  (empty where the config does not tell it: a Telegram bot's id is in its token).

``{{`` and ``}}`` write a brace. Any other ``{...}`` is a config error, found
when the config is read, so a typo never reaches a customer as
``{agnet.name}``. The ``-- `` line (dash, dash, space) is the separator mail
programs recognise (RFC 3676 section 4.3): they dim the signature and leave it
out of a quoted reply.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: The placeholders a signature may use, and what each stands for.
PLACEHOLDERS: Mapping[str, str] = {
    "agent.name": "the agent who writes the message",
    "account.name": "the account's name in the config",
    "account.address": "the account's own address on the message's channel",
}
#: The line between the message and its signature (note the space).
SEPARATOR = "-- "
#: The longest signature taken (a signature is a few lines, not a document).
MAX_SIGNATURE = 2000

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def check_signature(text: str) -> None:
    """Raise ``ValueError`` (worded for the config's author) when ``text`` is
    not a signature this module can fill."""
    if len(text) > MAX_SIGNATURE:
        raise ValueError(f"a signature is at most {MAX_SIGNATURE} characters")
    if "\x00" in text:
        raise ValueError("a signature cannot contain a NUL character")
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
        if name is None:
            raise ValueError(
                f"a lone {token!r}: write {token * 2} for a brace; placeholders: {known}"
            )
        if name.strip() not in PLACEHOLDERS:
            raise ValueError(f"unknown placeholder {token}; use {known} ({{{{ and }}}} for braces)")


def fill_signature(text: str, values: Mapping[str, str]) -> str:
    """``text`` with its placeholders replaced by ``values`` (a missing value
    is empty) and ``{{``/``}}`` by braces. ``text`` passed :func:`check_signature`."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        return values.get(name.strip(), "") if name is not None else token

    return _TOKEN.sub(replace, text)


def sign(body: str, signature: str) -> str:
    """``body`` with ``signature`` after a ``-- `` line; a body that already
    ends with exactly this signature is left as it is (applied once)."""
    signature = signature.strip("\n")
    if not signature.strip():
        return body
    tail = f"\n{SEPARATOR}\n{signature}"
    if body.rstrip("\n").endswith(tail) or body.rstrip("\n") == tail.lstrip("\n"):
        return body
    return f"{body.rstrip()}\n\n{SEPARATOR}\n{signature}"
