"""Split an e-mail body into what is new and the quoted history under it.

``fold_quoted(text) -> (new, history)`` is pure and never raises. Storage
keeps the full body; the UI shows ``new`` and a folded marker for
``history``. The split is at the earliest of:

* an attribution line ("On <date>, <name> wrote:" and the German, French,
  Spanish and Dutch forms; also "<name> wrote:" when a quote follows),
* an Outlook separator ("-----Original Message-----", a line of
  underscores) or an Outlook header block ("From: ..." followed by
  "Sent: ..."/"Date: ..." within a few lines),
* the ``>``-quoted block that runs to the end of the text (quotes with new
  text after them are inline answers and stay visible),
* a signature delimiter ("-- ").

Nothing after a forward marker ("---------- Forwarded message ----------",
"Begin forwarded message:") is folded: a forward is what the customer sends.
When the cut would leave nothing new (a mail that is all quote or all
signature), nothing is folded: the agent must never see an empty message.
"""

from __future__ import annotations

import re

# Attribution lines start with the language's "On"/"Am"/"Le"/"El"/"Op" and end
# with its "wrote:". Anchoring both ends keeps prose such as "On Monday we
# wrote: ..." in the middle of a paragraph from matching (it does not end there).
_ATTRIBUTION = re.compile(
    r"""^\s*(?:
        On\s.{1,300}\swrote\s*:
      | Am\s.{1,300}\sschrieb\b.{0,300}:
      | Le\s.{1,300}\sa\s+écrit\s*:
      | El\s.{1,300}\sescribió\s*:
      | Op\s.{1,300}\sschreef\b.{0,300}:
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
# A bare "<name> wrote:" is only trusted when a quoted block follows it.
_WEAK_ATTRIBUTION = re.compile(
    r"^\s*\S.{0,200}\s(?:wrote|schrieb|a\s+écrit|escribió|schreef)\s*:\s*$", re.IGNORECASE
)
_SEPARATOR = re.compile(
    r"""^\s*(?:
        -{2,}\s*(?:Original\s+Message|Ursprüngliche\s+Nachricht|Message\s+d'origine
                 |Mensaje\s+original|Oorspronkelijk\s+bericht)\s*-{2,}
      | _{20,}
    )\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
# Outlook's header block, possibly bolded by an HTML-to-text conversion.
_HDR_FROM = re.compile(r"^\s*[*_]{0,2}(?:From|Von|De|Van)\s*:[*_]{0,2}\s*\S", re.IGNORECASE)
_HDR_SENT = re.compile(
    r"^\s*[*_]{0,2}(?:Sent|Date|Gesendet|Datum|Envoyé|Enviado|Fecha|Verzonden|Datum)\s*:",
    re.IGNORECASE,
)
# What follows a forward marker is what the customer sends us: never folded.
_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded\s+message|Weitergeleitete\s+Nachricht|Message\s+transféré"
    r"|Mensaje\s+reenviado|Doorgestuurd\s+bericht)\s*-{2,}|Begin\s+forwarded\s+message:)\s*$",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"^\s{0,3}>")
_SIGNATURE = re.compile(r"^-- ?$")
# Wrapped attributions (Gmail breaks long ones) are tried over this many lines.
_WRAP = 3


def fold_quoted(text: str) -> tuple[str, str]:
    """Return ``(new, history)``: ``new`` right-stripped, ``history`` from the
    cut to the end without leading blank lines; ``history`` is ``""`` when
    nothing was folded."""
    lines = text.splitlines()
    cut = _cut_line(lines)
    if cut is None:
        return text.rstrip(), ""
    new = "\n".join(lines[:cut]).rstrip()
    if not new.strip():
        return text.rstrip(), ""
    return new, "\n".join(lines[cut:]).strip("\n")


def _cut_line(lines: list[str]) -> int | None:
    limit = next((i for i, line in enumerate(lines) if _FORWARD.match(line)), len(lines))
    found = (_first_marker(lines), _trailing_quote(lines), _first_signature(lines))
    candidates = [c for c in found if c is not None and c < limit]
    return min(candidates) if candidates else None


def _first_marker(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _QUOTED.match(line) or not line.strip():
            continue
        if _SEPARATOR.match(line):
            return i
        if _HDR_FROM.match(line) and any(_HDR_SENT.match(x) for x in lines[i + 1 : i + 5]):
            return i
        if _ATTRIBUTION.match(line):
            return i
        # A bare "<name> wrote:" or a wrapped attribution could be prose: it
        # counts only when a quoted block comes right after it.
        if _WEAK_ATTRIBUTION.match(line) and _quote_follows(lines, i + 1):
            return i
        for span in range(2, _WRAP + 1):
            wrapped = lines[i : i + span]
            if not all(x.strip() for x in wrapped):
                break
            joined = " ".join(x.strip() for x in wrapped)
            if _ATTRIBUTION.match(joined) and _quote_follows(lines, i + span):
                return i
    return None


def _quote_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _trailing_quote(lines: list[str]) -> int | None:
    """Start of the quoted block that only blank lines follow (or None)."""
    end = len(lines)
    while end > 0 and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and (_QUOTED.match(lines[start - 1]) or not lines[start - 1].strip()):
        start -= 1
    while start < end and not lines[start].strip():
        start += 1
    return start if start < end else None


def _first_signature(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line):
            return i
    return None
