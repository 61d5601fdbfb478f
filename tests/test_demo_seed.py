"""The demo as shipped has something for every screen: files, several agents,
a failed send waiting in the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from omnitui.demo import seed_demo
from omnitui.runtime import Runtime, demo_config
from providers.demo import DemoProvider
from storage import queries
from storage.blobs import read_blob
from storage.models import attachment_t


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(config=demo_config("alice"), db_url=db_url, data_dir=tmp_path, demo=True)
    try:
        yield runtime
    finally:
        runtime.close()


def test_the_demo_customers_send_real_files() -> None:
    files = [a for m in DemoProvider("demo").poll({}).messages for a in m.attachments]
    kinds = {a.content_type for a in files}
    assert kinds == {"application/pdf", "image/png", "text/plain"}
    for a in files:
        if a.content_type == "application/pdf":
            assert a.data.startswith(b"%PDF-1.4") and a.data.rstrip().endswith(b"%%EOF")
        if a.content_type == "image/png":
            assert a.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_seeded_demo_has_files_agents_and_a_failed_send(rt: Runtime) -> None:
    assert seed_demo(rt)
    store = rt.store()
    with store.read() as session:
        assignees = set(queries.assignees(session))
        files = session.execute(select(func.count()).select_from(attachment_t)).scalar_one()
        one = session.execute(select(attachment_t.c.sha256).limit(1)).scalar_one()
        waiting = queries.outbox(session)
    assert assignees == {"alice", "bob", "carol"}
    assert files > 0 and read_blob(store.data_dir, one)
    assert [(r.status, r.to) for r in waiting] == [("failed", "returns.fail@example.com")]
    assert not seed_demo(rt)  # once only
