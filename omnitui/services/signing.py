"""Which signature an outgoing message gets, filled for its author: the one
rule both faces follow (the console shows it under the composer; the
services append it when the message is queued, once). Notes never get one.
"""

from __future__ import annotations

from omnitui.services.base import AccountInfo
from omnitui.signatures import fill_signature, sign


def signature_for(
    info: AccountInfo | None, channel: str, author: str, signed: bool | None = None
) -> str | None:
    """The filled signature a message by ``author`` on ``channel`` from the
    account ``info`` ends with, or ``None``. ``signed`` ``None`` follows the
    account's channels (``signature_channels``, e-mail by default); ``False``
    leaves it off; ``True`` adds it on any channel."""
    if signed is False or info is None or not info.signature:
        return None
    if signed is None and channel not in info.signature_channels:
        return None
    values = {
        "agent.name": author,
        "account.name": info.name,
        "account.address": info.addresses.get(channel, ""),
    }
    return fill_signature(info.signature, values).strip("\n") or None


def signed_body(
    body: str, info: AccountInfo | None, channel: str, author: str, signed: bool | None = None
) -> str:
    """``body`` as it is sent: with its signature after a ``-- `` line when
    :func:`signature_for` gives one."""
    signature = signature_for(info, channel, author, signed)
    return sign(body, signature) if signature else body
