"""Filling the demo store: the demo provider's backlog plus a team's traces.

``omnitui demo`` calls :func:`seed_demo` before opening the console. On a new
demo store it polls the demo account (a few dozen customers' threads), then
leaves what a team would: internal notes, assignments to several agents,
states and a send that failed, so every screen has something to show (the
demo's customers also send files). On an already seeded store it does nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from omnitui import services
from omnitui.services import outbox
from omnitui.services.sync import sync_once
from storage.models import note_t, utcnow
from storage.queries import list_conversations

if TYPE_CHECKING:
    from omnitui.runtime import Runtime

TEAM = ("alice", "bob", "carol")
NOTES = (
    "Called back on the phone; customer prefers e-mail from now on.",
    "VIP account - answer within the hour, please.",
    "Refund approved by finance (ticket FIN-2291).",
    "Sent a replacement; tracking number in the shipping tool.",
)


def seed_demo(rt: Runtime) -> bool:
    """Seed the demo store once; returns whether anything was added."""
    store = rt.store()
    with store.read() as session:
        if session.execute(select(func.count()).select_from(note_t)).scalar_one():
            return False
    sync_once(store, rt.provider(rt.accounts[0].name), default_region=rt.default_region)
    with store.read() as session:
        convs = list_conversations(session, view="all", limit=40)
    team = tuple(dict.fromkeys((rt.agent, *TEAM)))
    for n, conv in enumerate(convs):
        if n % 3 == 0:  # every third conversation, to each of the team in turn
            services.assign(store, conv.id, team[(n // 3) % len(team)], "demo")
        if n % 7 == 3:
            services.set_status(store, conv.id, "pending", "demo")
        elif n % 7 == 5:
            services.set_status(store, conv.id, "resolved", "demo")
        elif n % 11 == 6:
            services.set_status(
                store, conv.id, "snoozed", "demo", snoozed_until=utcnow() + timedelta(days=1)
            )
        if n < len(NOTES):
            services.add_note(store, TEAM[n % 2], NOTES[n], conversation_id=conv.id)
    _failed_send(rt)
    return True


def _failed_send(rt: Runtime) -> None:
    """One message the demo provider refuses, so the outbox (O) has something
    to retry, edit, re-address or discard."""
    store = rt.store()
    provider = rt.provider(rt.accounts[0].name)
    message_id = services.send_new(
        store,
        rt.account_infos(),
        channel="email",
        to="returns.fail@example.com",
        subject="Your return label",
        body="Hi, your return label is attached to your account: print it from there.",
        author=TEAM[1],
    )
    outbox.deliver(store, provider, message_id)
