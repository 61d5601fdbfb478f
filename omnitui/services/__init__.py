"""The one write API both faces call (DESIGN.md "Layers"): the CLI and the
console parse, call a service and show the result; neither talks SQL.

By area:

* :mod:`~omnitui.services.messages` - replies, new messages, notes: what may
  be queued, on which thread, for which address.
* :mod:`~omnitui.services.conversations` - assignment and status, with
  optimistic locking and an audit event each; :mod:`~.snoozes` wakes them.
* :mod:`~omnitui.services.customers` - merges; :mod:`~.lookup` finds a
  customer by name, phone or e-mail in any spelling; :mod:`~.team` says who
  works here.
* :mod:`~omnitui.services.ingest` - storing what a poll found, with its
  cursor, in one transaction (:mod:`~.dedupe`, :mod:`~.records` behind it).
* :mod:`~omnitui.services.outbox` - the send queue: at most once.
* :mod:`~omnitui.services.sync` and :mod:`~.leases` - poll rounds, the
  poller, and who polls an account.
* :mod:`~omnitui.services.attachments` - saving and opening stored files.
* :mod:`~omnitui.services.views` - views (a query, a key, a sort) and their
  counts; :mod:`~.tags` - tags on conversations and customers;
  :mod:`~.bulk` - one change over many conversations, each on its own.

The names callers use most are re-exported here (``services.reply``); the
modules of the machinery (ingest, outbox, sync) are imported by name.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from omnitui.services.base import (
        STATUSES,
        AccountInfo,
        ConflictError,
        InvalidRequest,
        NotFound,
        ServiceError,
    )
    from omnitui.services.conversations import assign, set_status
    from omnitui.services.customers import merge_customers
    from omnitui.services.messages import (
        BODY_LIMITS,
        NO_EXTRAS,
        Extras,
        ReplyTarget,
        add_note,
        reply,
        reply_target,
        send_new,
    )

#: Where each re-exported name lives. They are imported on first use (PEP 562
#: ``__getattr__``): importing one service module runs this package first, and
#: a command that needs one service (``conversations list`` wakes snoozes)
#: should not pay for every other's imports (messages pulls in the e-mail
#: parser and html2text). ``tests/test_startup_imports.py`` checks both.
_HOMES: dict[str, str] = {
    **dict.fromkeys(
        ("STATUSES", "AccountInfo", "ConflictError", "InvalidRequest", "NotFound", "ServiceError"),
        "base",
    ),
    **dict.fromkeys(("assign", "set_status"), "conversations"),
    "merge_customers": "customers",
    **dict.fromkeys(
        (
            "BODY_LIMITS",
            "NO_EXTRAS",
            "Extras",
            "ReplyTarget",
            "add_note",
            "reply",
            "reply_target",
            "send_new",
        ),
        "messages",
    ),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


__all__ = [
    "BODY_LIMITS",
    "NO_EXTRAS",
    "STATUSES",
    "AccountInfo",
    "ConflictError",
    "Extras",
    "InvalidRequest",
    "NotFound",
    "ReplyTarget",
    "ServiceError",
    "add_note",
    "assign",
    "merge_customers",
    "reply",
    "reply_target",
    "send_new",
    "set_status",
]
