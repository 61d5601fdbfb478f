"""Which e-mail is which: every distinct mail is kept, the same mail once.

One Message-ID can name different mails (broken mailers, scripts); the same
mail comes back from another folder, after a UIDVALIDITY change, and as the
Sent copy of our own reply. Store tests run on both engines; the Dovecot
ones go through the real imap provider.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import func, select, update

from omnitui import services
from omnitui.services import AccountInfo, outbox
from omnitui.services.ingest import ingest
from omnitui.services.sync import sync_once
from providers.base import InboundMessage
from providers.email import EmailProvider
from providers.email_parse import parse_message
from storage.db import Store
from storage.models import Conversation, Message, conversation_t, message_t
from tests import helpers
from tests.helpers import ScriptedProvider
from tests.mail_fixtures import SUPPORT, Mailbox, raw, stored
from tests.peers.dovecot import DovecotServer

WHEN = datetime(2026, 3, 2, 9, 5, tzinfo=UTC)


def parse(data: bytes, *, direction: str = "in") -> InboundMessage:
    m = parse_message(data, account_key="k", fallback_date=WHEN).message
    return replace(m, direction="out", delivery_state="sent") if direction == "out" else m


#: what one poll of the inbox returns
batch = partial(helpers.batch, cursor="1:1", folder="INBOX")


def rows(store: Store) -> int:
    with store.read() as s:
        return int(s.execute(select(func.count()).select_from(message_t)).scalar_one())


def delivered_copy(data: bytes) -> bytes:
    """``data`` as another route or store hands it over: trace headers added,
    LF line ends, trailing white space lost, a body "From " quoted by mbox."""
    head, _, body = data.partition(b"\r\n\r\n")
    trace = (
        b"Return-Path: <ann@example.com>\r\nReceived: from mx2.example.net by imap.example;"
        b" Mon, 02 Mar 2026 09:00:03 +0000\r\nX-Spam-Status: No, score=0.1\r\n"
        b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com; b=abc\r\n"
    )
    copy = trace + head + b"\r\n\r\n" + body.replace(b"\r\n", b"  \r\n")
    return copy.replace(b"\r\n", b"\n").replace(b"\nFrom here", b"\n>From here")


# -- the external id ----------------------------------------------------------


def test_one_mail_has_one_external_id_however_it_is_delivered() -> None:
    mail = raw(1, body="Hello\r\nFrom here on, please\r\n\r\n")
    first, copy = parse(mail), parse(delivered_copy(mail))
    assert copy.external_id == first.external_id
    assert first.message_id == "<m1@example.com>"
    assert first.external_id.startswith("<m1@example.com>#")


def test_the_same_message_id_on_different_content_is_another_mail() -> None:
    base = parse(raw(1)).external_id
    changed = {
        parse(raw(1, body="Hello there!")).external_id,
        parse(raw(1, subject="Order help 2")).external_id,
        parse(raw(1, sender="bob@example.com")).external_id,
        parse(raw(1).replace(b"09:00:00", b"10:00:00")).external_id,  # the Date
    }
    assert base not in changed and len(changed) == 4


# -- ingest, both engines -------------------------------------------------------


def test_two_different_mails_with_one_message_id_are_both_stored(store: Store) -> None:
    first, second = parse(raw(1, body="Disk full on db1")), parse(raw(1, body="Disk full on db2"))
    assert ingest(store, "mail", batch(first)).stored == 1
    result = ingest(store, "mail", batch(second, first))
    assert (result.stored, result.duplicates) == (1, 1)
    bodies = sorted(m.body_text for m in stored(store))
    assert bodies == ["Disk full on db1\n", "Disk full on db2\n"]
    assert {m.email_message_id for m in stored(store)} == {"<m1@example.com>"}
    # both in one batch, and again: still the two
    third = parse(raw(1, body="Disk full on db3"))
    fourth = parse(raw(1, body="Disk full on db4"))
    assert ingest(store, "mail", batch(third, fourth, third)).stored == 2
    assert ingest(store, "mail", batch(first, second, third, fourth)).stored == 0
    assert rows(store) == 4


def test_the_same_mail_from_two_folders_is_stored_once(store: Store) -> None:
    mail = raw(1, body="Hello\r\nFrom here on, please")
    result = ingest(store, "mail", batch(parse(mail), parse(delivered_copy(mail))))
    assert (result.stored, result.duplicates) == (1, 1)


def test_a_reply_still_threads_to_a_reused_message_id(store: Store) -> None:
    ingest(store, "mail", batch(parse(raw(1, body="one")), parse(raw(1, body="two"))))
    ingest(store, "mail", batch(parse(raw(2, subject="Different", reply_to=1))))
    with store.read() as s:
        assert s.execute(select(func.count()).select_from(Conversation)).scalar_one() == 1


def legacy(m: InboundMessage) -> InboundMessage:
    """``m`` as stores before content digests keyed it: by its Message-ID alone."""
    assert m.message_id is not None
    return replace(m, external_id=m.message_id)


def test_rows_stored_before_digests_are_not_stored_again(store: Store) -> None:
    inbound, sent_copy = raw(1), raw(2, sender="bob@example.com", body="Sent elsewhere")
    old = batch(legacy(parse(inbound)), legacy(parse(sent_copy, direction="out")))
    assert ingest(store, "mail", old).stored == 2
    again = ingest(store, "mail", batch(parse(inbound), parse(sent_copy, direction="out")))
    assert (again.stored, again.duplicates) == (0, 2)
    # a different mail that reused the Message-ID was dropped then: kept now
    reused = ingest(store, "mail", batch(parse(raw(1, body="Another mail, same id"))))
    assert (reused.stored, rows(store)) == (1, 3)


def test_our_reply_matches_its_sent_copy_and_a_reuse_of_its_id_is_kept(store: Store) -> None:
    ingest(store, "shop", batch(parse(raw(1, subject="Refund"))))
    with store.read() as s:
        conv_id = s.execute(select(conversation_t.c.id)).scalar_one()
    accounts = {"shop": AccountInfo.from_provider(ScriptedProvider())}
    queued = services.reply(store, accounts, conv_id, "Refund sent.", "alice")
    assert outbox.deliver(store, ScriptedProvider(), queued).state == "sent"
    with store.read() as s:
        ours = s.get(Message, queued)
    assert ours is not None and ours.email_message_id and ours.external_id == ours.email_message_id
    mid = ours.email_message_id.encode()
    copy = (
        b"From: Shop Support <" + SUPPORT.encode() + b">\r\nTo: ann@example.com\r\n"
        b"Subject: Re: Refund\r\nMessage-ID: " + mid + b"\r\n"
        b"Date: Mon, 02 Mar 2026 09:10:00 +0000\r\n\r\nRefund sent.\r\n"
    )
    echo = ingest(store, "shop", batch(parse(copy, direction="out")))
    assert (echo.stored, echo.duplicates) == (0, 1)
    # our own copy arriving in the inbox (we were copied) is the same mail too
    assert ingest(store, "shop", batch(parse(copy))).stored == 0
    # a broken auto-responder sending its own mail under our Message-ID
    robot = raw(7, sender="robot@example.com").replace(b"<m7@example.com>", mid)
    assert ingest(store, "shop", batch(parse(robot))).stored == 1
    assert rows(store) == 3


# -- against Dovecot ----------------------------------------------------------------


def test_dovecot_two_mails_sharing_a_message_id_are_both_kept(
    store: Store, dovecot: DovecotServer, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mailbox.deliver(raw(1, body="Backup failed on db1"))
    mailbox.deliver(raw(1, body="Backup failed on db2"))
    assert sync_once(store, provider).stored == 2
    dovecot.set_uidvalidity(mailbox.user, "INBOX", 777)
    report = sync_once(store, provider)
    assert (report.stored, report.duplicates) == (0, 2)
    assert sorted(m.body_text for m in stored(store)) == [
        "Backup failed on db1\n",
        "Backup failed on db2\n",
    ]


def test_dovecot_the_same_mail_in_inbox_and_another_folder_is_stored_once(
    store: Store, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mailbox.server.create_folder(mailbox.user, "Archive")
    provider.settings = provider.settings.model_copy(update={"folders": ["INBOX", "Archive"]})
    mail = raw(1, body="Hello\r\nFrom here on, please")
    mailbox.deliver(mail)
    conn = mailbox.server.imap(mailbox.user)
    conn.select("INBOX")
    assert conn.copy("1", "Archive")[0] == "OK"  # the server's own copy
    conn.logout()
    mailbox.deliver(delivered_copy(mail), "Archive")  # and one that came another way
    report = sync_once(store, provider)
    assert (report.stored, report.duplicates) == (1, 2)


def test_dovecot_our_reply_in_sent_matches_its_row_after_a_resync(
    store: Store, dovecot: DovecotServer, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mailbox.deliver(raw(1, subject="Refund"))
    sync_once(store, provider)
    with store.read() as s:
        conv_id = s.execute(select(conversation_t.c.id)).scalar_one()
    accounts = {"mail": AccountInfo.from_provider(provider)}
    queued = services.reply(store, accounts, conv_id, "Refund sent — ça marche.", "alice")
    assert outbox.deliver(store, provider, queued).state == "sent"
    assert sync_once(store, provider).duplicates == 1  # the copy in Sent is our row
    dovecot.set_uidvalidity(mailbox.user, "Sent", 99)
    dovecot.set_uidvalidity(mailbox.user, "INBOX", 99)
    report = sync_once(store, provider)
    assert (report.stored, report.duplicates) == (0, 2)
    assert [m.direction for m in stored(store)] == ["in", "out"]


def test_dovecot_a_store_from_before_digests_resyncs_without_duplicates(
    store: Store, dovecot: DovecotServer, mailbox: Mailbox, provider: EmailProvider
) -> None:
    mailbox.deliver(raw(1))
    mailbox.deliver(raw(2, subject="Another question"))
    mailbox.deliver(raw(1, body="A second mail reusing m1's id"))
    assert sync_once(store, provider).stored == 3
    with store.write() as s:  # as the previous version kept them, minus the reuse
        last = s.execute(select(func.max(message_t.c.id))).scalar_one()
        s.execute(message_t.delete().where(message_t.c.id == last))
        s.execute(update(message_t).values(external_id=message_t.c.email_message_id))
    dovecot.set_uidvalidity(mailbox.user, "INBOX", 31337)
    report = sync_once(store, provider)
    assert (report.stored, report.duplicates) == (1, 2)
    assert len(stored(store)) == 3
