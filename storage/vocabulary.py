"""The words omnitui keeps, defined once: a conversation's status, a
message's outbox state, the channels, what a provider says of a delivery
and the default phone region, as typed literals and the named sets the code
asks about ("still to act on", "waiting for a person").

Pure data with no imports, so every layer may use it: the faces (which
never import the table models) and the provider contract, which re-exports
the channel and delivery words from :mod:`providers.base`.
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
#: on its way: written, not yet handed over or being handed over now
OUTBOX_IN_PROGRESS: tuple[OutboxState, ...] = ("queued", "sending")
#: waiting for a person's decision (retry, edit, discard)
OUTBOX_NEEDS_PERSON: tuple[OutboxState, ...] = ("failed", "unconfirmed")
#: what a person may still change (edit, re-address, discard): not yet
#: handed to a provider by a running send, not sent, not discarded
OUTBOX_CHANGEABLE: tuple[OutboxState, ...] = ("queued", "failed", "unconfirmed")

# -- the words of the provider contract (providers/base.py re-exports them) --

Channel = Literal["email", "sms", "whatsapp", "telegram", "matrix"]
CHANNELS: tuple[Channel, ...] = ("email", "sms", "whatsapp", "telegram", "matrix")
#: channels addressed by phone number (Twilio's SMS and WhatsApp)
PHONE_CHANNELS: frozenset[Channel] = frozenset({"sms", "whatsapp"})
#: channels whose conversation is a room or chat the service names
CHAT_CHANNELS: frozenset[Channel] = frozenset({"telegram", "matrix"})
#: Where a phone number written without its country code is read, unless the
#: config's ``[agent] default_region`` (or an account's) says otherwise.
DEFAULT_REGION = "US"

#: What the service says became of an outbound message (Twilio's words, which
#: the other services' fit into). This is never the outbox's own state: a
#: provider's "queued" means *it* holds the message, not that we must send it.
DeliveryState = Literal["queued", "scheduled", "sent", "delivered", "read", "undelivered", "failed"]
DELIVERY_STATES: tuple[DeliveryState, ...] = (
    "queued",
    "scheduled",
    "sent",
    "delivered",
    "read",
    "undelivered",
    "failed",
)
#: States after which the service reports nothing more for a message.
FINAL_DELIVERY_STATES: frozenset[DeliveryState] = frozenset(
    {"delivered", "read", "undelivered", "failed"}
)
#: delivery states of a message that never reached the customer
UNDELIVERED_STATES: tuple[DeliveryState, ...] = ("undelivered", "failed")
#: outbox states a send's outcome may still be recorded from (a send under
#: way, or one whose answer was lost and is being reconciled)
OUTBOX_AWAITING_OUTCOME: tuple[OutboxState, ...] = ("sending", "unconfirmed")
#: statuses a person sets from the status picker (a snooze has its own key,
#: since it needs a time)
PICKED_STATUSES: tuple[ConversationStatus, ...] = ("open", "pending", "resolved")
#: statuses a customer's new message ends: back in front of the team
#: (pending is "waiting for the customer", and the customer has answered)
REOPENED_BY_CUSTOMER: frozenset[ConversationStatus] = frozenset({"resolved", "snoozed", "pending"})

#: what an agent is doing in a conversation, shown to the rest of the team
#: while it lasts (a presence row expires unless refreshed)
PresenceActivity = Literal["viewing", "composing"]
PRESENCE_ACTIVITIES: tuple[PresenceActivity, ...] = ("viewing", "composing")
