"""What a change in the audit trail says to people: one line per event
("assigned to bob", "status: resolved"), the same in the console's timeline
and in ``omnitui customers show``.

Storage hands over the event as it was recorded (action, detail, actor,
time: :class:`storage.queries.AuditRow`, or a timeline entry of kind
``event``); the words are made here, once. A time in the change (a
snooze's wake-up) is not in the line: :func:`event_until` gives it, for
each face to show in its own way (the console in the agent's zone, the CLI
in UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from storage.db import utc


def _after(detail: Mapping[str, Any] | None) -> Mapping[str, Any]:
    after = (detail or {}).get("after", {})
    return after if isinstance(after, Mapping) else {}


def describe_event(action: str, detail: Mapping[str, Any] | None) -> str:
    """One line for a change: "assigned to bob", "status: resolved", ..."""
    detail = detail or {}
    after = _after(detail)
    message = detail.get("message")
    if action == "assign":
        return f"assigned to {after.get('assignee') or 'nobody'}"
    if action == "status":
        return f"status: {after.get('status')}"
    if action == "wake":
        return "woke up: the snooze ended, open again"
    if action == "merge":
        name, merged = detail.get("merged_name"), detail.get("merged")
        return f"merged {name} (#{merged}) into this customer"
    if action in ("tag", "untag"):
        tags = detail.get("tags")
        words = ", ".join(str(t) for t in tags) if isinstance(tags, list) else ""
        on = "the customer" if detail.get("on") == "customer" else "the conversation"
        return f"tagged {on}: {words}" if action == "tag" else f"untagged {on}: {words}"
    if action == "outbox.retry":
        return f"sent message {message} again"
    if action == "outbox.edit":
        return f"edited message {message} and sent it again"
    if action == "outbox.readdress":
        return f"re-addressed message {message} to {detail.get('to')}"
    if action == "outbox.discard":
        return f"discarded message {message} (never sent)"
    return action


def event_until(detail: Mapping[str, Any] | None) -> datetime | None:
    """The wake-up time of a snooze (``None`` for other changes)."""
    until = _after(detail).get("snoozed_until")
    if not isinstance(until, str) or not until:
        return None
    try:
        return utc(datetime.fromisoformat(until))
    except ValueError:
        return None
