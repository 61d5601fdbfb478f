"""Account health, always on screen: last good poll, last error, and what
waits in or failed from the outbox, per account; first of all, when the store
itself cannot serve (locked, read-only, full, its server down), that."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from omnitui.tui.clock import Clock
from omnitui.tui.format import duration, plain
from storage.queries import AccountHealth
from storage.vocabulary import OUTBOX_IN_PROGRESS, OUTBOX_NEEDS_PERSON

POLLED_ELSEWHERE = "polled by another process"
SECRET_MISSING = "secret missing"  # noqa: S105 - a label, not a secret


def health_text(
    health: Sequence[AccountHealth], clock: Clock, polling: Mapping[str, str] | None = None
) -> Text:
    """One line for all accounts, e.g. ``demo ok 12s ago · outbox 1 waiting, 2 failed``.

    ``polling`` says, per account, why this console does not poll it
    ("polled by another process", "secret missing").
    """
    polling = polling or {}
    text = Text()
    if not health:
        return Text("no accounts configured: run `omnitui init`", style="dim")
    for n, h in enumerate(health):
        if n:
            text.append("  |  ", style="dim")
        text.append(plain(h.account), style="bold")
        note = polling.get(h.account)
        if note is not None:
            text.append(f" {note} ·", style="dim" if note == POLLED_ELSEWHERE else "yellow")
        failing = h.last_error is not None and (
            h.last_success_at is None
            or (h.last_error_at is not None and h.last_error_at >= h.last_success_at)
        )
        if failing:
            text.append(" ERROR ", style="bold reverse red")
            text.append(f" {plain(h.last_error)[:60]}", style="red")
        elif h.last_success_at is not None:
            age = duration(clock.now() - h.last_success_at)
            text.append(" ok just now" if age == "now" else f" ok {age} ago", style="green")
        else:
            text.append(" not polled yet", style="dim")
        waiting = sum(h.outbox.get(s, 0) for s in OUTBOX_IN_PROGRESS)
        failed = sum(h.outbox.get(s, 0) for s in OUTBOX_NEEDS_PERSON)
        if waiting:
            text.append(f" · {waiting} waiting", style="yellow")
        if failed:
            text.append(f" · {failed} failed", style="bold red")
    return text


def store_text(problem: str) -> Text:
    """The line's head while the store cannot serve: what happened, in short."""
    text = Text(" STORE UNAVAILABLE ", style="bold reverse red")
    text.append(f" {plain(problem)[:70]}", style="red")
    text.append("  |  ", style="dim")
    return text


class AccountBar(Static):
    """The health line; the app calls :meth:`show` after each poll and check,
    and :meth:`show_problem` when the store stops or starts serving."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.problem: str | None = None
        self._last: tuple[Sequence[AccountHealth], Clock, Mapping[str, str] | None] | None = None

    def show(
        self,
        health: Sequence[AccountHealth],
        clock: Clock,
        polling: Mapping[str, str] | None = None,
    ) -> None:
        self._last = (health, clock, polling)
        line = health_text(health, clock, polling)
        self.update(line if self.problem is None else store_text(self.problem) + line)

    def show_problem(self, problem: str | None) -> None:
        """The store cannot serve (``problem`` says why), or serves again (None)."""
        if problem == self.problem:
            return
        self.problem = problem
        if self._last is not None:
            self.show(*self._last)
        elif problem is not None:
            self.update(store_text(problem))
