"""IMAP sync speed against a bare imapclient fetch of the same mail.

Starts a throwaway Dovecot (``tests/dovecot.py``), writes N messages into
the user's maildir directly (plain text, HTML alternatives, replies in
threads, a few attachments; 1-6 kB), then in the same run: (floor) an
imapclient loop that fetches every message (``BODY.PEEK[]``, batches of
200, as the provider does) without parsing or storing, and (omnitui)
``sync_once`` of an e-mail account into an empty SQLite store. Prints
messages/s of both and the ratio (target >= 0.5).

    .venv/bin/python benchmarks/imap_sync.py [--messages 5000]
"""

from __future__ import annotations

import argparse
import os
import pwd
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.seed import ANSWERS, SENTENCES, TOPICS
from benchmarks.table import Figure, print_table
from omnitui.services.sync import sync_once
from providers.email import FETCH_BATCH, EmailProvider
from providers.settings import ImapSettings
from storage.db import open_store
from tests.peers.dovecot import DovecotServer

USER, PASSWORD = "bench", "bench-password"
SUPPORT = "support@shop.example"


def _messages(n: int, seed: int = 1) -> list[bytes]:
    rng = random.Random(seed)
    t0 = datetime.now(UTC) - timedelta(days=20)
    threads: dict[int, str] = {}
    out = []
    for i in range(n):
        customer = rng.randrange(max(n // 5, 1))
        msg = EmailMessage()
        msg["From"] = f"Customer {customer} <customer{customer}@example.com>"
        msg["To"] = SUPPORT
        msg["Date"] = format_datetime(t0 + timedelta(minutes=5 * i))
        msg["Message-ID"] = make_msgid(f"m{i}", "bench.example")
        topic = rng.choice(TOPICS)
        if customer in threads and rng.random() < 0.6:
            msg["Subject"] = f"Re: {topic}"
            msg["In-Reply-To"] = threads[customer]
            msg["References"] = threads[customer]
        else:
            msg["Subject"] = f"{topic} {i}"
        threads[customer] = msg["Message-ID"]
        text = "\n\n".join(
            " ".join(rng.choice(SENTENCES) for _ in range(rng.randrange(2, 8)))
            for _ in range(rng.randrange(1, 6))
        )
        text += "\n\n> " + rng.choice(ANSWERS) + "\n\n-- \nSent from my phone"
        msg.set_content(text)
        if i % 3 == 0:
            paragraphs = "".join(f"<p>{p}</p>" for p in text.split("\n\n"))
            msg.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        if i % 25 == 0:
            msg.add_attachment(
                rng.randbytes(2048), maintype="application", subtype="pdf", filename=f"inv{i}.pdf"
            )
        out.append(bytes(msg))
    return out


def _fill_maildir(server: DovecotServer, raws: list[bytes]) -> None:
    """Write the messages as new mail; Dovecot numbers them on first sight."""
    home = server.root / "mail" / USER
    for sub in ("cur", "new", "tmp"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    now = int(time.time())
    for n, raw in enumerate(raws):
        (home / "new" / f"{now}.M{n}P1.bench").write_bytes(raw)
    owner = pwd.getpwnam("dovecot")
    for path in [home, *home.rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid)


def _bare_fetch(server: DovecotServer) -> int:
    from imapclient import IMAPClient

    with IMAPClient(server.host, server.port, ssl=False) as client:
        client.login(USER, PASSWORD)
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search(["ALL"]))
        fetched = 0
        for start in range(0, len(uids), FETCH_BATCH):
            part = uids[start : start + FETCH_BATCH]
            fetched += len(client.fetch(part, ["BODY.PEEK[]", "INTERNALDATE"]))
    return fetched


def measure(messages: int = 5_000) -> Figure:
    server = DovecotServer()
    server.start()
    try:
        server.add_user(USER, PASSWORD)
        _fill_maildir(server, _messages(messages))
        _bare_fetch(server)  # Dovecot indexes the new mail once, for both
        start = time.perf_counter()
        fetched = _bare_fetch(server)
        floor = fetched / (time.perf_counter() - start)
        settings = ImapSettings(
            name="mail",
            host=server.host,
            port=server.port,
            security="none",
            username=USER,
            password_env="UNUSED",
            from_address=f"Support <{SUPPORT}>",
            smtp_host="127.0.0.1",
            smtp_security="none",
        )
        provider = EmailProvider("mail", settings, {"password": PASSWORD})
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(f"sqlite:///{tmp}/imap.db", Path(tmp))
            start = time.perf_counter()
            stored = sync_once(store, provider).stored  # polls until nothing is left
            ours = stored / (time.perf_counter() - start)
            store.close()
        provider.close()
    finally:
        server.cleanup()
    assert fetched == messages and stored == messages, (fetched, stored)
    return Figure(
        f"IMAP sync --once, {messages:,} mails",
        ours,
        floor,
        "msg/s",
        min_ratio=0.5,
        floor_is="bare imapclient fetch of the same mail (BODY.PEEK[], batches of 200)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    args = parser.parse_args()
    print_table([measure(args.messages)])


if __name__ == "__main__":
    main()
