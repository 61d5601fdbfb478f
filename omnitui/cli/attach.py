"""``--attach FILE`` and ``--no-signature`` of ``send`` and ``reply``: the
files read (by the service's rules) before the store is opened, and the
"missing attachment?" warning on stderr."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from omnitui.cli import output

if TYPE_CHECKING:
    from omnitui.services import Extras


def files_and_signature(text: str, attach: Sequence[Path] | None, no_signature: bool) -> Extras:
    """The files of ``--attach`` read now (an unreadable one is refused with
    its reason; nothing is queued) and the signature choice. Warns on stderr
    when ``text`` says a file is attached and none is; the message still goes."""
    from omnitui.services import Extras
    from omnitui.services.outgoing_files import missing_attachment, read_files

    files = read_files(attach or ())
    if (warning := missing_attachment(text, files)) is not None:
        output.note(f"warning: {warning}; add it with --attach FILE")
    return Extras(files=files, signed=False if no_signature else None)


def resend_files(attach: Sequence[Path] | None, no_signature: bool) -> list[str]:
    """The options that send the same files again (for the saved-text note)."""
    again = [arg for path in attach or () for arg in ("--attach", str(path))]
    return [*again, "--no-signature"] if no_signature else again


def no_files_with_template(template: str | None, attach: Sequence[Path] | None) -> None:
    """A WhatsApp template goes as approved, with no file: ``--attach`` with
    ``--template`` is a usage error, not a file silently left out."""
    from omnitui.cli.common import UserError

    if template is not None and attach:
        raise UserError("a template carries no files: drop --attach (or --template)", 2)
