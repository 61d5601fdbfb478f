"""What ``conversations show`` tells of WhatsApp's 24-hour window
(:mod:`omnitui.services.whatsapp_window`), kept apart from the command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omnitui.cli.documents import WhatsAppWindow

if TYPE_CHECKING:
    from omnitui.runtime import Runtime


def whatsapp_window_of(rt: Runtime, conversation_id: int) -> tuple[WhatsAppWindow | None, str]:
    """The window of a WhatsApp conversation as a document and in words
    (``None`` and ``""`` on other channels)."""
    from omnitui.services import whatsapp_window

    state = whatsapp_window.conversation_window(rt.store(), conversation_id)
    if state is None:
        return None, ""
    document = WhatsAppWindow(state.open, state.until, state.last_inbound_at)
    return document, whatsapp_window.describe(state)
