"""How far each agent has read each conversation (the inbox's unread marks):
the value a mark takes when an agent marks a conversation unread. Marking is
a write: :mod:`omnitui.services.readmarks`."""

from __future__ import annotations

from datetime import UTC, datetime

#: The read mark of a conversation an agent marked unread: older than any
#: message, so the conversation shows unread until it is opened again,
#: also when the customer is not waiting for an answer.
MARKED_UNREAD = datetime(1970, 1, 1, tzinfo=UTC)
