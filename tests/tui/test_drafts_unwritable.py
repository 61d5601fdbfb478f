"""The drafts file cannot be written (a full disk, a read-only data
directory): the composer keeps the text and says so once, the draft mark
still follows the draft, and the file gets the draft once it can be
written again. Before, the save's OSError stopped the console (and the
crash handler's own save failed too: the text was lost)."""

from __future__ import annotations

import errno
import tempfile
from typing import Any

import pytest

from omnitui.tui.app import OmniApp
from omnitui.tui.drafts import Drafts
from omnitui.tui.format import DRAFT_MARK
from tests.tui.conftest import Seeded
from tests.tui.test_flows import open_conversation
from tests.tui.waiting import draft_saved, press, settle

ANN_EMAIL_CONV = 2


@pytest.mark.parametrize(
    ("code", "why"),
    [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")],
    ids=["full", "read-only"],
)
async def test_a_draft_that_cannot_be_saved_stays_in_the_composer(
    app: OmniApp, seeded: Seeded, monkeypatch: pytest.MonkeyPatch, code: int, why: str
) -> None:
    def cannot_write(*args: Any, **kwargs: Any) -> Any:
        raise OSError(code, why)

    monkeypatch.setattr(tempfile, "mkstemp", cannot_write)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = await open_conversation(pilot, ANN_EMAIL_CONV)
        header = screen.query_one("#customer-header")
        await press(pilot, "r", *"half a thought")
        await draft_saved(pilot)
        await press(pilot, *" and more")
        await draft_saved(pilot)
        assert app.is_running and app.return_code is None
        assert screen.composer.current_draft().body == "half a thought and more"
        said = [n.message for n in app._notifications if "draft" in n.message]
        assert len(said) == 1 and why in said[0], said  # once, not at every keystroke
        assert f"{DRAFT_MARK} draft" in str(header.render())
        monkeypatch.undo()  # room again: the next save writes what is there
        screen.composer.save_now()
        on_disk = Drafts(seeded.runtime.data_dir / "drafts.json")
        assert on_disk.get(ANN_EMAIL_CONV).body == "half a thought and more"
