"""The vocabulary is defined once, in storage/vocabulary.py: conversation
statuses, outbox states, channels, delivery states and the default region
(providers/base.py re-exports the provider contract's words). Anywhere
else, a tuple or set spelled out of those words (or the region code itself)
is a second definition that can drift."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from providers.base import CHANNELS, DELIVERY_STATES, Channel, DeliveryState
from storage.vocabulary import (
    CONVERSATION_STATUSES,
    OUTBOX_STATES,
    ConversationStatus,
    OutboxState,
)

ROOT = Path(__file__).resolve().parent.parent
HOMES = {ROOT / "storage" / "vocabulary.py"}
WORDS: dict[str, frozenset[str]] = {
    "conversation statuses": frozenset(CONVERSATION_STATUSES),
    "outbox states": frozenset(OUTBOX_STATES),
    "channels": frozenset(CHANNELS),
    "delivery states": frozenset(DELIVERY_STATES),
}


def sources() -> list[Path]:
    # providers/ is left out: which channels a kind of account carries is
    # that provider's own fact, not a second definition of the words
    return [
        p
        for package in ("omnitui", "storage")
        for p in (ROOT / package).rglob("*.py")
        if p not in HOMES
    ]


def respelled(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.Set | ast.List) and len(node.elts) >= 2:
            values = [
                e.value
                for e in node.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            ]
            if len(values) != len(node.elts):  # not all of them strings
                continue
            for kind, words in WORDS.items():
                if set(values) <= words:
                    found.append((node.lineno, f"{kind} {tuple(values)}"))
        if isinstance(node, ast.Constant) and node.value == "US":
            found.append((node.lineno, "the default region 'US'"))
    return found


def test_the_literals_and_their_named_sets_agree() -> None:
    assert get_args(ConversationStatus) == CONVERSATION_STATUSES
    assert get_args(OutboxState) == OUTBOX_STATES
    assert get_args(Channel) == CHANNELS
    assert get_args(DeliveryState) == DELIVERY_STATES


def test_no_module_spells_the_vocabulary_again() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line}: {what}"
        for path in sources()
        for line, what in respelled(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert problems == []
