"""Drafts that survive leaving a conversation and quitting the console.

Kept in one small JSON file under the data directory, one draft per
conversation (keyed by its id, ``"12"``): reply and note share the text, the
draft remembers which one it was. The file is replaced atomically (write a
temporary file, then rename) so a crash mid-write never loses what was typed.
Files from before (``"12:reply"``, ``"12:note"``) are read too; nothing typed
there is dropped.

A draft also remembers the newest timeline entry its author had seen
(``seen``, an entry id such as ``message:123``; see
:mod:`omnitui.services.staleness`): set when the composer opens on the
conversation (:meth:`Drafts.look`), kept while the text changes, so a send
can tell what arrived after the author last looked.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

log = logging.getLogger("omnitui.tui.drafts")


MODES = ("reply", "note")


@dataclass(frozen=True)
class Draft:
    body: str = ""
    subject: str = ""
    channel: str | None = None
    mode: str = "reply"  # "reply" | "note": what the text was being written as
    #: the newest timeline entry the author had seen (``message:123``), or None
    seen: str | None = None
    #: the files attached, as (path, size when attached); read when it is sent
    files: tuple[tuple[str, int], ...] = ()
    #: the agent left the signature off this message
    no_signature: bool = False
    #: an e-mail's header lines as typed (widgets/composer_headers.py); they
    #: alone do not make a draft: kept with the text
    to: str = ""
    cc: str = ""
    bcc: str = ""

    @property
    def empty(self) -> bool:
        return not self.body.strip() and not self.subject.strip() and not self.files


def _files(value: object) -> tuple[tuple[str, int], ...]:
    """The ``files`` of a draft as written (pairs of path and size); anything
    else is dropped, never a reason to lose the text."""
    if not isinstance(value, list):
        return ()
    return tuple(
        (str(item[0]), int(item[1]))
        for item in value
        if isinstance(item, list | tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], int)
    )


def _draft(value: dict[str, object], mode: str) -> Draft:
    return Draft(
        body=str(value.get("body") or ""),
        subject=str(value.get("subject") or ""),
        channel=str(value["channel"]) if value.get("channel") else None,
        mode=str(value["mode"]) if value.get("mode") in MODES else mode,
        seen=str(value["seen"]) if isinstance(value.get("seen"), str) else None,
        files=_files(value.get("files")),
        no_signature=value.get("no_signature") is True,
        to=str(value.get("to") or ""),
        cc=str(value.get("cc") or ""),
        bcc=str(value.get("bcc") or ""),
    )


def _merge(first: Draft, second: Draft) -> Draft:
    # an old file's reply and note drafts of one conversation: keep both texts
    if first.empty:
        return second
    if second.empty:
        return first
    return replace(first, body=f"{first.body}\n\n{second.body}")


class Drafts:
    """The drafts file: read once, written whenever a draft changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._drafts: dict[str, Draft] = {}
        #: per conversation, the newest entry its author had seen when they
        #: last looked, also before anything is typed
        self._seen: dict[str, str | None] = {}
        self._loaded = False
        #: why the last write of the file failed (a full disk, a read-only
        #: directory), or None when the file has every draft: the drafts
        #: stay here meanwhile, and the next write tries again
        self.problem: str | None = None

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
            # an old file's "12:reply" is read before its "12:note"
            for key, value in sorted(raw.items(), key=lambda kv: str(kv[0]).endswith(":note")):
                conversation, _, mode = str(key).partition(":")
                if isinstance(value, dict) and conversation.isdigit():
                    draft = _draft(value, mode if mode in MODES else "reply")
                    known = self._drafts.get(conversation)
                    self._drafts[conversation] = _merge(known, draft) if known else draft

    def get(self, conversation_id: int) -> Draft:
        """The draft of ``conversation_id`` (an empty one when there is none)."""
        self._load()
        return self._drafts.get(str(conversation_id), Draft())

    def conversation_ids(self) -> frozenset[int]:
        """The conversations that have a draft."""
        self._load()
        return frozenset(int(key) for key in self._drafts)

    def discard(self, conversation_id: int) -> None:
        """Forget the draft of ``conversation_id``."""
        self.put(conversation_id, Draft())

    def look(self, conversation_id: int, seen: str | None) -> None:
        """The author has looked at the timeline of ``conversation_id`` up to
        entry ``seen``: the draft there (one typed from now on too) remembers it."""
        self._load()
        key = str(conversation_id)
        self._seen[key] = seen
        draft = self._drafts.get(key)
        if draft is not None and draft.seen != seen:
            self._drafts[key] = replace(draft, seen=seen)
            self._save()

    def seen(self, conversation_id: int) -> str | None:
        """The newest entry the author of ``conversation_id``'s draft had seen."""
        self._load()
        key = str(conversation_id)
        if key in self._seen:
            return self._seen[key]
        draft = self._drafts.get(key)
        return draft.seen if draft is not None else None

    def put(self, conversation_id: int, draft: Draft) -> None:
        """Remember ``draft`` (an empty one is forgotten) and write the file if it changed.
        A draft that names no ``seen`` entry keeps the one its author last looked at."""
        self._load()
        key = str(conversation_id)
        before = self._drafts.get(key)
        if draft.seen is None and not draft.empty:
            draft = replace(draft, seen=self.seen(conversation_id))
        if draft.empty:
            self._drafts.pop(key, None)
        else:
            self._drafts[key] = draft
        if self._drafts.get(key) != before or self.problem is not None:
            self._save()

    def _save(self) -> None:
        """Write the file; when it cannot be (OSError), keep the drafts here
        and say why in :attr:`problem` (a full disk must not stop the
        console, nor lose what was typed)."""
        try:
            self._write()
        except OSError as exc:
            self.problem = f"{exc.strerror or exc}"
            log.warning("cannot write drafts to %s: %s", self.path, exc)
        else:
            self.problem = None

    def _write(self) -> None:
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
