"""Which messages of a poll the store already has.

A message is known when a row of its account has its external id. For a
fetched e-mail that id is ``<Message-ID>#<content digest>``
(providers/email_identity.py), so the same mail seen in two folders or after
a UIDVALIDITY change is known, and a different mail reusing the Message-ID
is not.

Two kinds of rows carry the plain Message-ID instead, and a fetched mail is
compared with them by what it says:

* mail composed here (the outbox names it before sending, so its copy in the
  Sent folder can be recognised): the fetched copy is it when it comes from
  the Sent folder (direction ``out``) or from the address the row was sent
  from. Its Message-ID was made here, so another sender reusing it is a
  broken mailer echoing ours, and that mail is kept.
* rows stored before external ids carried a digest: the same mail parses to
  the same sender, subject and text (the parser is the one that stored it),
  so a re-sync after the upgrade stores nothing twice, while a different
  mail that was dropped then for its Message-ID is stored now. The time is
  not compared: for mail without a Date it is the folder's INTERNALDATE,
  which two copies of one mail need not share.

The plain rows are looked up by ``(account, email_message_id)``, which is
indexed, only for mail whose digested id is not found, and rows are few
(one per Message-ID, bar reuse).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session

from providers.base import InboundMessage
from storage.bulk import driver_lookup


def known_external_ids(
    session: Session, account: str, messages: Sequence[InboundMessage]
) -> dict[str, str]:
    """For each message of ``messages`` already stored on ``account``: its
    external id -> the external id of the stored row that is the same message."""
    rows = driver_lookup(
        session,
        "SELECT external_id FROM message WHERE account = ? AND external_id IN ({in})",
        (account,),
        list(dict.fromkeys(m.external_id for m in messages)),
    )
    known = {r[0]: r[0] for r in rows}
    digested = [m for m in messages if m.external_id not in known and _digested(m)]
    if digested:
        known.update(_matched_plain_rows(session, account, digested))
    return known


def _digested(msg: InboundMessage) -> bool:
    """A fetched e-mail whose external id adds a digest to its Message-ID."""
    mid = msg.message_id
    return msg.channel == "email" and mid is not None and msg.external_id.startswith(mid + "#")


def _matched_plain_rows(
    session: Session, account: str, messages: Sequence[InboundMessage]
) -> dict[str, str]:
    plain: dict[str, list[tuple[str, str, str | None, str]]] = {}
    for mid, direction, sender, subject, text in driver_lookup(
        session,
        "SELECT email_message_id, direction, from_address, subject, body_text FROM message "
        "WHERE account = ? AND external_id = email_message_id AND email_message_id IN ({in})",
        (account,),
        list({m.message_id for m in messages if m.message_id is not None}),
    ):
        plain.setdefault(mid, []).append((direction, sender, subject, text))
    found: dict[str, str] = {}
    for msg in messages:
        assert msg.message_id is not None
        for direction, sender, subject, text in plain.get(msg.message_id, ()):
            if direction == "out":
                same = msg.direction == "out" or msg.from_address.lower() == sender.lower()
            else:
                same = (msg.from_address, msg.subject, msg.body_text) == (sender, subject, text)
            if same:
                found[msg.external_id] = msg.message_id
                break
    return found
