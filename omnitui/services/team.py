"""Who is on the team: the one rule the assign picker and
``omnitui conversations assign`` both follow.

The team is everyone the store has seen at work (assignees, authors of
messages and notes, people in the audit trail), everyone the config names
in ``[agent] team``, and the agent at the keyboard. Assigning to a name
nobody has is most often a typo (``bbo`` for ``bob``), which would hide the
conversation from everyone's "mine": it is refused unless confirmed.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from omnitui.services import ServiceError, assign
from storage import queries
from storage.db import Store
from storage.fold import same_name
from storage.models import Conversation

#: Names in the audit trail that are omnitui itself, not a person
#: (a snooze waking up, the demo seeding its store, test fixtures).
MACHINE_ACTORS = frozenset({"omnitui", "demo", "seed", "system"})
#: what an agent types for themselves
ME = "me"
#: a refusal names at most this many of the team
NAMES_SHOWN = 12


class UnknownAgent(ServiceError):
    """A name nobody on the team has; the message says how to go ahead."""


def team(store: Store, *, configured: Sequence[str] = (), me: str = "") -> list[str]:
    """The team, alphabetically (``me`` included)."""
    with store.read() as session:
        seen = queries.people(session)
    names = {n.strip() for n in (*seen, *configured, me) if n and n.strip()}
    return sorted(names - MACHINE_ACTORS, key=str.casefold)


def who_left(store: Store, names: Sequence[str], known: Sequence[str]) -> list[str]:
    """Those of ``names`` not on the :func:`team` (``known``) that
    conversations are assigned to, as assigned: an agent who left the team
    (out of ``[agent] team``, no recent work) still has conversations, and a
    query naming them must find them (a view naming them counts them)."""
    missing = [n for n in names if spelling(n, known) is None]
    if not missing:
        return []
    with store.read() as session:
        return queries.assigned_names(session, missing)


def who(name: str | None, me: str) -> str | None:
    """The assignee meant by ``name``: ``me`` is the agent; blank is nobody."""
    cleaned = (name or "").strip()
    if not cleaned:
        return None
    return me if cleaned.lower() == ME else cleaned


def spelling(name: str, known: Sequence[str]) -> str | None:
    """``name`` as ``known`` (the team) spells it ("Bob" is bob, "José" typed
    decomposed is José: :func:`storage.fold.same_name`), or ``None``."""
    return {same_name(n): n for n in known}.get(same_name(name))


def closest(name: str, known: Sequence[str]) -> str | None:
    """The name on the team ``name`` is most likely a typo of, if any."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return close[0] if close else None


def unknown_text(name: str, known: Sequence[str]) -> str:
    """Why ``name`` is refused, and what to do, for people."""
    close = closest(name, known)
    hint = f" Did you mean {close!r}?" if close else ""
    listed = ", ".join(known[:NAMES_SHOWN]) or "nobody yet"
    if len(known) > NAMES_SHOWN:  # one line, also where the team is hundreds strong
        listed += f" and {len(known) - NAMES_SHOWN} more"
    return f"nobody on the team is called {name!r} (the team: {listed}).{hint}"


def member(store: Store, name: str, *, configured: Sequence[str] = (), me: str = "") -> str:
    """``name`` as spelled on the :func:`team` ("Bob" is bob, not a second
    person), or :class:`UnknownAgent` when nobody on it has that name."""
    known = team(store, configured=configured, me=me)
    # an agent who left is still found by their conversations, as a view's
    # assignee:NAME finds them (services.views): one rule for both
    spelled = spelling(name, known) or spelling(name, who_left(store, [name], known))
    if spelled is None:
        raise UnknownAgent(unknown_text(name, known))
    return spelled


def assign_checked(
    store: Store,
    conversation_id: int,
    name: str | None,
    actor: str,
    *,
    configured: Sequence[str] = (),
    allow_new: bool = False,
    expected_version: int | None = None,
) -> Conversation:
    """Assign ``conversation_id`` to ``name`` (``me`` = ``actor``; blank
    unassigns), refusing a name not on the :func:`team` unless ``allow_new``;
    a known name typed in other case is taken as spelled on the team."""
    assignee = who(name, actor)
    if assignee is not None and not allow_new:
        assignee = member(store, assignee, configured=configured, me=actor)
    return assign(store, conversation_id, assignee, actor, expected_version=expected_version)
