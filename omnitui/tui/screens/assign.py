"""The assign picker: the team to pick from (see :mod:`omnitui.services.team`), any
name typed, and a second question before a name nobody on the team has
(most often a typo, which would hide the conversation from everyone)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from omnitui.services import team
from omnitui.tui.format import plain
from omnitui.tui.screens.pick import Choice, PickScreen
from storage.queries import ConversationRow

#: what the picker answers: (assignee or None for nobody, confirmed as new)
Answer = tuple[str | None, bool]


def assign_picker(
    conv: ConversationRow | None,
    names: Sequence[str],
    me: str,
    *,
    blink: bool,
    title: str | None = None,
) -> PickScreen[str]:
    """Ask who takes ``conv``: me, the team, nobody, or a typed name ("" = nobody)."""
    choices = [Choice(me, Text(f"me ({plain(me)})", style="bold"))]
    choices += [Choice(name, Text(plain(name))) for name in names if name != me]
    choices.append(Choice("", Text("nobody (unassign)", style="dim")))
    return PickScreen(
        title or f"Assign #{conv.id if conv else '?'} to",
        choices,
        typed=lambda text: text,
        placeholder="type a name, or pick below",
        blink=blink,
        hint="assign",
        moves=True,
    )


def confirm_new(name: str, names: Sequence[str]) -> PickScreen[Answer]:
    """The second question: really assign to ``name``, whom nobody has?"""
    close = team.closest(name, names)
    choices: list[Choice[Answer]] = []
    if close:
        choices.append(Choice((close, False), Text(f"no, assign to {plain(close)}")))
    choices.append(Choice((name, True), Text(f"yes, assign to {plain(name)} (new on the team)")))
    choices.append(Choice((None, False), Text("no, cancel", style="dim")))
    return PickScreen(team.unknown_text(name, names), choices)


def ask(
    open_screen: Callable[..., object],
    conv: ConversationRow | None,
    names: Sequence[str],
    me: str,
    done: Callable[[str | None, bool], None],
    *,
    blink: bool,
    title: str | None = None,
) -> None:
    """Ask who takes ``conv`` (or what ``title`` says: the marked ones) and
    call ``done(assignee, confirmed_new)``;
    nothing is called when the agent cancels. ``open_screen(screen, callback)``
    is ``App.push_screen``."""

    def confirmed(answer: Answer | None) -> None:
        if answer is not None and answer[0] is not None:
            done(answer[0], answer[1])

    def picked(typed: str | None) -> None:
        if typed is None:
            return
        who = team.who(typed, me)
        if who is None:
            done(None, False)
            return
        spelled = team.spelling(who, names)
        if spelled is not None:
            done(spelled, False)
            return
        open_screen(confirm_new(who, names), confirmed)

    open_screen(assign_picker(conv, names, me, blink=blink, title=title), picked)
