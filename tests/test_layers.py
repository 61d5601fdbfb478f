"""The layering of DESIGN.md holds: imports point down only, and the CLI
starts without the heavy modules."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "package",
    ["providers", "providers.base", "storage", "storage.models", "storage.db", "storage.queries"],
)
def test_lower_layers_import_neither_ui_nor_app(package: str) -> None:
    loaded = modules_after(f"import {package}")
    assert not {m for m in loaded if m.split(".")[0] in ("omnitui", "textual")}


def test_storage_knows_nothing_of_providers() -> None:
    loaded = modules_after("import storage.db, storage.models, storage.queries, storage.blobs")
    assert not {m for m in loaded if m.split(".")[0] == "providers"}


def test_cli_starts_without_tui_store_or_sdks() -> None:
    loaded = modules_after("import omnitui.cli")
    heavy = {"textual", "sqlalchemy", "sqlmodel", "twilio", "imapclient", "alembic", "phonenumbers"}
    assert not {m for m in loaded if m.split(".")[0] in heavy}
