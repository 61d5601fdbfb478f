#!/usr/bin/env bash
# Install everything the tests need, then run lint, types and the whole suite.
#   ./scripts/test.sh                    # everything
#   ./scripts/test.sh tests/test_cli.py  # only some tests (still linted first)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv
stamp=.venv/.omnitui-test-installed
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing omnitui with its test dependencies into .venv ..." >&2
  .venv/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
  echo "$want" > "$stamp"
fi
scripts/install-test-deps.sh

echo "== ruff" >&2
.venv/bin/ruff check omnitui providers storage tests benchmarks
.venv/bin/ruff format --check omnitui providers storage tests benchmarks
echo "== mypy --strict" >&2
.venv/bin/mypy
echo "== import contracts (layering)" >&2
.venv/bin/lint-imports --no-cache
echo "== pytest" >&2
.venv/bin/pytest -n auto -q "$@"
