"""Cc stored on received mail, the reply-all rule, checked recipients, and
forwards (services.recipients, services.forward), on both engines."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.services import AccountInfo, Extras, InvalidRequest, NotFound
from omnitui.services.forward import SEPARATOR, forward
from omnitui.services.ingest import ingest
from omnitui.services.recipients import (
    MAX_RECIPIENTS,
    addresses,
    checked,
    our_addresses,
    reply_all,
    reply_all_for,
)
from providers.email_parse import parse_message
from storage import queries
from storage.db import Store
from storage.models import (
    Attachment,
    Conversation,
    Message,
    attachment_t,
    conversation_t,
    message_t,
)
from tests.helpers import SHOP_EMAIL, ScriptedProvider, batch, email, message, sms

ACCOUNTS = {
    "shop": AccountInfo.from_provider(ScriptedProvider()),
    "billing": AccountInfo("billing", ("email",), {"email": "billing@shop.example"}),
}
OURS = frozenset({SHOP_EMAIL, "billing@shop.example"})


def mail(n: int, *headers: str, body: str = "Hello there", files: str = "") -> bytes:
    head = [
        "From: Ann Example <ann@example.com>",
        f"Message-ID: <r{n}@example.com>",
        "Subject: Order help",
        "Date: Mon, 02 Mar 2026 09:00:00 +0000",
        *headers,
    ]
    if not files:
        return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()
    head += ["MIME-Version: 1.0", "Content-Type: multipart/mixed; boundary=b1"]
    parts = f"--b1\r\nContent-Type: text/plain\r\n\r\n{body}\r\n{files}--b1--\r\n"
    return ("\r\n".join(head) + "\r\n\r\n" + parts).encode()


def received(store: Store, raw: bytes) -> Message:
    """``raw`` parsed and ingested as the shop's; the stored message."""
    ingest(store, "shop", batch(parse_message(raw, account_key="shop").message))
    with store.read() as s:
        found: Message | None = (
            s.execute(select(Message).order_by(message_t.c.id.desc())).scalars().first()
        )
    assert found is not None
    return found


# -- the rule, on plain data ------------------------------------------------------


def test_reply_all_answers_the_sender_and_copies_the_others_less_ours() -> None:
    to, cc = reply_all(
        "Ann <ann@example.com>",
        [],
        ["support@shop.example", "Bo <BO@example.com>"],
        ["carl@example.com", "Billing@Shop.Example"],
        OURS,
    )
    assert to == ("ann@example.com",)
    assert cc == ("bo@example.com", "carl@example.com")


def test_reply_all_goes_to_reply_to_and_its_others_join_cc() -> None:
    to, cc = reply_all(
        "ann@example.com",
        ["team@example.com", "lead@example.com"],
        ["support@shop.example", "bo@example.com"],
        [],
        OURS,
    )
    assert to == ("team@example.com",)
    assert cc == ("lead@example.com", "bo@example.com")  # the sender is not added


def test_reply_all_removes_duplicates_and_the_to_in_any_case() -> None:
    to, cc = reply_all(
        "ann@example.com",
        [],
        ["ANN@example.com", "bo@example.com", "Bo@Example.com"],
        ["bo@example.com", "ann@EXAMPLE.com", "junk", ""],
        OURS,
    )
    assert to == ("ann@example.com",) and cc == ("bo@example.com",)


def test_reply_all_never_answers_ourselves() -> None:
    # our own mail (a colleague wrote from the support address): its To answers
    to, cc = reply_all(
        "support@shop.example", ["SUPPORT@shop.example"], [], ["x@example.com"], OURS
    )
    assert to == () and cc == ("x@example.com",)


def test_our_addresses_are_every_accounts_and_the_one_mail_came_in_on() -> None:
    assert our_addresses(ACCOUNTS, "Help@Shop.Example") == OURS | {"help@shop.example"}


@pytest.mark.parametrize(
    "bad",
    [
        "not an address",
        "ann@",
        "@example.com",
        "ann@example",
        "ann@example.com\r\nBcc: evil@example.com",
        "\x1b[31mann@example.com",
        "ann@exam\x07ple.com",
        '"quoted local"@example.com',
        "a" * 250 + "@example.com",
    ],
)
def test_a_bad_address_is_refused_by_name(bad: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        addresses([bad], "Cc address")
    assert "Cc address" in str(refused.value) and "\x1b" not in str(refused.value)
    assert "\r" not in str(refused.value) and "nothing was queued" in str(refused.value)


def test_addresses_read_lists_and_display_names() -> None:
    assert addresses(
        ['"Example, Bo" <bo@example.com>; Carl@Example.com', "", "bo@example.com"]
    ) == (
        "bo@example.com",
        "carl@example.com",
    )


def test_checked_dedupes_across_lists_and_caps_the_count() -> None:
    extras = checked(
        "email",
        Extras(
            to=("Ann@example.com",),
            cc=("ann@example.com", "bo@example.com"),
            bcc=("BO@example.com", "boss@shop.example"),
        ),
    )
    assert (extras.to, extras.cc, extras.bcc) == (
        ("ann@example.com",),
        ("bo@example.com",),
        ("boss@shop.example",),
    )
    many = tuple(f"p{n}@example.com" for n in range(MAX_RECIPIENTS))
    with pytest.raises(InvalidRequest, match=f"at most {MAX_RECIPIENTS}"):
        checked("email", Extras(cc=many, bcc=("one-more@example.com",)))
    with pytest.raises(InvalidRequest, match="one To address"):
        checked("email", Extras(to=("a@example.com", "b@example.com")))


def test_cc_and_bcc_are_refused_on_other_channels() -> None:
    for channel in ("sms", "whatsapp", "telegram", "matrix"):
        with pytest.raises(InvalidRequest, match="e-mail only"):
            checked(channel, Extras(cc=("bo@example.com",)))
    assert checked("sms", Extras()) == Extras()


# -- the store ----------------------------------------------------------------------


def test_to_and_cc_of_received_mail_are_stored_and_shown(store: Store) -> None:
    got = received(
        store,
        mail(1, "To: Support <support@shop.example>, Bo <bo@example.com>", "Cc: carl@example.com"),
    )
    assert json.loads(got.to_addresses or "") == ["support@shop.example", "bo@example.com"]
    assert json.loads(got.cc_addresses or "") == ["carl@example.com"]
    with store.read() as s:
        [entry] = [e for e in queries.timeline(s, got.customer_id) if e.kind == "message"]
    assert entry.to_addresses == ("support@shop.example", "bo@example.com")
    assert entry.cc_addresses == ("carl@example.com",) and entry.bcc_addresses == ()


def test_reply_all_for_a_conversation_uses_its_newest_mail_and_reply_to(store: Store) -> None:
    received(store, mail(1, "To: support@shop.example", "Reply-To: team@example.com"))
    newest = received(
        store,
        mail(
            2,
            "To: support@shop.example, bo@example.com",
            "Cc: Carl <carl@example.com>, billing@shop.example",
            "Reply-To: team@example.com",
            "In-Reply-To: <r1@example.com>",
        ),
    )
    found = reply_all_for(store, ACCOUNTS, newest.conversation_id)
    assert found.message_id == newest.id
    assert found.to == ("team@example.com",)
    assert found.cc == ("bo@example.com", "carl@example.com")
    # the customer (ann, the sender) is not added by itself
    assert "ann@example.com" not in found.to + found.cc


def test_reply_all_reads_every_reply_to_of_a_mail_kept_whole(store: Store) -> None:
    # a mail the parser could not read whole keeps its bytes (original.eml):
    # every Reply-To address is read from them
    got = received(
        store,
        mail(
            1,
            "To: support@shop.example",
            "Cc: bo@example.com",
            "Reply-To: Team <team@example.com>, lead@example.com",
            "Content-Type: text/plain; charset=x-no-such-charset",
        ),
    )
    found = reply_all_for(store, ACCOUNTS, got.conversation_id)
    assert found.to == ("team@example.com",)
    assert found.cc == ("lead@example.com", "bo@example.com")


def test_reply_all_answers_every_reply_to_of_a_mail_read_whole(store: Store) -> None:
    # a mail parsed cleanly (no original.eml kept): its Reply-To list is stored
    got = received(
        store,
        mail(
            1,
            "To: support@shop.example",
            "Cc: bo@example.com",
            "Reply-To: Team <team@example.com>, lead@example.com",
        ),
    )
    assert json.loads(got.reply_to_addresses or "") == ["team@example.com", "lead@example.com"]
    found = reply_all_for(store, ACCOUNTS, got.conversation_id)
    assert found.to == ("team@example.com",)
    assert found.cc == ("lead@example.com", "bo@example.com")


def test_a_colleague_in_the_thread_is_answered_not_the_first_reply_to(store: Store) -> None:
    received(store, mail(1, "To: support@shop.example", "Reply-To: team@example.com"))
    bo = mail(
        2, "To: support@shop.example", "Cc: ann@example.com", "In-Reply-To: <r1@example.com>"
    ).replace(b"Ann Example <ann@example.com>", b"Bo <bo@example.com>")
    newest = received(store, bo)
    found = reply_all_for(store, ACCOUNTS, newest.conversation_id)
    assert found.to == ("bo@example.com",) and found.cc == ("ann@example.com",)


def test_a_reply_all_is_queued_with_its_recipients_and_bcc_only_for_its_author(
    store: Store,
) -> None:
    got = received(store, mail(1, "To: support@shop.example, bo@example.com"))
    found = reply_all_for(store, ACCOUNTS, got.conversation_id)
    mid = services.reply(
        store,
        ACCOUNTS,
        got.conversation_id,
        "Done.",
        "alice",
        extras=Extras(to=found.to, cc=found.cc, bcc=("Boss@Shop.Example",)),
    )
    queued = message(store, mid)
    assert queued.to_address == "ann@example.com"
    assert json.loads(queued.cc_addresses or "") == ["bo@example.com"]
    assert json.loads(queued.bcc_addresses or "") == ["boss@shop.example"]
    with store.read() as s:
        as_alice = queries.timeline(s, got.customer_id, viewer="alice")[-1]
        as_bob = queries.timeline(s, got.customer_id, viewer="bob")[-1]
        doc = queries.outgoing_message(s, mid, viewer="alice")
        bobs = queries.outgoing_message(s, mid, viewer="bob")
    assert as_alice.bcc_addresses == ("boss@shop.example",) and as_bob.bcc_addresses == ()
    assert bobs is not None and bobs.bcc == () and bobs.cc == ("bo@example.com",)
    assert as_bob.cc_addresses == ("bo@example.com",)
    assert doc is not None and doc.cc == ("bo@example.com",) and doc.bcc == ("boss@shop.example",)


def test_bad_recipients_queue_nothing(store: Store) -> None:
    got = received(store, mail(1, "To: support@shop.example"))
    ingest(store, "shop", batch(sms("SM1")))
    with store.read() as s:
        sms_conv = s.execute(
            select(Conversation).where(conversation_t.c.channel == "sms")
        ).scalar_one()
    for conv, extras in [
        (got.conversation_id, Extras(cc=("bo@example.com", "\x1b]0;pwned\x07"))),
        (sms_conv.id, Extras(cc=("bo@example.com",))),
    ]:
        with pytest.raises(InvalidRequest):
            services.reply(store, ACCOUNTS, conv, "Hi", "alice", extras=extras)
    with pytest.raises(InvalidRequest, match="e-mail only"):
        services.send_new(
            store,
            ACCOUNTS,
            channel="sms",
            body="Hi",
            author="a",
            to="+14155550100",
            extras=Extras(bcc=("x@example.com",)),
        )
    with store.read() as s:
        assert s.execute(select(Message).where(message_t.c.direction == "out")).first() is None


def test_reply_all_needs_an_email_conversation_that_exists(store: Store) -> None:
    ingest(store, "shop", batch(sms("SM1")))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
    with pytest.raises(InvalidRequest, match="reply-all is for e-mail"):
        reply_all_for(store, ACCOUNTS, conv.id or 0)
    with pytest.raises(NotFound):
        reply_all_for(store, ACCOUNTS, 2**63 + 5)


# -- forward ------------------------------------------------------------------------

PDF = bytes(range(256)) * 8


def test_forward_quotes_the_original_with_its_files_and_links_back(store: Store) -> None:
    import base64

    part = (
        "--b1\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(PDF).decode().replace("\n", "\r\n")
        + "\r\n"
    )
    got = received(
        store,
        mail(
            1,
            "To: support@shop.example",
            "Cc: bo@example.com",
            body="Invoice attached.",
            files=part,
        ),
    )
    assert got.id is not None
    fwd = forward(
        store, ACCOUNTS, got.id, "Accounts <Accounts@Example.org>", "alice", note="Please check."
    )
    sent = message(store, fwd)
    assert sent.forwarded_from_id == got.id and sent.to_address == "accounts@example.org"
    assert sent.subject == "Fwd: Order help" and sent.conversation_id != got.conversation_id
    body = sent.body_text
    assert body.startswith("Please check.\n\n" + SEPARATOR)
    for line in (
        "From: Ann Example <ann@example.com>",
        "Subject: Order help",
        "To: support@shop.example",
        "Cc: bo@example.com",
        "Invoice attached.",
    ):
        assert line in body
    with store.read() as s:
        files = list(
            s.execute(select(Attachment).where(attachment_t.c.message_id == fwd)).scalars()
        )
        original = next(e for e in queries.timeline(s, got.customer_id) if e.id == got.id)
    assert [f.filename for f in files] == ["invoice.pdf"]  # not the parser's original.eml
    provider = ScriptedProvider()
    from omnitui.services import outbox

    assert outbox.deliver(store, provider, fwd).state == "sent"
    [out] = provider.sent
    assert [(a.filename, a.data) for a in out.attachments] == [("invoice.pdf", PDF)]
    assert [(f.to, f.author) for f in original.forwards] == [("accounts@example.org", "alice")]


def test_forward_from_sms_to_email(store: Store) -> None:
    ingest(store, "shop", batch(sms("SM1", body="Where is my order?")))
    with store.read() as s:
        got = s.execute(select(Message)).scalar_one()
    fwd = message(store, forward(store, ACCOUNTS, got.id or 0, "ops@example.org", "alice"))
    assert fwd.channel == "email" and fwd.subject == "Fwd: sms message from +14155550100"
    assert fwd.body_text.startswith(SEPARATOR) and "Where is my order?" in fwd.body_text


def test_forward_refusals(store: Store) -> None:
    ingest(store, "shop", batch(email("e1")))
    with store.read() as s:
        got = s.execute(select(Message)).scalar_one()
    with pytest.raises(NotFound, match="no message 999"):
        forward(store, ACCOUNTS, 999, "ops@example.org", "alice")
    with pytest.raises(NotFound):
        forward(store, ACCOUNTS, 2**63, "ops@example.org", "alice")
    with pytest.raises(InvalidRequest, match="To address"):
        forward(store, ACCOUNTS, got.id or 0, "ops@example.org\nBcc: x@y.org", "alice")
    with store.read() as s:
        assert s.execute(select(Message).where(message_t.c.direction == "out")).first() is None


def test_a_reply_to_naming_our_own_address_is_not_where_replies_go(store: Store) -> None:
    """A customer's mail (a hostile one, or a client gone wrong) says Reply-To
    our own address: a plain reply must still reach the customer, not loop
    back into our own mailbox."""
    ingest(store, "shop", batch(email("own-rt", reply_to="Support <SUPPORT@Shop.Example>")))
    with store.read() as s:
        conv = s.execute(select(Conversation)).scalar_one()
    assert conv.their_address == "ann@example.com"
    queued = services.reply(store, ACCOUNTS, conv.id, "Answer", "bob")
    assert message(store, queued).to_address == "ann@example.com"


def test_a_forwards_signature_follows_the_cover_note_not_the_original(store: Store) -> None:
    """Signed once, under the agent's own words: after the quoted original the
    signature would read as the customer's (and a mail program dims all after
    the original's own ``-- `` line)."""
    got = received(store, mail(1, "To: support@shop.example", body="Hi\n\n-- \nAnn, Example Ltd"))
    assert got.id is not None
    signing = {"shop": replace(ACCOUNTS["shop"], signature="{agent.name} at the shop")}
    body = message(
        store, forward(store, signing, got.id, "ops@example.org", "alice", note="FYI")
    ).body_text
    assert body.startswith("FYI\n\n-- \nalice at the shop\n\n" + SEPARATOR)
    assert body.count("alice at the shop") == 1 and body.rstrip().endswith("Ann, Example Ltd")
    bare = message(store, forward(store, signing, got.id, "ops@example.org", "alice")).body_text
    assert bare.startswith("-- \nalice at the shop\n\n" + SEPARATOR)


def _with_invoice(store: Store) -> Message:
    import base64

    part = (
        "--b1\r\nContent-Type: application/pdf\r\n"
        'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(PDF).decode().replace("\n", "\r\n")
        + "\r\n"
    )
    return received(store, mail(7, "To: support@shop.example", body="See file", files=part))


def test_a_forward_of_a_file_damaged_or_gone_on_disk_queues_nothing(store: Store) -> None:
    """The received file's bytes are read from the data directory: cut short
    there (a full disk, a bad copy), they must not be forwarded as the file."""
    from storage.blobs import blob_path

    got = _with_invoice(store)
    with store.read() as s:
        digest = s.execute(
            select(attachment_t.c.sha256).where(
                attachment_t.c.message_id == got.id, attachment_t.c.filename == "invoice.pdf"
            )
        ).scalar_one()
    path = blob_path(store.data_dir, digest)
    path.write_bytes(PDF[:100])
    with pytest.raises(services.ServiceError, match=r"invoice\.pdf.*damaged") as damaged:
        forward(store, ACCOUNTS, got.id or 0, "ops@example.org", "alice")
    assert "nothing was queued" in str(damaged.value)
    path.unlink()
    with pytest.raises(services.ServiceError, match=r"invoice\.pdf.*not in this host"):
        forward(store, ACCOUNTS, got.id or 0, "ops@example.org", "alice")
    with store.read() as s:
        assert s.execute(select(Message).where(message_t.c.direction == "out")).first() is None


def test_a_reply_to_listing_us_first_answers_its_next_address(store: Store) -> None:
    raw = mail(
        31, "To: support@shop.example", "Reply-To: support@shop.example, Team <team@example.com>"
    )
    got = received(store, raw)
    with store.read() as s:
        conv = s.get(Conversation, got.conversation_id)
    assert conv is not None and conv.their_address == "team@example.com"
