"""Tags as the console shows them: cleaned like every outside string (a tag
is typed by any agent or script, so it may carry Rich markup or escape
sequences), cut short, and drawn as ``#billing`` labels."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text

from omnitui.tui.format import plain

#: A tag longer than this is cut (with an ellipsis) where it is listed.
TAG_CELLS = 20
#: Tags shown in a row or header line before "+N".
SHOWN_TAGS = 3
TAG_STYLE = "cyan"


def shown_tag(tag: str) -> str:
    """``tag`` on one line, without control characters, cut to :data:`TAG_CELLS`."""
    text = plain(tag)
    return text if len(text) <= TAG_CELLS else text[: TAG_CELLS - 1] + "…"


#: A customer's tags (shown on each of their conversations) are told apart.
CUSTOMER_TAG_STYLE = "italic cyan"


def tag_labels(
    tags: Iterable[str], *, customer: Iterable[str] = (), most: int = SHOWN_TAGS
) -> Text:
    """``#a #b #c +2``: the first ``most`` tags (the conversation's, then its
    customer's in italics), then how many more."""
    own = list(tags)
    theirs = [t for t in customer if t not in own]
    every = [(t, TAG_STYLE) for t in own] + [(t, CUSTOMER_TAG_STYLE) for t in theirs]
    text = Text()
    for n, (tag, style) in enumerate(every[:most]):
        if n:
            text.append(" ")
        text.append(f"#{shown_tag(tag)}", style=style)
    if len(every) > most:
        text.append(f" +{len(every) - most}", style="dim")
    return text
