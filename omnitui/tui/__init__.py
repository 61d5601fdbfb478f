"""The Textual console: inbox, customer view, composer (see DESIGN.md, "TUI").

Nothing here runs at import time; :func:`omnitui.tui.app.make_app` builds the app.
"""
