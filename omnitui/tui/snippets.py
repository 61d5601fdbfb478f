"""Canned responses: templates from the config with ``{customer.name}``-style
variables filled in.

Only ``{noun.attribute}`` placeholders with known values are replaced; anything
else (an unknown variable, a stray brace) is left as written, so a template can
never fail to insert or reach into Python objects the way ``str.format`` could.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{\s*([a-z_]+)\.([a-z_]+)\s*\}")


def snippet_values(customer_name: str, agent: str) -> dict[str, str]:
    """The variables a snippet may use."""
    name = " ".join(customer_name.split())
    first = name.split(" ")[0] if name else ""
    return {
        "customer.name": name,
        "customer.first_name": first,
        "agent.name": agent,
    }


def fill_snippet(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each known ``{noun.attribute}`` replaced by its value."""

    def replace(match: re.Match[str]) -> str:
        key = f"{match.group(1)}.{match.group(2)}"
        return values.get(key, match.group(0))

    return _PLACEHOLDER.sub(replace, template)
