"""Config loading: every mistake named with file, line, key and a fix; secrets
never shown."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from typer.testing import Result

from omnitui.config import (
    ConfigError,
    SecretUnavailable,
    build_provider,
    load_config,
    redacted,
    resolve_secrets,
    write_example_config,
)
from providers.settings import MatrixSettings, TelegramSettings, TwilioSettings
from storage.business_hours import BusinessHours
from storage.db import StoreURLError, make_engine, parse_url, redact_url
from tests.helpers import cli_runner

CONFIGS = Path(__file__).parent / "configs"
ROOT = Path(__file__).parent.parent
SECRET = "s3cr3t-Value-that-must-never-show"


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMNITUI_TEST_SECRET", SECRET)
    monkeypatch.delenv("OMNITUI_TEST_UNSET_VARIABLE", raising=False)


@pytest.mark.parametrize(
    ("name", "line", "expected"),
    [
        ("unknown_kind.toml", 6, ["accounts[0].kind", "carrier-pigeon", "use one of", "imap"]),
        ("missing_host.toml", 5, ["accounts[1].host", "needs host"]),
        ("typo_key.toml", 4, ["pol_interval", "did you mean 'poll_interval'"]),
        ("bad_syntax.toml", None, ["not valid TOML", "line 2"]),
        ("duplicate_names.toml", 6, ["second account named 'demo'"]),
        ("both_secret_sources.toml", 1, ["bot_token_env or bot_token_cmd, not both"]),
        ("wrong_type.toml", 4, ["poll_interval", "'often'"]),
        ("unknown_section.toml", 1, ["databse", "did you mean 'database'"]),
        ("cmd_bad_quoting.toml", 6, ["accounts[0].password_cmd", "no closing quotation"]),
        ("cmd_empty.toml", 4, ["accounts[0].bot_token_cmd", "the command is empty"]),
        ("accounts_wrong_shape.toml", 2, ["accounts[0]", "an account is a table", "[[accounts]]"]),
        ("kind_not_a_string.toml", 3, ["accounts[0].kind", "unknown account kind ['imap']"]),
        ("poll_interval_inf.toml", 4, ["accounts[0].poll_interval", "finite number"]),
        ("poll_interval_nan.toml", 4, ["accounts[0].poll_interval", "finite number"]),
        ("poll_interval_negative.toml", 4, ["accounts[0].poll_interval", "greater than 0"]),
        ("poll_interval_0.toml", 4, ["accounts[0].poll_interval", "greater than 0"]),
        ("region_unknown.toml", 3, ["agent.default_region", "unknown region 'XX'", "ISO 3166"]),
        ("region_usa.toml", 2, ["agent.default_region", "'usa'", "did you mean 'US'", "US, GB"]),
        (
            "twilio_region_unknown.toml",
            7,
            ["accounts[0].default_region", "unknown region 'Germany'", "ISO 3166"],
        ),
    ],
)
def test_mistakes_are_located_and_explained(
    name: str, line: int | None, expected: list[str]
) -> None:
    path = CONFIGS / name
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    if line is not None:
        assert f"line {line}," in message
    for part in expected:
        assert part in message
    assert SECRET not in message


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no such config file.*omnitui init"):
        load_config(tmp_path / "nope.toml")
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot read the config: it is a directory"):
        load_config(folder)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_or_a_device_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "config.toml"
    os.mkfifo(fifo)  # nobody writes: reading it would wait forever
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(fifo)
    with pytest.raises(ConfigError, match=r"/dev/zero: cannot read the config: not a regular"):
        load_config(Path("/dev/zero"))  # endless: reading it would fill the memory


def test_a_huge_or_non_utf8_file_is_refused(tmp_path: Path) -> None:
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (2 * 1024 * 1024))
    with pytest.raises(ConfigError, match="too big for a config file"):
        load_config(big)
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'[agent]\nname = "Ren\xe9"\n')
    with pytest.raises(ConfigError, match=r"latin.toml, line 2: not UTF-8 text"):
        load_config(latin)


def test_a_byte_order_mark_is_ignored() -> None:
    config = load_config(CONFIGS / "bom.toml")
    assert config.agent_name == "alice" and [a.name for a in config.accounts] == ["demo"]


def test_poll_interval_and_region_within_bounds(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[agent]\ndefault_region = "gb"\n\n[[accounts]]\nname = "d"\nkind = "demo"\n'
        "poll_interval = 0.5\n"
    )
    config = load_config(path)
    assert config.default_region == "GB" and config.accounts[0].poll_interval == 0.5
    path.write_text('[[accounts]]\nname = "d"\nkind = "demo"\npoll_interval = 1e308\n')
    with pytest.raises(ConfigError, match=r"line 4, accounts\[0\].poll_interval: .*86400"):
        load_config(path)


def test_an_unset_secret_variable_loads_and_is_named_when_needed() -> None:
    """Only the process that polls or sends needs the secret (least privilege)."""
    (account,) = load_config(CONFIGS / "secret_env_unset.toml").accounts
    with pytest.raises(SecretUnavailable) as info:
        build_provider(account)
    message = str(info.value)
    assert "'sms': auth_token_env" in message and "OMNITUI_TEST_UNSET_VARIABLE" in message
    assert "export" in message


def test_a_missing_secret_program_is_named_when_needed(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[accounts]]\nname = "bot"\nkind = "telegram"\n'
        'bot_token_cmd = "no-such-program-omnitui show bot"\n'
    )
    (account,) = load_config(path).accounts  # an agent's machine may lack it: not an error here
    with pytest.raises(SecretUnavailable, match="'no-such-program-omnitui' is not found"):
        resolve_secrets(account)


def test_the_example_loads_and_both_copies_agree() -> None:
    example = ROOT / "config.example.toml"
    assert example.read_text() == (ROOT / "omnitui" / "config_example.toml").read_text()
    config = load_config(example)
    assert [a.kind for a in config.accounts] == ["demo"]
    assert config.default_region == "US" and "thanks" in config.snippets


def test_the_commented_business_hours_in_the_example_are_valid(tmp_path: Path) -> None:
    text = (ROOT / "config.example.toml").read_text()
    assert load_config(ROOT / "config.example.toml").business_hours is None
    for key in ("business_hours", "timezone"):
        assert f"\n# {key} = " in text
        text = text.replace(f"\n# {key} = ", f"\n{key} = ")
    full = tmp_path / "hours.toml"
    full.write_text(text)
    hours = load_config(full).business_hours
    assert str(hours) == "Mon-Fri 09:00-17:00 Europe/Berlin"


def test_reports_section(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[reports]\nbusiness_hours = "Sun-Thu 08:00-16:30"\ntimezone = "Asia/Dubai"\n')
    assert load_config(path).business_hours == BusinessHours.parse(
        "Sun-Thu 08:00-16:30", "Asia/Dubai"
    )
    path.write_text('[reports]\nbusiness_hours = "Mon-Fri 09:00-17:00"\n')
    assert str(load_config(path).business_hours) == "Mon-Fri 09:00-17:00 UTC"
    path.write_text('[reports]\ntimezone = "Europe/Berlin"\n')  # checked, but no hours: wall
    assert load_config(path).business_hours is None


@pytest.mark.parametrize(
    ("lines", "line", "expected"),
    [
        (
            ['business_hours = "Mon-Fry 09:00-17:00"'],
            3,
            ["reports.business_hours", "'Fry' is not a day", "did you mean 'Fri'", "'Mon-Fri'"],
        ),
        (
            ['business_hours = "Mon-Fri-Sat 09:00-17:00"'],
            3,
            ["reports.business_hours", "not a day or a range of days", "first-last"],
        ),
        (
            ['business_hours = "Mon-Fri 9am-5pm"'],
            3,
            ["reports.business_hours", "'9am' is not a time of day", "HH:MM"],
        ),
        (
            ['business_hours = "Mon-Fri"'],
            3,
            ["reports.business_hours", "write the days, then the hours", "09:00-17:00"],
        ),
        (
            ['business_hours = "Mon-Fri 17:00-09:00"'],
            3,
            ["reports.business_hours", "end at 09:00, not after they start at 17:00"],
        ),
        (
            ['business_hours = "Mon-Fri 09:00-17:00"', 'timezone = "Europe/Berln"'],
            4,
            ["reports.timezone", "unknown time zone 'Europe/Berln'", "'Europe/Berlin'?", "IANA"],
        ),
        (
            ['time_zone = "UTC"'],
            3,
            ["reports.time_zone", "unknown key", "did you mean 'timezone'"],
        ),
        (
            ["business_hours = 9"],
            3,
            ["reports.business_hours", "must be a string in quotes"],
        ),
    ],
)
def test_reports_mistakes(tmp_path: Path, lines: list[str], line: int, expected: list[str]) -> None:
    path = tmp_path / "config.toml"
    path.write_text("# reports\n[reports]\n" + "\n".join(lines) + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}, line {line}, ")
    for part in expected:
        assert part in message


def test_every_commented_account_in_the_example_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in (
        "SUPPORT_IMAP_PASSWORD",
        "SUPPORT_SMTP_PASSWORD",
        "TWILIO_AUTH_TOKEN",
        "TELEGRAM_BOT_TOKEN",
        "MATRIX_TOKEN",
    ):
        monkeypatch.setenv(var, "x")
    text = (ROOT / "config.example.toml").read_text()
    head, _, tail = text.partition("# [[accounts]]")
    lines = [head]
    for line in ("# [[accounts]]" + tail).splitlines():  # uncomment the sample accounts
        stripped = line.removeprefix("# ")
        tables = ("[[accounts]]", "[[accounts.templates]]")
        if line.startswith("# ") and ("=" in stripped or stripped in tables):
            line = stripped
        lines.append(line)
    full = tmp_path / "full.toml"
    full.write_text("\n".join(lines))
    config = load_config(full)
    assert sorted(a.kind for a in config.accounts) == [
        "demo",
        "imap",
        "matrix",
        "telegram",
        "twilio",
    ]
    [twilio] = [a for a in config.accounts if isinstance(a, TwilioSettings)]
    assert [t.name for t in twilio.templates] == ["order_update"]


def test_secrets_from_env_and_command_never_in_repr() -> None:
    account = TelegramSettings(name="bot", bot_token_env="OMNITUI_TEST_SECRET")
    assert resolve_secrets(account) == {"bot_token": SECRET}
    assert SECRET not in repr(account) and SECRET not in redacted(SECRET)
    by_cmd = TelegramSettings(name="bot", bot_token_cmd=f"printf '{SECRET}\\n'")
    assert resolve_secrets(by_cmd) == {"bot_token": SECRET}


def test_a_failing_secret_command_does_not_leak_its_output() -> None:
    account = TelegramSettings(name="bot", bot_token_cmd=f"sh -c 'echo {SECRET}; exit 3'")
    with pytest.raises(ConfigError) as info:
        resolve_secrets(account)
    assert "exit code 3" in str(info.value) and SECRET not in str(info.value)


def test_a_kind_not_in_this_version_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from providers import registry

    info = registry.KINDS["matrix"]
    monkeypatch.setitem(
        registry.KINDS,
        "matrix",
        registry.KindInfo(info.settings, "providers.not_here:Nothing", info.summary),
    )
    account = MatrixSettings(
        name="mx",
        homeserver="https://m.example",
        user_id="@bot:m.example",
        access_token_env="OMNITUI_TEST_SECRET",
    )
    with pytest.raises(ConfigError, match="matrix provider is not available"):
        build_provider(account)


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    dest = tmp_path / "omnitui" / "config.toml"
    write_example_config(dest)
    assert load_config(dest).accounts
    with pytest.raises(ConfigError, match="--force"):
        write_example_config(dest)
    dest.write_text("# mine")
    write_example_config(dest, force=True)
    assert "[[accounts]]" in dest.read_text()


def _cli(*args: str, env: dict[str, str] | None = None) -> Result:
    result = cli_runner()(*args, env=env, code=None)
    assert SECRET not in result.stdout + result.stderr
    return result


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("nonsense", "--db: not a database URL: nonsense; use sqlite:///PATH or postgresql"),
        (
            f"postgresql://u:{SECRET}@127.0.0.1:notaport/x",
            "not a database URL: postgresql://u:***@",
        ),
        (f"mysql://u:{SECRET}@db/x", "unsupported database 'mysql' in mysql://u:***@db/x"),
        (f"oracle+cx://u:{SECRET}@db/x", "unsupported database 'oracle'"),
        ("sqlite+aiosqlite:///x.db", "unsupported SQLite driver 'aiosqlite'"),
        (
            f"postgresql+asyncpg://u:{SECRET}@127.0.0.1/x",
            "driver 'asyncpg' in postgresql+asyncpg://u:***@127.0.0.1/x: omnitui uses psycopg",
        ),
    ],
)
def test_a_bad_database_url_is_a_config_error(tmp_path: Path, url: str, expected: str) -> None:
    for command in (["customers", "list"], ["--json", "doctor"], ["db", "upgrade"]):
        result = _cli("--db", url, *command)
        assert result.exit_code == 2, (command, result.stdout, result.stderr)
        shown = json.loads(result.stdout)["database"]["error"] if "doctor" in command else ""
        assert expected in shown + result.stderr, command
    if "asyncpg" in url:
        assert "pip install 'omnitui[postgres]'" in result.stderr


def test_where_a_bad_database_url_came_from(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[agent]\nname = "alice"\n\n[database]\nurl = "nonsense"\n')
    result = _cli("--config", str(config), "customers", "list")
    assert result.exit_code == 2
    assert f"{config}, line 5, database.url: not a database URL" in result.stderr
    result = _cli("customers", "list", env={"OMNITUI_DB": "nonsense"})
    assert result.exit_code == 2 and "$OMNITUI_DB: not a database URL" in result.stderr


def test_an_unreachable_database_never_shows_its_password() -> None:
    for url in (
        f"postgresql://support:{SECRET}@127.0.0.1:1/omnitui",
        f"postgresql+psycopg://support@127.0.0.1:1/omnitui?password={SECRET}",
    ):
        result = _cli("--db", url, "customers", "list")
        assert result.exit_code not in (0, 2, 70), result.stderr  # the store is unavailable
        assert "127.0.0.1:1/omnitui" in result.stderr and "***" in result.stderr
        doctor = _cli("--db", url, "--json", "doctor")
        assert doctor.exit_code == 1 and "***" in doctor.stdout


def test_a_missing_postgres_driver_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(StoreURLError, match=r"\(psycopg\) is not installed: pip install"):
        make_engine("postgresql+psycopg://u@127.0.0.1/x")
    result = _cli("--db", f"postgresql://u:{SECRET}@127.0.0.1/x", "customers", "list")
    assert result.exit_code == 2
    assert "pip install 'omnitui[postgres]'" in result.stderr


def test_redact_url_hides_every_password() -> None:
    assert redact_url(f"postgresql+psycopg://u:{SECRET}@h/db") == "postgresql+psycopg://u:***@h/db"
    assert SECRET not in redact_url(f"postgresql://u:{SECRET}@h:port/db")  # does not parse
    assert SECRET not in redact_url(f"postgresql://u@h/db?sslmode=require&password={SECRET}")
    assert SECRET not in redact_url(f"nonsense://u:{SECRET}@x@y:z")
    assert parse_url("postgresql://u@h/db").drivername == "postgresql+psycopg"


def test_agent_team_is_a_list_of_names(tmp_path: Path) -> None:
    path = tmp_path / "team.toml"
    path.write_text('[agent]\nname = "alice"\nteam = ["bob", " carol ", "bob"]\n')
    assert load_config(path).team == ("bob", "carol")
    path.write_text('[agent]\nname = "alice"\n\nteam = "bob"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}, line 4, agent.team" in str(info.value)
    assert 'team = ["alice", "bob"]' in str(info.value)
    path.write_text('[agent]\nteam = ["bob", 3]\n')
    with pytest.raises(ConfigError, match="list of names"):
        load_config(path)
