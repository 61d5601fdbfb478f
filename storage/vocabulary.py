"""The words the store keeps, defined once: a conversation's status and a
message's outbox state, as typed literals and the named sets the code asks
about ("still to act on", "waiting for a person").

Pure data, importable by every layer, the faces included (which never
import the table models). What a provider reports (channels, delivery
states) is the provider contract's vocabulary: :mod:`providers.base`.
"""

from __future__ import annotations

from typing import Literal

ConversationStatus = Literal["open", "pending", "resolved", "snoozed"]
CONVERSATION_STATUSES: tuple[ConversationStatus, ...] = ("open", "pending", "resolved", "snoozed")
#: conversations somebody still has to act on
ACTIVE_STATUSES: tuple[ConversationStatus, ...] = ("open", "pending")

#: The outbox's own state of a message composed in omnitui. Only omnitui
#: writes it, and only for what an agent or script composed: no provider
#: word ever lands here (a provider's "queued" is a ``delivery_state``).
#: ``discarded``: a person chose never to send it (kept, shown struck
#: through; never due, never counted as unfinished).
OutboxState = Literal["queued", "sending", "sent", "failed", "unconfirmed", "discarded"]
OUTBOX_STATES: tuple[OutboxState, ...] = (
    "queued",
    "sending",
    "sent",
    "failed",
    "unconfirmed",
    "discarded",
)
#: not yet known to be delivered: what the outbox screen and health count
OUTBOX_UNFINISHED: tuple[OutboxState, ...] = ("queued", "sending", "failed", "unconfirmed")
#: waiting for a person's decision (retry, edit, discard)
OUTBOX_NEEDS_PERSON: tuple[OutboxState, ...] = ("failed", "unconfirmed")
#: what a person may still change (edit, re-address, discard): not yet
#: handed to a provider by a running send, not sent, not discarded
OUTBOX_CHANGEABLE: tuple[OutboxState, ...] = ("queued", "failed", "unconfirmed")
