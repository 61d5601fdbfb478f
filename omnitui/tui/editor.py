"""Composing in ``$EDITOR`` (``ctrl+e`` in the composer), as aerc and neomutt do.

The draft goes to a private file (0600, in the data directory), an e-mail
with its header lines first::

    To: ann@example.com
    Cc:
    Subject: Re: Refund please

    Hello Ann, ...

then ``$VISUAL`` / ``$EDITOR`` (else ``vi``; split like a shell would, but
run without one) edits it while the console is suspended, and the result comes
back into the composer; the file is deleted. Other channels have no headers:
the file is the body alone.

Reading back never loses text: a header block that is not understood (a
line that is no ``Name: value`` of the headers written, or no blank line
after them) leaves the headers as they were and puts the whole text into the
body. CRLF and lone CR line ends become LF; a header value is one line with
control characters (escape sequences) dropped, as it is sent; the body keeps
everything else as typed. An editor that cannot be started, or exits
non-zero, leaves the draft as it was.

The header lines the composer shows are reached through :class:`HeaderLines`
(get and set a mapping of header name to value), so the widgets holding them
can change without this module knowing.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from textual.app import SuspendNotSupported

if TYPE_CHECKING:
    from textual.app import App
    from textual.widgets import TextArea

#: The e-mail header lines the block offers, in this order, when the
#: composer has them (see :class:`HeaderLines`).
EMAIL_HEADERS = ("To", "Cc", "Bcc", "Subject")

_HEADER = re.compile(r"^([A-Za-z][A-Za-z-]*):[ \t]?(.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_ESCAPE = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")


class HeaderLines(Protocol):
    """The composer's editable header lines (e-mail): which there are, and
    their values by name (``"To"``, ``"Cc"``, ``"Bcc"``, ``"Subject"``)."""

    def names(self) -> tuple[str, ...]:
        """The headers the block offers, in order (none: the file is the body)."""
        ...

    def get(self) -> dict[str, str]:
        """Each header's value as shown."""
        ...

    def set(self, values: Mapping[str, str]) -> None:
        """Show these values (only names of :meth:`names` are given)."""
        ...


@dataclass
class FieldLines:
    """Header lines held by the composer's widgets: per header name a getter
    and a setter of the value shown (``fields``, in the block's order), offered
    while ``offered()`` (the composer shows them). Today's composer offers the
    subject of a new e-mail thread; To/Cc/Bcc widgets plug in the same way::

        FieldLines(self._email_headers, {
            "To": (lambda: self.headers.to, set_to), ...,
            "Subject": (lambda: self.subject.value, set_subject),
        })
    """

    offered: Callable[[], bool]
    fields: Mapping[str, tuple[Callable[[], str], Callable[[str], None]]]

    def names(self) -> tuple[str, ...]:
        return tuple(self.fields) if self.offered() else ()

    def get(self) -> dict[str, str]:
        return {name: read() for name, (read, _write) in self.fields.items()}

    def set(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            if name in self.fields:
                self.fields[name][1](value)


def header_value(value: str) -> str:
    """A header value on one line: escape sequences and control characters
    dropped (a newline would end the header), tabs kept."""
    return _CONTROL.sub("", _ESCAPE.sub("", value.replace("\r\n", " ").replace("\n", " ")))


def write_block(names: tuple[str, ...], headers: Mapping[str, str], body: str) -> str:
    """The file's text: the header lines, a blank line, the body (no headers:
    the body alone)."""
    if not names:
        return body
    lines = [f"{name}: {header_value(headers.get(name, ''))}".rstrip(" ") for name in names]
    return "\n".join(lines) + "\n\n" + body


@dataclass(frozen=True)
class Parsed:
    """What came back from the editor. ``headers`` is ``None`` when the header
    block was not understood (then ``body`` is the whole text)."""

    headers: dict[str, str] | None
    body: str

    @property
    def malformed(self) -> bool:
        return self.headers is None


def read_block(names: tuple[str, ...], text: str) -> Parsed:
    """Split ``text`` as :func:`write_block` wrote it (see the module)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not names:
        return Parsed({}, text)
    head, blank, body = text.partition("\n\n")
    if not blank and text.endswith("\n"):  # headers only, the body emptied
        head, blank, body = text.rstrip("\n"), "\n\n", ""
    if not blank:
        return Parsed(None, text)
    known = {name.lower(): name for name in names}
    headers: dict[str, str] = {}
    last: str | None = None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t") and last is not None:  # a folded header goes on
            headers[last] = f"{headers[last]} {header_value(line).strip()}".strip()
            continue
        match = _HEADER.match(line)
        name = known.get(match.group(1).lower()) if match else None
        if match is None or name is None or name in headers:
            return Parsed(None, text)
        headers[name] = header_value(match.group(2)).strip()
        last = name
    return Parsed(headers, body)


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would
    (``ValueError`` for bad quoting)."""
    env = os.environ if environ is None else environ
    line = (env.get("VISUAL") or "").strip() or (env.get("EDITOR") or "").strip() or "vi"
    argv = shlex.split(line)
    if not argv:
        raise ValueError("the editor command is empty")
    return argv


@dataclass(frozen=True)
class Edited:
    """The outcome of one edit: ``parsed`` when the editor exited 0, else
    ``problem`` says why the draft was left as it was."""

    parsed: Parsed | None = None
    problem: str | None = None


def edit_text(
    text: str,
    *,
    names: tuple[str, ...],
    directory: Path | None,
    suspended: Callable[[], AbstractContextManager[object]] = nullcontext,
    environ: Mapping[str, str] | None = None,
) -> Edited:
    """Let the agent's editor change ``text`` (a header block when ``names``)
    in a private file under ``directory`` (else the system's temp dir), run
    inside ``suspended()`` (the console's ``App.suspend``); the file is
    deleted whatever happens."""
    try:
        argv = editor_command(environ)
    except ValueError as exc:
        return Edited(problem=f"$VISUAL/$EDITOR cannot be read ({exc}): the draft is unchanged")
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = ".eml" if names else ".txt"  # editors colour a mail's headers
    fd, name = tempfile.mkstemp(prefix="omnitui-draft-", suffix=suffix, dir=directory)
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
        try:
            with suspended():
                code = subprocess.run([*argv, str(path)], check=False).returncode
        except OSError as exc:
            return Edited(problem=f"cannot run the editor {argv[0]!r} ({exc.strerror or exc})")
        if code != 0:
            return Edited(
                problem=f"the editor {argv[0]!r} exited with status {code}: the draft is unchanged"
            )
        try:
            edited = path.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError as exc:
            return Edited(problem=f"cannot read the edited draft back ({exc.strerror or exc})")
        # bytes that are not UTF-8 become U+FFFD rather than failing the whole edit
        edited = edited.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return Edited(parsed=read_block(names, edited))
    finally:
        path.unlink(missing_ok=True)


def edit_draft(
    app: App[object],
    body: TextArea,
    header_lines: HeaderLines,
    names: tuple[str, ...],
    directory: Path,
) -> None:
    """The composer's ``ctrl+e``: its ``body`` (and ``names`` of its
    ``header_lines``) edited in the agent's editor while ``app`` is suspended;
    what comes back is shown, or the agent is told why nothing changed."""

    def suspended() -> AbstractContextManager[object]:
        # a headless console (the tests) has no terminal to hand over
        return nullcontext() if app.is_headless else app.suspend()

    text = write_block(names, header_lines.get(), body.text)
    try:
        edited = edit_text(text, names=names, directory=directory, suspended=suspended)
    except SuspendNotSupported as exc:
        edited = Edited(problem=f"cannot hand the terminal to an editor here ({exc})")
    if edited.parsed is None:
        app.notify(edited.problem or "not edited", severity="warning", markup=False)
        return
    parsed = edited.parsed
    if parsed.headers:
        header_lines.set(parsed.headers)
    if parsed.body != body.text:
        body.load_text(parsed.body)
        body.move_cursor(body.document.end)
    body.focus()
    if parsed.malformed:
        app.notify(
            "The header lines were not understood: the whole text is in the body, "
            "the headers are as they were.",
            severity="warning",
            markup=False,
        )
