"""How the console shows who else is on a conversation (see
:mod:`omnitui.tui.presence`): a short mark before an inbox row's subject,
and words in the customer header ("ann is writing…").

Agent names come from the store, so they are shown as plain text (control
characters stripped, never markup).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.text import Text

from omnitui.tui.format import plain

#: who is where, as the presence check read it: conversation -> [(agent, activity)]
Others = Mapping[int, Sequence[tuple[str, str]]]
#: the inbox marks: someone writes a reply or note here / only looks
COMPOSING_MARK = "✍"
VIEWING_MARK = "◉"
COMPOSING_STYLE = "bold magenta"
VIEWING_STYLE = "cyan"


def _by_agent(who: Sequence[tuple[str, str]]) -> list[tuple[str, bool]]:
    """(agent, composing) once per agent, writers first, then by name."""
    writing: dict[str, bool] = {}
    for agent, activity in who:
        writing[agent] = writing.get(agent, False) or activity == "composing"
    return sorted(writing.items(), key=lambda item: (not item[1], item[0]))


def inbox_mark(who: Sequence[tuple[str, str]]) -> Text:
    """The mark before an inbox row's subject: the first agent (a writer
    before a viewer) and how many more; empty when nobody else is there."""
    agents = _by_agent(who)
    if not agents:
        return Text()
    first, composing = agents[0]
    mark = Text(
        f"{COMPOSING_MARK if composing else VIEWING_MARK}{plain(first)[:10]}",
        style=COMPOSING_STYLE if composing else VIEWING_STYLE,
    )
    if len(agents) > 1:
        mark.append(f"+{len(agents) - 1}", style="dim")
    mark.append(" ")
    return mark


def header_presence(others: Others, current: int | None) -> Text:
    """Who else is on the customer's conversations, for the header:
    ``ann is writing… · bob is viewing #7`` (``#id`` for a conversation other
    than ``current``); empty when nobody is."""
    text = Text()
    seen: set[str] = set()
    ordered = sorted(others.items(), key=lambda item: item[0] != current)
    for conversation_id, who in ordered:
        for agent, composing in _by_agent(who):
            if agent in seen:
                continue
            seen.add(agent)
            if text:
                text.append(" · ", style="dim")
            where = "" if conversation_id == current else f" #{conversation_id}"
            verb = "is writing…" if composing else "is viewing"
            text.append(
                f"{plain(agent)[:20]} {verb}{where}",
                style=COMPOSING_STYLE if composing else VIEWING_STYLE,
            )
    return text
