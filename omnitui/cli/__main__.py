"""``python -m omnitui.cli``: the same entry point as the ``omnitui`` command."""

from omnitui.cli import main

main()
