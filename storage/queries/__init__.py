"""The read paths the UI and the CLI need, by area: the inbox, customers,
one customer's timeline, search, the outbox and account health. Every list
is bounded (``limit``) and served by an index; none scans every message
(``tests/test_query_plans.py`` holds every hot statement to that).

The names are re-exported here, so callers write ``queries.timeline(...)``.
"""

from __future__ import annotations

from storage.queries.customers import (
    PEOPLE_WINDOW,
    CustomerRow,
    IdentityRow,
    assigned_names,
    assignees,
    customer_addresses,
    get_customer,
    list_customers,
    people,
)
from storage.queries.health import AccountHealth, ChangeMarker, account_health, change_marker
from storage.queries.ids import id_fits
from storage.queries.inbox import (
    INBOX_FILTERS,
    ConversationRow,
    customer_conversations,
    get_conversation,
    list_conversations,
)
from storage.queries.outbox import (
    OUTBOX_PENDING,
    OutboxRow,
    OutgoingMessage,
    message_account,
    outbox,
    outgoing_message,
)
from storage.queries.readmarks import MARKED_UNREAD
from storage.queries.search import COMMON_MATCHES, SEARCH_WINDOW, SearchHit, search, search_terms
from storage.queries.timeline import (
    AttachmentRow,
    AuditRow,
    ForwardRow,
    NoteRow,
    TimelineEntry,
    attachments_of,
    audit_events,
    forwards_of,
    get_attachment,
    get_note,
    shown_state,
    stored_bytes,
    timeline,
)
from storage.queries.triage import (
    ConversationState,
    conversation_states,
    count_conversations,
    find_conversations,
    matching_states,
)

__all__ = [
    "COMMON_MATCHES",
    "INBOX_FILTERS",
    "MARKED_UNREAD",
    "OUTBOX_PENDING",
    "PEOPLE_WINDOW",
    "SEARCH_WINDOW",
    "AccountHealth",
    "AttachmentRow",
    "AuditRow",
    "ChangeMarker",
    "ConversationRow",
    "ConversationState",
    "CustomerRow",
    "ForwardRow",
    "IdentityRow",
    "NoteRow",
    "OutboxRow",
    "OutgoingMessage",
    "SearchHit",
    "TimelineEntry",
    "account_health",
    "assigned_names",
    "assignees",
    "attachments_of",
    "audit_events",
    "change_marker",
    "conversation_states",
    "count_conversations",
    "customer_addresses",
    "customer_conversations",
    "find_conversations",
    "forwards_of",
    "get_attachment",
    "get_conversation",
    "get_customer",
    "get_note",
    "id_fits",
    "list_conversations",
    "list_customers",
    "matching_states",
    "message_account",
    "outbox",
    "outgoing_message",
    "people",
    "search",
    "search_terms",
    "shown_state",
    "stored_bytes",
    "timeline",
]
