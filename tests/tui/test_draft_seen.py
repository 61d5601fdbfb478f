"""A draft remembers the newest timeline entry its author had seen (the
stale-send guard's mark): set by a look, kept while the text changes,
written with the draft and read back after a restart."""

from __future__ import annotations

import json
from pathlib import Path

from omnitui.tui.drafts import Draft, Drafts


def test_the_mark_of_a_look_goes_with_the_draft_typed_after_it(tmp_path: Path) -> None:
    drafts = Drafts(tmp_path / "drafts.json")
    drafts.look(12, "message:7")  # the composer opened: nothing typed yet
    assert drafts.seen(12) == "message:7"
    assert not (tmp_path / "drafts.json").exists()
    drafts.put(12, Draft(body="Hello"))
    drafts.put(12, Draft(body="Hello Ann"))  # the composer never names the mark
    assert drafts.get(12).seen == "message:7"
    assert json.loads((tmp_path / "drafts.json").read_text())["12"]["seen"] == "message:7"
    drafts.look(12, "note:3")  # looked again (back to edit after a held send)
    again = Drafts(tmp_path / "drafts.json")  # a restart
    assert again.seen(12) == "note:3" and again.get(12).body == "Hello Ann"


def test_a_file_from_before_has_no_mark(tmp_path: Path) -> None:
    path = tmp_path / "drafts.json"
    path.write_text(json.dumps({"5": {"body": "old", "mode": "reply"}}), encoding="utf-8")
    drafts = Drafts(path)
    assert drafts.get(5) == Draft(body="old") and drafts.seen(5) is None
