"""Attachments: shown with their message, saved as files under a safe name,
never over an existing file; on both engines, from the CLI too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omnitui.services.attachments import AttachmentError, save_attachment
from omnitui.services.ingest import ingest
from providers.base import InboundAttachment
from storage import queries
from storage.blobs import blob_path
from storage.db import Store
from tests.helpers import batch, cli_runner, email, write_config

PDF = b"%PDF-1.4 invoice 1042"


def seed(store: Store) -> int:
    files = (
        InboundAttachment("../../etc/invoice 1042.pdf", "application/pdf", PDF),
        InboundAttachment("photo.jpg", "image/jpeg", b"\xff\xd8\xff jpeg"),
    )
    ingest(store, "shop", batch(email("m1", attachments=files), email("m2", minutes=5)))
    with store.read() as s:
        (customer,) = queries.list_customers(s)
    return customer.id


def test_the_timeline_carries_each_messages_files(store: Store) -> None:
    customer = seed(store)
    with store.read() as s:
        entries = queries.timeline(s, customer)
    assert [[a.filename for a in e.attachments] for e in entries] == [
        ["invoice 1042.pdf", "photo.jpg"],  # the stored name is already made safe
        [],
    ]
    assert entries[0].attachments[0].size == len(PDF)


def test_saving_never_overwrites(store: Store, tmp_path: Path) -> None:
    customer = seed(store)
    with store.read() as s:
        pdf = queries.timeline(s, customer)[0].attachments[0]
    first = save_attachment(store, pdf, tmp_path / "out")
    second = save_attachment(store, pdf, tmp_path / "out")
    assert (first.name, second.name) == ("invoice 1042.pdf", "invoice 1042 (2).pdf")
    assert first.read_bytes() == second.read_bytes() == PDF


def test_a_lost_blob_is_a_clear_error(store: Store, tmp_path: Path) -> None:
    customer = seed(store)
    with store.read() as s:
        pdf = queries.timeline(s, customer)[0].attachments[0]
    blob_path(store.data_dir, pdf.sha256).unlink()
    with pytest.raises(AttachmentError, match="missing from the data directory"):
        save_attachment(store, pdf, tmp_path)


def test_cli_shows_and_saves_attachments(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = seed(store)
    monkeypatch.setenv("OMNITUI_DATA_DIR", str(store.data_dir))  # where the files went
    cli = cli_runner(write_config(tmp_path, '[agent]\nname = "alice"\n'), db_url)

    def run(*args: str, code: int = 0) -> str:
        result = cli(*args, code=code)
        return result.stdout if code == 0 else result.stderr

    shown = json.loads(run("customers", "show", str(customer), "--json"))
    files = [a for e in shown["timeline"] for a in e["attachments"]]
    assert [(a["filename"], a["content_type"]) for a in files] == [
        ("invoice 1042.pdf", "application/pdf"),
        ("photo.jpg", "image/jpeg"),
    ]
    saved = json.loads(
        run("attachments", "save", str(files[0]["id"]), "--to", str(tmp_path), "--json")
    )
    assert Path(saved["path"]).read_bytes() == PDF and saved["size"] == len(PDF)
    assert "no attachment 999" in run("attachments", "save", "999", code=1)
