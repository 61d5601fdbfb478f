"""Drafts that survive leaving a conversation and quitting the console.

Kept in one small JSON file under the data directory, keyed by conversation
id and mode (``"12:reply"``, ``"12:note"``), and replaced atomically (write a
temporary file, then rename) so a crash mid-write never loses what was typed.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

log = logging.getLogger("omnitui.tui.drafts")


@dataclass(frozen=True)
class Draft:
    body: str = ""
    subject: str = ""
    channel: str | None = None

    @property
    def empty(self) -> bool:
        return not self.body.strip() and not self.subject.strip()


def draft_key(conversation_id: int, mode: str) -> str:
    return f"{conversation_id}:{mode}"


class Drafts:
    """The drafts file: read once, written whenever a draft changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._drafts: dict[str, Draft] = {}
        self._loaded = False

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # a damaged file must not stop the console; keep it for a person to look at
            log.warning("cannot read drafts from %s: %s", self.path, exc)
            return
        if isinstance(raw, dict):
            for key, value in raw.items():
                if isinstance(value, dict):
                    self._drafts[str(key)] = Draft(
                        body=str(value.get("body") or ""),
                        subject=str(value.get("subject") or ""),
                        channel=str(value["channel"]) if value.get("channel") else None,
                    )

    def get(self, conversation_id: int, mode: str) -> Draft:
        self._load()
        return self._drafts.get(draft_key(conversation_id, mode), Draft())

    def put(self, conversation_id: int, mode: str, draft: Draft) -> None:
        """Remember ``draft`` (an empty one is forgotten) and write the file if it changed."""
        self._load()
        key = draft_key(conversation_id, mode)
        before = self._drafts.get(key)
        if draft.empty:
            self._drafts.pop(key, None)
        else:
            self._drafts[key] = draft
        if self._drafts.get(key) != before:
            self._save()

    def _save(self) -> None:
        data = {key: asdict(d) for key, d in sorted(self._drafts.items())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".drafts-", suffix=".json", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, ensure_ascii=False, indent=1)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
