"""@mentions in internal notes: who a note names, the ``mention`` rows that
say so, and marking them read.

A note that says ``@bob`` mentions bob when bob is on the team (see
:mod:`omnitui.services.team`: everyone the store has seen at work and the
config's ``[agent] team``). The rules, once for both faces:

* case does not matter (``@Bob`` is bob), and the team's own spelling is kept;
* the longest team name wins (``@ann lee`` is "ann lee", not "ann"), and a
  name ends where a name ends (``@bobby`` is not bob, nor is ``@bob.smith``,
  but ``@bob.`` and ``@bob,`` are);
* an ``@`` inside a word is an e-mail address, never a mention
  (``ann@example.com``, ``bob@ann``), nor is one in a link
  (``https://x.social/@bob``); a possessive ends a name (``@bob's`` is bob);
* escape sequences and control characters are removed before reading
  (:func:`omnitui.text.clean_text`), and a name that holds any is no name;
* the author mentioning themself writes no row: there is nobody to tell.

The rows are written in the transaction that saves the note
(:func:`record_mentions`, called by :func:`omnitui.services.messages.add_note`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlmodel import Session

from omnitui.services.base import NotFound
from omnitui.text import clean_text
from storage import queries
from storage.db import Store
from storage.models import mention_t, utcnow

#: characters that continue a name after it (so ``@bobby`` is not bob)
_JOINERS = ".-'"
#: names that are omnitui itself, not a person (as omnitui.services.team says)
_MACHINES = frozenset({"omnitui", "demo", "seed", "system"})


def _continues(text: str, at: int) -> bool:
    """Whether the name that ends before ``text[at]`` goes on there."""
    if at >= len(text):
        return False
    char = text[at]
    if char.isalnum() or char in "_@":
        return True
    if char in "'\u2019" and text[at + 1 : at + 2] in ("s", "S"):
        # a possessive ends the name: "@bob's reply" is bob, with either apostrophe (' or U+2019)
        return at + 2 < len(text) and text[at + 2].isalnum()
    return char in _JOINERS and at + 1 < len(text) and text[at + 1].isalnum()


def _in_a_link(text: str, at: int) -> bool:
    """Whether the ``@`` at ``text[at]`` is inside a URL (``https://x.social/@bob``)."""
    start = max(text.rfind(" ", 0, at), text.rfind("\n", 0, at), text.rfind("\t", 0, at)) + 1
    word = text[start:at]
    return "://" in word or word.startswith("www.") or word.endswith("/")


def _names(team: Iterable[str]) -> list[str]:
    # a name that needs cleaning cannot be typed, so it cannot be mentioned
    usable = {
        name.strip()
        for name in team
        if name and name.strip() and clean_text(name, single_line=True) == name.strip()
    }
    return sorted(usable - _MACHINES, key=lambda n: (-len(n), n.casefold()))


def mentioned(body: str, team: Iterable[str]) -> list[str]:
    """The team's names ``body`` mentions, as the team spells them, in the
    order they first appear (each once). See the module for the rules."""
    # one spelling of each letter (a note typed as "Zoe" + a combining accent is Zoë)
    text = unicodedata.normalize("NFC", clean_text(body))
    names = [(name, unicodedata.normalize("NFC", name)) for name in _names(team)]
    found: list[str] = []
    at = text.find("@")
    while at != -1:
        before = text[at - 1] if at else " "
        if not (before.isalnum() or before in "_.+-@") and not _in_a_link(text, at):
            for name, spelled in names:
                end = at + 1 + len(spelled)
                if text[at + 1 : end].casefold() == spelled.casefold() and not _continues(
                    text, end
                ):
                    if name not in found:
                        found.append(name)
                    break
        at = text.find("@", at + 1)
    return found


def completions(prefix: str, team: Iterable[str], *, limit: int = 8) -> list[str]:
    """The team's names that start with ``prefix`` (any case), for the
    composer's ``@`` completion: exact prefixes first, alphabetically."""
    folded = prefix.casefold()
    return sorted((n for n in _names(team) if n.casefold().startswith(folded)), key=str.casefold)[
        :limit
    ]


def record_mentions(
    session: Session, note_id: int, author: str, body: str, *, configured: Sequence[str] = ()
) -> list[str]:
    """Write a ``mention`` row for each agent ``body`` names (not the author),
    in the caller's transaction; returns who was mentioned."""
    if "@" not in body:
        return []
    team = [*queries.people(session), *configured]
    names = [n for n in mentioned(body, team) if n.casefold() != author.strip().casefold()]
    now = utcnow()
    for name in names:
        session.execute(mention_t.insert().values(note_id=note_id, agent=name, created_at=now))
    return names


def mark_read(store: Store, agent: str, mention_ids: Sequence[int]) -> list[int]:
    """Mark mentions of ``agent`` read (those already read stay as they were);
    returns the ids. An id that is not a mention of ``agent`` is
    :class:`NotFound`, and then nothing is marked."""
    m = mention_t.c
    wanted = sorted(set(mention_ids))
    with store.write() as session:
        fitting = [i for i in wanted if queries.id_fits(session, i, mention_t)]
        found = set(
            session.execute(select(m.id).where(m.id.in_(fitting), m.agent == agent)).scalars()
        )
        missing = [i for i in wanted if i not in found]
        if missing:
            listed = ", ".join(str(i) for i in missing)
            raise NotFound(f"there is no mention {listed} of {agent} (see `omnitui mentions`)")
        session.execute(
            mention_t.update().where(m.id.in_(wanted), m.read_at.is_(None)).values(read_at=utcnow())
        )
    return wanted


def mark_all_read(store: Store, agent: str) -> list[int]:
    """Mark every unread mention of ``agent`` read; returns their ids."""
    m = mention_t.c
    with store.write() as session:
        ids = sorted(
            session.execute(select(m.id).where(m.agent == agent, m.read_at.is_(None))).scalars()
        )
        if ids:
            session.execute(mention_t.update().where(m.id.in_(ids)).values(read_at=utcnow()))
        return ids
