"""Config loading: every mistake named with file, line, key and a fix; secrets
never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnitui.config import (
    ConfigError,
    build_provider,
    load_config,
    redacted,
    resolve_secrets,
    write_example_config,
)
from providers.settings import MatrixSettings, TelegramSettings
from storage.business_hours import BusinessHours

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
        ("secret_env_unset.toml", 5, ["auth_token_env", "OMNITUI_TEST_UNSET_VARIABLE", "export"]),
        ("typo_key.toml", 4, ["pol_interval", "did you mean 'poll_interval'"]),
        ("bad_syntax.toml", None, ["not valid TOML", "line 2"]),
        ("duplicate_names.toml", 6, ["second account named 'demo'"]),
        ("both_secret_sources.toml", 1, ["bot_token_env or bot_token_cmd, not both"]),
        ("wrong_type.toml", 4, ["poll_interval", "'often'"]),
        ("unknown_section.toml", 1, ["databse", "did you mean 'database'"]),
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
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(folder)


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
        if line.startswith("# ") and ("=" in stripped or stripped == "[[accounts]]"):
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
        "matrix",  # type: ignore[arg-type]
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
