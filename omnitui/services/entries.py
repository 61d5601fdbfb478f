"""A timeline entry's id as both faces write it: ``message:123``, ``note:45``.

The stale-send guard (:mod:`omnitui.services.staleness`) names the newest
entry a person or script had seen this way: ``conversations show --json``
gives it as ``latest_entry``, ``reply --if-latest`` takes it back, and a
console draft keeps it. One type, parsed and written in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from omnitui.services.base import InvalidRequest

EntryKind = Literal["message", "note"]
ENTRY_KINDS: tuple[EntryKind, ...] = ("message", "note")
#: ids above this fit no engine's id column (PostgreSQL's bigint)
_ID_MAX = 2**63 - 1
_SHAPE = re.compile(r"(message|note):([1-9][0-9]{0,18})")


@dataclass(frozen=True)
class EntryId:
    """A message or a note of a customer's timeline."""

    kind: EntryKind
    id: int

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> EntryId:
        """``message:123`` or ``note:45`` as an :class:`EntryId`; anything else
        is an :class:`InvalidRequest` saying what is expected."""
        found = _SHAPE.fullmatch(text.strip())
        if found is None or int(found[2]) > _ID_MAX:
            shown = text if len(text) <= 40 else text[:40] + "…"
            raise InvalidRequest(
                f"not a timeline entry: {shown!r}; write message:ID or note:ID "
                "(as `conversations show ID --json` gives latest_entry)"
            )
        return cls(cast(EntryKind, found[1]), int(found[2]))

    @classmethod
    def maybe(cls, text: str | None) -> EntryId | None:
        """:meth:`parse` for a value that may be absent or damaged (a draft's
        mark written by another version): ``None`` instead of an error."""
        if not text:
            return None
        try:
            return cls.parse(text)
        except InvalidRequest:
            return None
