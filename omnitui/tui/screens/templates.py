"""Picking a WhatsApp template (``ctrl+t`` on WhatsApp), in three steps of
the one picker (:mod:`omnitui.tui.screens.pick`): which template, a value for
each of its variables (prefilled like snippets: a variable called ``name``
gets the customer's name), then the text the customer will read, to send or
cancel. The checks are the service's (:func:`whatsapp_window.choose_template`),
so the console and ``omnitui reply --template`` refuse the same things.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.text import Text
from textual.app import App

from omnitui.services import AccountInfo, InvalidRequest, whatsapp_window
from omnitui.services.whatsapp_window import ChosenTemplate
from omnitui.tui.format import plain
from omnitui.tui.screens.pick import Choice, PickScreen
from omnitui.tui.snippets import snippet_values
from providers.settings import TwilioTemplate

#: variable names prefilled, and with which snippet value
PREFILLED = {
    "name": "customer.name",
    "customer": "customer.name",
    "customer_name": "customer.name",
    "first_name": "customer.first_name",
    "firstname": "customer.first_name",
    "agent": "agent.name",
    "agent_name": "agent.name",
}


def prefill(variable: str, values: Mapping[str, str]) -> str:
    """What a variable's prompt starts with (empty when nothing fits)."""
    key = variable.strip().lower().replace(".", "_").replace("-", "_")
    if key.startswith("customer_") and key != "customer_name":
        key = key.removeprefix("customer_")
    return values.get(PREFILLED.get(key, ""), "")


def template_label(template: TwilioTemplate) -> Text:
    label = Text(plain(template.name), style="bold")
    wording = template.text or f"(variables: {', '.join(template.variables) or 'none'})"
    label.append(f"  {plain(wording)[:60]}", style="dim")
    return label


def pick_template(
    app: App[object],
    info: AccountInfo,
    *,
    customer_name: str,
    agent: str,
    chosen: Callable[[ChosenTemplate], None],
    choices: Sequence[TwilioTemplate] | None = None,
) -> None:
    """Ask which of ``info``'s templates, its variables and whether to send it;
    ``chosen`` gets the filled template once the agent says send."""
    values = snippet_values(customer_name, agent)
    offered = list(choices if choices is not None else info.templates)

    def picked(template: TwilioTemplate | None) -> None:
        if template is not None:
            ask(template, 0, {})

    def ask(template: TwilioTemplate, at: int, filled: dict[str, str]) -> None:
        if at == len(template.variables):
            confirm(template, filled)
            return
        variable = template.variables[at]

        def answered(value: str | None) -> None:
            if value is not None:
                ask(template, at + 1, {**filled, variable: value})

        app.push_screen(
            PickScreen(
                f"Template {template.name}: {{{{{variable}}}}} ({at + 1} of "
                f"{len(template.variables)})",
                typed=lambda text: text or None,
                initial=prefill(variable, values),
                placeholder=f"the value of {{{{{variable}}}}}",
                hint="next",
            ),
            answered,
        )

    def confirm(template: TwilioTemplate, filled: dict[str, str]) -> None:
        try:
            ready = whatsapp_window.choose_template(info, template.name, filled)
        except InvalidRequest as exc:
            app.notify(str(exc), title="Not done", severity="error", markup=False)
            return
        shown = Text("send: ", style="bold")
        shown.append(plain(ready.body()))

        def sure(yes: bool | None) -> None:
            if yes:
                chosen(ready)

        app.push_screen(
            PickScreen(
                f"Send template {ready.name}? The customer reads:",
                [Choice(True, shown), Choice(False, Text("no, cancel"))],
                hint="choose",
            ),
            sure,
        )

    app.push_screen(
        PickScreen(
            "Pick a WhatsApp template",
            [Choice(t, template_label(t)) for t in offered],
            hint="fill in",
        ),
        picked,
    )
