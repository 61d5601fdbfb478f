"""Files sent with a message: read from the agent's paths, checked before
anything is queued, and the "missing attachment?" warning.

Both faces call these: the CLI's ``--attach FILE`` and the console's attach
prompt read files with :func:`read_files` (the console in a worker), and
:func:`~omnitui.services.messages.reply` / ``send_new`` refuse, before the
message is written, files the channel cannot carry (:func:`check_files`):
Twilio takes files only from a public URL, Telegram bots upload at most
50 MB, a mail server takes a bounded message. Nothing is queued then and no
network call is made: the bounds come from the settings
(:attr:`~omnitui.services.base.AccountInfo.limits`), never from the service.

A file is read once, at this point: its bytes are stored with the queued
message (``blob``), in the transaction that queues it, so a retry sends the
same bytes whatever happened to the file since, and a process killed while
queuing leaves neither. They stay once the message is sent or discarded:
the timeline still lists the files, and the store holds the only copy of
what was sent (saving, opening and forwarding read it there); nothing
deletes a blob an attachment row names (tests/test_kill9_files.py).
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

from omnitui.services.base import AccountInfo, InvalidRequest
from omnitui.text import clean_text, sanitize_filename
from providers.base import OutboundAttachment

MB = 1024 * 1024
#: The biggest file kept with a queued message: its bytes go into the store
#: (a PostgreSQL value is at most 1 GB, and every reader of the row pays for
#: it); no channel omnitui sends on takes more (Telegram bots: 50 MB).
MAX_FILE_BYTES = 100 * MB
#: At most this many files in one message.
MAX_FILES = 20

#: What a compressed file's name says it is (``mimetypes`` names the archive
#: inside: ``x.tar.gz`` as ``application/x-tar``, which its bytes are not).
_ENCODED_TYPES = {
    "gzip": "application/gzip",
    "bzip2": "application/x-bzip2",
    "xz": "application/x-xz",
    "compress": "application/x-compress",
    "br": "application/x-brotli",
}


def content_type_for(name: str) -> str:
    """The content type a file's name says (``application/octet-stream``
    when it says none)."""
    kind, encoding = mimetypes.guess_type(name, strict=False)
    if encoding is not None:
        return _ENCODED_TYPES.get(encoding, "application/octet-stream")
    return kind or "application/octet-stream"


def file_name(path: str | os.PathLike[str]) -> str:
    """The name the customer sees for the file at ``path``: its last part,
    without control, escape or bidi characters (``file`` when nothing is left)."""
    return sanitize_filename(os.path.basename(os.fspath(path)), fallback="file")


def shown_path(path: str | os.PathLike[str]) -> str:
    """``path`` as it may be printed in a message (no escape sequences)."""
    return clean_text(os.fspath(path), single_line=True)


def _refuse(path: str | os.PathLike[str], why: str) -> InvalidRequest:
    return InvalidRequest(f"cannot attach {shown_path(path)}: {why}; nothing was queued")


def file_size(path: str | os.PathLike[str]) -> int:
    """The size of the regular file at ``path``, checked as :func:`read_file`
    would take it (never opens it, so a FIFO cannot block)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _refuse(path, "there is no such file") from None
    except OSError as exc:
        raise _refuse(path, exc.strerror or type(exc).__name__) from None
    return _checked_size(path, info)


def _checked_size(path: str | os.PathLike[str], info: os.stat_result) -> int:
    if stat.S_ISDIR(info.st_mode):
        raise _refuse(path, "it is a directory; give the files in it one by one")
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(path, "not a regular file (a pipe, device or socket)")
    if info.st_size > MAX_FILE_BYTES:
        raise _refuse(path, f"it is {_size(info.st_size)}; omnitui sends files up to 100 MB")
    return info.st_size


def read_file(path: str | os.PathLike[str]) -> OutboundAttachment:
    """The file at ``path`` as an attachment; :class:`InvalidRequest`, one line
    for people, when it is missing, unreadable, not a regular file or too big.

    Opened non-blocking, so a FIFO with no writer is refused at once instead
    of hanging, and read to at most :data:`MAX_FILE_BYTES` even if it grows.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise _refuse(path, "there is no such file") from None
    except IsADirectoryError:
        raise _refuse(path, "it is a directory; give the files in it one by one") from None
    except OSError as exc:
        raise _refuse(path, exc.strerror or type(exc).__name__) from None
    try:
        _checked_size(path, os.fstat(fd))
        chunks: list[bytes] = []
        got = 0
        while got <= MAX_FILE_BYTES:
            chunk = os.read(fd, min(MB, MAX_FILE_BYTES + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except OSError as exc:
        raise _refuse(path, exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
    if got > MAX_FILE_BYTES:
        raise _refuse(path, "it grew past 100 MB while it was read")
    name = file_name(path)
    return OutboundAttachment(name, content_type_for(name), b"".join(chunks))


def read_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[OutboundAttachment, ...]:
    """Each file of ``paths`` (see :func:`read_file`), in order; a path naming
    a file already listed (``a.pdf`` and ``./a.pdf``) is read once, as the
    console's prompt attaches a path once."""
    listed = list(paths)
    if len(listed) > MAX_FILES:
        raise InvalidRequest(f"at most {MAX_FILES} files go in one message; nothing was queued")
    unique: dict[str, Path] = {}
    for p in listed:
        path = Path(p).expanduser()
        unique.setdefault(os.path.realpath(path), path)
    return tuple(read_file(path) for path in unique.values())


def _size(n: int) -> str:
    if n >= MB:
        return f"{n / MB:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"


#: Channels whose service refuses an empty upload (Telegram's Bot API:
#: "file must be non-empty"): refused before queuing, not after the text went.
_NO_EMPTY_FILES = frozenset({"telegram"})


def files_refusal(
    info: AccountInfo | None, channel: str, files: Iterable[tuple[str, int]]
) -> str | None:
    """Why files ``(name, size)`` cannot go on ``channel`` of the account
    ``info`` (for people), or ``None`` when they can. Nothing is asked of the
    service: the bounds are the settings' (:attr:`AccountInfo.limits`)."""
    listed = list(files)
    if not listed:
        return None
    if len(listed) > MAX_FILES:
        return f"at most {MAX_FILES} files go in one message"
    for name, size in listed:
        if size > MAX_FILE_BYTES:
            return f"{name} is {_size(size)}; omnitui sends files up to 100 MB"
        if size == 0 and channel in _NO_EMPTY_FILES:
            return f"{name} is empty (0 bytes); {channel} refuses empty files"
    limits = info.limits.get(channel) if info is not None else None
    refusal = limits.refusal(listed) if limits is not None else None
    if limits is None or refusal is None:
        return None
    account = f" from account {info.name}" if info is not None else ""
    if not limits.can_attach:
        return (
            f"{channel}{account} cannot carry files: {refusal}; send the text alone, "
            "or the files on a channel that takes them (e-mail)"
        )
    return f"{channel}{account}: {refusal}"


def check_files(
    info: AccountInfo | None, channel: str, files: Iterable[OutboundAttachment]
) -> None:
    """Refuse (:class:`InvalidRequest`) files that ``channel`` of the account
    ``info`` cannot carry, saying why (:func:`files_refusal`)."""
    why = files_refusal(info, channel, ((f.filename, len(f.data)) for f in files))
    if why is not None:
        raise InvalidRequest(f"{why}. Nothing was queued.")


#: Words that say a file comes with the message (English, German, Spanish,
#: French), as whole words: "detached" and "attachable" do not count.
_MENTIONS = re.compile(
    r"\b(?:attach(?:ed|es|ing|ments?)?|anbei|angeh(?:ä|ae)ngt|adjunt[oa]s?|ci-joint(?:e|s|es)?"
    r"|pi(?:è|e)ces?\s+jointes?)\b",
    re.IGNORECASE,
)


def mentions_attachment(text: str) -> bool:
    """Whether ``text`` says a file is attached (quoted lines, ``> ...``, and a
    signature after ``-- `` do not count)."""
    own: list[str] = []
    for line in text.splitlines():
        if line == "-- ":
            break
        if not line.lstrip().startswith(">"):
            own.append(line)
    return _MENTIONS.search("\n".join(own)) is not None


def missing_attachment(text: str, files: Iterable[object]) -> str | None:
    """The warning to give when ``text`` says a file is attached and no file
    is (``None`` otherwise)."""
    if any(True for _ in files) or not mentions_attachment(text):
        return None
    return "the text mentions an attachment, but no file is attached"
