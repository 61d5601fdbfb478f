"""Which conversation a message belongs to: the thread keys of DESIGN.md.

* email: the root Message-ID of the thread (first of References, else
  In-Reply-To, else the message's own id); a reply whose ancestors are
  unknown falls back to the normalized subject with the same customer.
* SMS / WhatsApp: the pair of numbers, ours and theirs.
* chat: the room or chat id the service gives.
"""

from __future__ import annotations

import re

_REPLY_PREFIX = re.compile(
    r"^\s*((re|fw|fwd|aw|wg|sv|vs|antw|r|rif|tr|odp|ynt|res|enc)\s*(\[\d+\])?\s*:\s*)+",
    re.IGNORECASE,
)
_SPACES = re.compile(r"\s+")

#: How far back a subject-only match may reach.
SUBJECT_WINDOW_DAYS = 30


def normalize_subject(subject: str | None) -> str:
    """``subject`` without reply/forward prefixes in the common languages,
    case-folded with runs of white space collapsed."""
    if not subject:
        return ""
    return _SPACES.sub(" ", _REPLY_PREFIX.sub("", subject)).strip().casefold()


def reply_subject(subject: str | None) -> str:
    """The subject of a reply: ``Re:`` once, never ``Re: Re:``."""
    base = _REPLY_PREFIX.sub("", subject or "").strip()
    return f"Re: {base}" if base else "Re:"


def pair_key(ours: str, theirs: str) -> str:
    return f"{ours}|{theirs}"


def email_root(
    message_id: str | None, in_reply_to: str | None, references: tuple[str, ...]
) -> str | None:
    """The Message-ID that names the thread, as far as the headers tell."""
    if references:
        return references[0]
    return in_reply_to or message_id


def email_ancestors(in_reply_to: str | None, references: tuple[str, ...]) -> list[str]:
    """Every Message-ID this message answers, nearest first."""
    seen: list[str] = []
    for mid in ([in_reply_to] if in_reply_to else []) + list(reversed(references)):
        if mid not in seen:
            seen.append(mid)
    return seen
