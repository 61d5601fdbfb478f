"""How the mentions look: the inbox's unread line and the mentions screen,
at the smallest supported size and a comfortable one (fixed times, a frozen
clock; update with ``--snapshot-update`` after a deliberate change)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from textual.pilot import Pilot

from omnitui import services
from omnitui.tui.app import OmniApp
from omnitui.tui.screens.mentions import MentionsScreen
from storage.models import mention_t
from tests.tui.conftest import ANN_EMAIL_CONV, BOB_CONV, NOW, Seeded, SnapCompare, make_test_app
from tests.tui.pilots import settle, until

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def mentioned(seeded: Seeded) -> OmniApp:
    store = seeded.store
    services.assign(store, BOB_CONV, "alice", "bob")
    services.add_note(store, "bob", "@alice look at the refund", conversation_id=BOB_CONV)
    services.add_note(
        store,
        "bob",
        "@Alice call her back today, she is upset about the parcel",
        conversation_id=ANN_EMAIL_CONV,
    )
    with store.write() as session:  # fixed times: the clock is frozen at NOW
        for n in (1, 2):
            session.execute(
                mention_t.update()
                .where(mention_t.c.id == n)
                .values(created_at=NOW - timedelta(minutes=30 - n))
            )
    return make_test_app(seeded.runtime)


async def counted(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, OmniApp)
    await until(pilot, lambda: app.alerts.unread == 2, "the unread count")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_inbox_with_unread_mentions(
    snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]
) -> None:
    assert snap_compare(mentioned(seeded), terminal_size=size, run_before=counted)


@pytest.mark.parametrize("size", SIZES)
def test_mentions_screen(snap_compare: SnapCompare, seeded: Seeded, size: tuple[int, int]) -> None:
    async def listed(pilot: Pilot[None]) -> None:
        await counted(pilot)
        await pilot.press("@")
        await until(
            pilot, lambda: isinstance(pilot.app.screen, MentionsScreen) and pilot.app.screen.loaded
        )
        await settle(pilot)

    assert snap_compare(mentioned(seeded), terminal_size=size, run_before=listed)
