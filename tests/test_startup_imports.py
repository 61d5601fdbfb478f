"""What a fresh ``omnitui`` process imports for a read-only command.

Scripts call ``omnitui conversations list --json`` in loops, so a process's
start is most of a call's cost, and most of the start is imports. These
tests run the command in a new interpreter and check ``sys.modules``
afterwards, rather than timing it (a loaded machine makes any time flaky):
the console, provider SDKs, the e-mail parser, Alembic and the write API's
message machinery stay out of a listing on an up-to-date store. The garbage
collector, paused while a command starts (omnitui.cli.startup), runs again
once the command has its runtime, and after a command that opens none.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from omnitui.services.ingest import ingest
from tests.helpers import batch, email, opened, sms, write_config

#: Modules (or packages) ``conversations list --json`` never needs: the
#: console and its renderer, every provider and SDK, the MIME parser and the
#: HTML converter behind it, the migration tool (an up-to-date store is
#: checked with one SELECT, storage.db.HEAD_REVISION), the write services
#: that queue and send messages.
NOT_FOR_A_LISTING = (
    "textual",
    "rich",
    "omnitui.tui",
    "twilio",
    "nio",
    "aiosmtplib",
    "imapclient",
    "requests",
    "phonenumbers",
    "alembic",
    "html2text",
    "providers.email",
    "providers.email_parse",
    "providers.twilio",
    "providers.telegram",
    "providers.matrix",
    "omnitui.services.messages",
    "omnitui.services.recipients",
    "omnitui.services.outbox",
)

_RUN = """
import json, sys
from omnitui.cli import app
try:
    app(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _run_fresh(tmp_path: Path, *args: str) -> tuple[int, str, set[str]]:
    """``omnitui ARGS`` in a new interpreter: exit code, stdout, modules loaded."""
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(report), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert report.exists(), done.stderr
    found = json.loads(report.read_text())
    return found["code"], done.stdout, set(found["modules"])


def _loaded(modules: set[str], names: tuple[str, ...]) -> set[str]:
    return {name for name in names if any(m == name or m.startswith(f"{name}.") for m in modules)}


def test_conversations_list_json_imports_no_console_sdk_parser_or_alembic(
    tmp_path: Path, _sqlite_template: Path
) -> None:
    path = tmp_path / "store.db"
    shutil.copyfile(_sqlite_template, path)  # migrated: the command finds it up to date
    url = f"sqlite:///{path}"
    with opened(url, tmp_path / "data") as store:
        ingest(store, "shop", batch(email("a1", subject="Refund"), sms("s1", minutes=1)))
    config = write_config(tmp_path, '[agent]\nname = "alice"\n')

    code, stdout, modules = _run_fresh(
        tmp_path, "--config", str(config), "--db", url, "conversations", "list", "--json"
    )

    assert code in (0, None)
    assert len(json.loads(stdout)) == 2  # it did list, with the JSON building
    assert _loaded(modules, NOT_FOR_A_LISTING) == set()


def test_a_new_store_is_still_migrated_by_a_listing(tmp_path: Path) -> None:
    # the fast revision check is not a way around the migrations: an empty
    # file is brought to the newest schema (with Alembic) and then listed
    url = f"sqlite:///{tmp_path / 'new.db'}"
    config = write_config(tmp_path, '[agent]\nname = "alice"\n')

    code, stdout, modules = _run_fresh(
        tmp_path, "--config", str(config), "--db", url, "conversations", "list", "--json"
    )

    assert code in (0, None)
    assert json.loads(stdout) == []
    assert "alembic" in modules


def test_help_imports_no_store_no_pydantic(tmp_path: Path) -> None:
    code, stdout, modules = _run_fresh(tmp_path, "--help")

    assert code in (0, None)
    assert "conversations" in stdout
    heavy = ("sqlalchemy", "sqlmodel", "pydantic", "storage.models", "omnitui.services")
    assert _loaded(modules, (*NOT_FOR_A_LISTING, *heavy)) == set()


_COLLECTOR = """
import gc, json, sys
import omnitui.runtime

made = omnitui.runtime.make_runtime
seen = []


def recording(*args, **kwargs):
    seen.append(gc.isenabled())
    return made(*args, **kwargs)


omnitui.runtime.make_runtime = recording
from omnitui.cli import main

report, sys.argv = sys.argv[1], ["omnitui", *sys.argv[2:]]
try:
    main()
except SystemExit:
    pass
with open(report, "w") as out:
    json.dump({"in_runtime": seen, "after": gc.isenabled(), "frozen": gc.get_freeze_count()}, out)
"""


def _collector_states(tmp_path: Path, *args: str) -> dict[str, object]:
    report = tmp_path / "collector.json"
    done = subprocess.run(
        [sys.executable, "-c", _COLLECTOR, str(report), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert report.exists(), done.stderr
    found: dict[str, object] = json.loads(report.read_text())
    return found


def test_the_collector_runs_again_once_a_command_has_its_runtime(tmp_path: Path) -> None:
    # what a long command (sync --watch, the console) does after this point
    # runs with the collector, as any Python program does
    url = f"sqlite:///{tmp_path / 'new.db'}"
    config = write_config(tmp_path, '[agent]\nname = "alice"\n')

    found = _collector_states(
        tmp_path, "--config", str(config), "--db", url, "conversations", "list", "--json"
    )

    assert found["in_runtime"] == [True]
    assert found["after"] is True
    assert found["frozen"] != 0  # what the start built is never walked again


def test_the_collector_runs_again_after_a_command_without_a_runtime(tmp_path: Path) -> None:
    found = _collector_states(tmp_path, "--help")

    assert found["in_runtime"] == []
    assert found["after"] is True


def test_every_name_the_services_export_resolves_to_its_home() -> None:
    """The lazily exported names (omnitui.services.__getattr__) and ``__all__``
    name the same things, and each is the object its module defines."""
    import importlib

    import omnitui.services as services

    homes = services._HOMES
    assert sorted(homes) == sorted(services.__all__)
    for name, home in homes.items():
        module = importlib.import_module(f"omnitui.services.{home}")
        assert getattr(services, name) is getattr(module, name), name
