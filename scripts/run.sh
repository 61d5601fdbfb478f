#!/usr/bin/env bash
# Install omnitui into ./.venv (once) and run it. With no config file this
# opens the demo: a console on its own demo store with simulated traffic.
#   ./scripts/run.sh                 # the console (the demo when no config exists)
#   ./scripts/run.sh demo            # the demo, explicitly
#   ./scripts/run.sh --help          # every command
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv
stamp=.venv/.omnitui-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing omnitui into .venv ..." >&2
  .venv/bin/pip install --quiet --disable-pip-version-check -e .
  echo "$want" > "$stamp"
fi
exec .venv/bin/omnitui "$@"
