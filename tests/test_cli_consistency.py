"""The CLI is one tool: the same kind of error exits with the same code in
every command, as one line on stderr and, with --json, as a JSON error object
on stdout; tables stay readable at 80 columns; a --to directory is not made
up. Store tests run on both engines (the ``db_url`` / ``store`` fixtures)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from omnitui.services.ingest import ingest
from providers.base import InboundAttachment
from storage import queries
from storage.db import Store
from tests.faults import run_cli, seeded_sqlite
from tests.helpers import Run, batch, cli_runner, email, write_config


@pytest.fixture
def cli(tmp_path: Path, db_url: str) -> Run:
    """The CLI on a store holding customer 1 with conversation 1 and message 1
    (an SMS that was sent, so not retryable), customer 2 merged into 1, and
    no attachment."""
    run = cli_runner(write_config(tmp_path), db_url)
    for n, number in enumerate(("+14155550100", "+14155550102"), start=1):
        sent = json.loads(
            run("send", "--channel", "sms", "--to", number, "--body", "Hi", "--json").stdout
        )
        assert (sent["id"], sent["customer_id"], sent["conversation_id"]) == (n, n, n)
    run("customers", "merge", "1", "2")
    return run


# the CLI's errors, not the first open of a store (test_migrations has that)
pytestmark = pytest.mark.migrated

NOT_FOUND = [
    ("customers", "show", "999"),
    ("customers", "merge", "999", "1"),
    ("customers", "merge", "1", "999"),
    ("conversations", "assign", "999", "me"),
    ("conversations", "status", "999", "resolved"),
    ("reply", "999", "--body", "x"),
    ("notes", "add", "--customer", "999", "--body", "x"),
    ("notes", "add", "--conversation", "999", "--body", "x"),
    ("send", "--channel", "sms", "--customer", "999", "--body", "x"),
    ("attachments", "save", "999"),
    ("outbox", "retry", "999"),
    ("outbox", "discard", "999"),
    ("outbox", "edit", "999", "--body", "x"),
    ("outbox", "readdress", "999", "--to", "+14155550101"),
]
CONFLICT = [
    ("outbox", "retry", "1"),  # sent: only failed or unconfirmed messages are retried
    ("outbox", "discard", "1"),
    ("customers", "merge", "1", "2"),  # customer 2 was merged into 1
    ("reply", "1", "--channel", "telegram", "--body", "x"),  # no telegram address
]
BAD_VALUE = [
    # values omnitui checks
    ("customers", "merge", "1", "1"),
    ("conversations", "list", "--status", "bogus"),
    ("conversations", "status", "1", "bogus"),
    ("send", "--channel", "fax", "--to", "x", "--body", "x"),
    ("send", "--channel", "sms", "--account", "nobody", "--to", "+14155550100", "--body", "x"),
    ("send", "--channel", "sms", "--body", "x"),
    ("reply", "1", "--channel", "fax", "--body", "x"),
    ("notes", "add", "--body", "x"),
    ("report", "--channel", "fax"),
    ("report", "--since", "soon"),
    ("report", "--agent", "bbo"),  # nobody on the team
    ("conversations", "list", "--assignee", "bbo"),
    ("conversations", "assign", "1", "bbo"),
    ("sync", "--once", "--account", "nobody"),
    ("attachments", "save", "1", "--to", "{tmp}/missing"),
    # values click checks before the command runs
    ("customers", "list", "--limit", "0"),
    ("customers", "show", "x"),
    ("customers", "show"),
    ("conversations", "assign", "one"),
    ("conversations", "status", "1", "snoozed", "--until", "someday"),
    ("search", "x", "--limit", "0"),
    ("outbox", "retry", "one"),
    ("outbox", "list", "--bogus"),
    ("doctor", "--bogus"),
    ("db", "upgrade", "--bogus"),
    ("init", "--bogus"),
    ("bogus",),
]
TABLE = (
    [(args, 1, "not_found") for args in NOT_FOUND]
    + [(args, 1, "conflict") for args in CONFLICT]
    + [(args, 2, "usage") for args in BAD_VALUE]
)


@pytest.mark.parametrize(
    ("args", "code", "kind"), TABLE, ids=[" ".join(args) for args, _, _ in TABLE]
)
def test_each_kind_of_error_has_one_code_one_line_and_a_json_object(
    cli: Run, tmp_path: Path, args: tuple[str, ...], code: int, kind: str
) -> None:
    argv = [a.format(tmp=tmp_path) for a in args]
    plain = cli(*argv, code=code)
    assert plain.stdout == ""
    assert re.fullmatch(r"omnitui: error: [^\n]+\n", plain.stderr), plain.stderr
    message = plain.stderr.removeprefix("omnitui: error: ").rstrip("\n")
    for where in ([*argv, "--json"], ["--json", *argv]):  # the command's --json, the global one
        scripted = cli(*where, code=code)
        assert scripted.stderr == plain.stderr
        assert json.loads(scripted.stdout) == {
            "error": {"message": message, "code": code, "kind": kind}
        }


def test_a_group_without_a_command_is_help_for_people_an_error_object_for_scripts(
    cli: Run,
) -> None:
    people = cli("customers", code=2)
    assert "Commands:" in people.stdout + people.stderr  # click's help, as before
    scripts = cli("--json", "customers", code=2)
    line = "Missing command; see `omnitui customers --help`"
    assert scripts.stderr == f"omnitui: error: {line}\n"
    assert json.loads(scripts.stdout) == {"error": {"message": line, "code": 2, "kind": "usage"}}


def test_a_channel_no_account_carries_is_a_usage_error(tmp_path: Path, db_url: str) -> None:
    tg = '[[accounts]]\nname = "tg"\nkind = "telegram"\nbot_token_env = "NO_SUCH_TOKEN"\n'
    run = cli_runner(write_config(tmp_path, tg), db_url)
    result = run("send", "--channel", "sms", "--to", "+14155550100", "--body", "x", code=2)
    assert (
        result.stderr
        == "omnitui: error: no configured account carries sms: add one to the config\n"
    )
    assert json.loads(run("--json", "outbox", "list", "--all").stdout) == []  # nothing queued


def test_a_file_that_is_not_a_store_is_a_config_error(tmp_path: Path) -> None:
    # SQLite only: a PostgreSQL URL cannot point at a file that is not a database
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"shopping list: milk, eggs, and a lot more than a page of it\n" * 100)
    run = cli_runner(write_config(tmp_path), f"sqlite:///{junk}")
    result = run("customers", "list", "--json", code=2)
    assert result.stderr.startswith("omnitui: error: cannot open the store at ")
    assert result.stderr.count("\n") == 1
    assert json.loads(result.stdout)["error"]["kind"] == "config"


def test_a_store_that_cannot_serve_now_is_a_json_object_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLite only: the store-fault tests cover each engine's ways of failing
    seeded = seeded_sqlite(tmp_path, monkeypatch)
    read_only = f"sqlite:///file:{seeded.path}?mode=ro&uri=true"
    args = ["notes", "add", "--customer", str(seeded.customer_id), "--body", "x", "--json"]
    result = run_cli(tmp_path, read_only, *args)
    assert result.exit_code == 75, (result.stdout, result.stderr)
    [line] = result.stderr.splitlines()
    assert json.loads(result.stdout) == {
        "error": {
            "message": line.removeprefix("omnitui: error: "),
            "code": 75,
            "kind": "store_unavailable",
        }
    }


def test_an_unexpected_error_is_a_json_object_too(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("a bug\nover two lines")

    monkeypatch.setattr(queries, "list_customers", broken)
    result = cli_runner(db_url=db_url)("customers", "list", "--json", code=None)
    assert isinstance(result.exception, RuntimeError)  # main() prints it and exits 70
    assert json.loads(result.stdout) == {
        "error": {
            "message": "internal error: RuntimeError: a bug over two lines",
            "code": 70,
            "kind": "internal",
        }
    }


def test_report_and_list_take_an_agent_on_the_team_as_assign_does(cli: Run) -> None:
    refused = cli("report", "--agent", "bbo", "--json", code=2)
    assert json.loads(refused.stdout)["error"]["message"] == (
        "nobody on the team is called 'bbo' (the team: alice)."
    )
    cli("conversations", "assign", "1", "bob", "--new")
    typo = cli("conversations", "list", "--assignee", "bbo", code=2)
    assert "(the team: alice, bob). Did you mean 'bob'?" in typo.stderr
    bob = cli("report", "--agent", "Bob", "--json")  # as spelled on the team
    assert list(json.loads(bob.stdout)["by_agent"]) == ["bob"] and bob.stderr == ""
    listed = cli("conversations", "list", "--assignee", "bob", "--json")
    assert [c["id"] for c in json.loads(listed.stdout)] == [1]
    mine = cli("conversations", "list", "--assignee", "me", "--json")  # on the team, no work
    assert (json.loads(mine.stdout), mine.stderr) == ([], "")
    alice = cli("report", "--agent", "me", "--json")
    assert (json.loads(alice.stdout)["by_agent"], alice.stderr) == ({}, "")


PDF = b"%PDF-1.4 invoice 1042"


def test_attachments_save_needs_an_existing_directory_unless_mkdir(
    store: Store, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ingest(
        store,
        "shop",
        batch(email("m1", attachments=(InboundAttachment("invoice.pdf", "application/pdf", PDF),))),
    )
    with store.read() as s:
        (customer,) = queries.list_customers(s)
        (attachment,) = queries.timeline(s, customer.id)[0].attachments
    monkeypatch.setenv("OMNITUI_DATA_DIR", str(store.data_dir))
    run = cli_runner(write_config(tmp_path, '[agent]\nname = "alice"\n'), db_url)
    aid = str(attachment.id)
    target = tmp_path / "saved" / "2024"

    missing = run("attachments", "save", aid, "--to", str(target), code=2)
    assert missing.stderr == (
        f"omnitui: error: {target} does not exist; create it first or use --mkdir\n"
    )
    assert not (tmp_path / "saved").exists()  # no parent made up either
    a_file = tmp_path / "config.toml"
    not_dir = run("attachments", "save", aid, "--to", str(a_file), "--json", code=2)
    assert json.loads(not_dir.stdout)["error"]["kind"] == "usage"

    made = json.loads(
        run("attachments", "save", aid, "--to", str(target), "--mkdir", "--json").stdout
    )
    assert (
        Path(made["path"]) == target / "invoice.pdf"
        and target.joinpath("invoice.pdf").read_bytes() == PDF
    )
    again = json.loads(run("attachments", "save", aid, "--to", str(target), "--json").stdout)
    assert Path(again["path"]).name == "invoice (2).pdf"  # it exists now: no --mkdir needed
    default = json.loads(run("attachments", "save", aid, "--json").stdout)  # our own folder
    assert Path(default["path"]).parent == tmp_path / "downloads"


# -- tables at 80 and 200 columns ---------------------------------------------

BOX = "┏┃┡│└"


def tables(stdout: str) -> list[list[str]]:
    """The header cells of each boxed table in ``stdout``, one list a header line."""
    heads = [line for line in stdout.splitlines() if line.startswith("┃")]
    return [[c.strip() for c in line.strip("┃").split("┃")] for line in heads]


def blocks(stdout: str) -> list[str]:
    """The labels of a table printed as blocks (``label  value`` lines)."""
    return [line for line in stdout.splitlines() if line and line[0] not in BOX]


@pytest.fixture
def busy(cli: Run) -> Run:
    """A store with the demo's traffic, a failed send and a note."""
    assert json.loads(cli("sync", "--once", "--json").stdout)[0]["stored"] > 20
    cli(
        "send",
        "--channel",
        "email",
        "--to",
        "will.fail@example.com",
        "--subject",
        "A subject long enough to need more than one line in a narrow column",
        "--body",
        "x",
        code=1,
    )
    cli("notes", "add", "--customer", "1", "--body", "Called back, says order 1042 is fine")
    cli("conversations", "assign", "1", "me")
    return cli


LISTS: list[tuple[tuple[str, ...], list[list[str]]]] = [
    (("customers", "list"), [["id", "name", "identities", "open", "last message"]]),
    (
        ("conversations", "list", "--status", "all"),
        [["id", "channel", "customer", "subject", "status", "assignee", "tags", "last", "msgs"]],
    ),
    (
        ("customers", "show", "1"),
        [
            ["id", "channel", "subject", "status", "assignee", "last message"],
            ["at", "kind", "channel", "dir", "who", "recipients", "text", "status"],
            ["at", "who", "what", "detail"],
        ],
    ),
    (("search", "order"), [["kind", "id", "customer", "conv", "channel", "at", "snippet"]]),
    (("outbox", "list"), [["id", "conv", "channel", "to", "status", "attempts", "error"]]),
]
REPORT = [  # the console's words (omnitui.services.reports.COLUMNS)
    "opened",
    "resolved",
    "in",
    "out",
    "1st p50",
    "1st p90",
    "res p50",
    "res p90",
    "failed sends",
    "waiting <1h/1-4h/4-24h/1-3d/>3d",
]


def test_tables_fit_80_columns_without_breaking_a_header(busy: Run) -> None:
    for args, full in LISTS:
        out = busy(*args, columns=80).stdout
        assert max(cell_len(line) for line in out.splitlines()) <= 80, args
        heads = tables(out)
        assert len(heads) == len(full), (args, out)  # one header line a table: none broken
        for head, names in zip(heads, full, strict=True):
            assert head == [n for n in names if n in head], (args, head)  # whole names, in order
            assert {"id", "at"} & set(head) and len(head) >= 4, (args, head)
        hidden = [
            n for head, names in zip(heads, full, strict=True) for n in names if n not in head
        ]
        if hidden:
            assert "(not shown at 80 columns: " in out, args
    report = busy("report", columns=80).stdout
    assert max(cell_len(line) for line in report.splitlines()) <= 80
    assert tables(report) == []  # eleven columns do not fit: each row is a block
    labels = [line.split("  ")[0] for line in blocks(report) if "  " in line]
    assert labels[: len(REPORT) + 1] == ["channel", *REPORT]
    assert ["agent", *REPORT] == labels[-len(REPORT) - 1 :]


def test_tables_show_every_column_at_200_columns(busy: Run) -> None:
    for args, full in LISTS:
        out = busy(*args, columns=200).stdout
        assert tables(out) == full, (args, out)
        assert "not shown" not in out
    assert tables(busy("report", columns=200).stdout) == [["channel", *REPORT], ["agent", *REPORT]]
