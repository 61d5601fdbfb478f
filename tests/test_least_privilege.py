"""Least privilege: only the process that polls or sends needs the providers'
secrets. Every command that works on the store alone, ``send``/``reply``
(which queue), and the console run with the accounts' secrets unreadable:
``password_env`` naming an unset variable, ``auth_token_cmd = "false"``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from omnitui.cli import app
from omnitui.config import SecretUnavailable, load_config
from omnitui.runtime import Runtime, make_runtime
from omnitui.services import AccountInfo, leases
from omnitui.services.ingest import ingest
from omnitui.tui.app import make_app
from omnitui.tui.clock import Clock
from omnitui.tui.widgets.account_bar import AccountBar
from providers.base import InboundMessage, PollBatch, SendLimits
from providers.registry import KINDS, load_provider_class
from providers.settings import (
    TWILIO_NO_FILES,
    AccountSettings,
    DemoSettings,
    ImapSettings,
    MatrixSettings,
    TelegramSettings,
    TwilioSettings,
)
from storage.db import open_store
from tests.tui.waiting import settle

UNSET = "OMNITUI_LP_UNSET_VAR"
CONFIG = f"""
[agent]
name = "alice"

[[accounts]]
name = "mail"
kind = "imap"
host = "127.0.0.1"
port = 1
username = "support@example.com"
password_env = "{UNSET}"
from_address = "Support <support@example.com>"
smtp_host = "127.0.0.1"
smtp_port = 1

[[accounts]]
name = "sms"
kind = "twilio"
account_sid = "AC123"
auth_token_cmd = "false"
phone_number = "+14155550100"
whatsapp_number = "whatsapp:+14155550101"
api_base = "http://127.0.0.1:1"
"""
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _inbound() -> tuple[tuple[str, InboundMessage], ...]:
    return (
        (
            "mail",
            InboundMessage(
                external_id="<ann1@mail.example.com>",
                channel="email",
                from_address="ann@example.com",
                to_address="support@example.com",
                sent_at=T0,
                body_text="Where is my refund?",
                from_name="Ann Example",
                subject="Refund",
                message_id="<ann1@mail.example.com>",
            ),
        ),
        (
            "sms",
            InboundMessage(
                external_id="SM-bob-1",
                channel="sms",
                from_address="+14155550177",
                to_address="+14155550100",
                sent_at=T0 + timedelta(minutes=5),
                body_text="Is the shop open on Sunday?",
            ),
        ),
    )


@pytest.fixture(autouse=True)
def _no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(UNSET, raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def seeded_db(db_url: str, tmp_path: Path) -> str:
    """``db_url`` with Ann's e-mail (conversation 1) and Bob's SMS (conversation 2)."""
    store = open_store(db_url, tmp_path / "data")
    try:
        for account, message in _inbound():
            batch = PollBatch(messages=(message,), cursors={})
            ingest(store, account, batch, default_region="US")
    finally:
        store.close()
    return db_url


@pytest.fixture
def cli(config: Path, seeded_db: str) -> Any:
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, ["--config", str(config), "--db", seeded_db, *args])
        assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
        assert "Traceback" not in result.stdout + result.stderr
        return result

    return run


def test_the_config_loads_without_its_secrets(config: Path) -> None:
    accounts = load_config(config).accounts
    assert [a.name for a in accounts] == ["mail", "sms"]


def test_account_channels_and_addresses_need_no_secret(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_provider(account: AccountSettings) -> Any:
        raise AssertionError(f"a provider was built for {account.name}")

    monkeypatch.setattr("omnitui.runtime.build_provider", no_provider)
    rt = make_runtime(config, "sqlite://")
    no_files = SendLimits(0, 0, can_attach=False, why_not=TWILIO_NO_FILES)
    mail_files = rt.account("mail").send_limits("email")
    assert mail_files.can_attach and mail_files.max_attachment_bytes
    assert rt.account_infos() == {
        "mail": AccountInfo(
            "mail", ("email",), {"email": "support@example.com"}, limits={"email": mail_files}
        ),
        "sms": AccountInfo(
            "sms",
            ("sms", "whatsapp"),
            {"sms": "+14155550100", "whatsapp": "+14155550101"},
            limits={"sms": no_files, "whatsapp": no_files},
        ),
    }


def test_a_provider_is_built_only_with_its_secret(config: Path) -> None:
    rt = make_runtime(config, "sqlite://")
    with pytest.raises(SecretUnavailable, match=rf"'mail': password_env: .*{UNSET} is not set"):
        rt.provider("mail")
    with pytest.raises(SecretUnavailable, match="'sms': auth_token_cmd failed with exit code 1"):
        rt.provider("sms")
    ready, unable = rt.pollers()
    assert ready == [] and sorted(unable) == ["mail", "sms"]


SAMPLES: dict[str, AccountSettings] = {
    "demo": DemoSettings(name="d"),
    "imap": ImapSettings(
        name="m",
        host="h",
        username="Support@Example.com",
        password_env="X",
        from_address="Help Desk <Help@Example.com>",
        smtp_host="h",
    ),
    "twilio": TwilioSettings(
        name="t",
        account_sid="AC1",
        auth_token_env="X",
        phone_number="+14155550100",
        whatsapp_number="whatsapp:+14155550101",
    ),
    "telegram": TelegramSettings(name="tg", bot_token_env="X"),
    "matrix": MatrixSettings(
        name="mx", homeserver="http://127.0.0.1:1", user_id="@bot:m.test", access_token_env="X"
    ),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_settings_tell_the_same_channels_and_addresses_as_the_provider(kind: str) -> None:
    settings = SAMPLES[kind]
    secrets = {name: "123456:token" for name in settings.SECRETS}
    provider = load_provider_class(kind)(settings.name, settings, secrets)
    try:
        assert settings.channels() == tuple(provider.channels)
        expected = {ch: provider.address_for(ch) for ch in provider.channels}
        # the one address that needs the secret: a Telegram bot's id is its token's prefix
        assert settings.addresses() == ({} if kind == "telegram" else expected)
    finally:
        provider.close()


@pytest.mark.parametrize(
    "args",
    [
        ["customers", "list"],
        ["customers", "show", "1"],
        ["conversations", "list", "--status", "open"],
        ["conversations", "assign", "1", "me"],
        ["conversations", "status", "2", "pending"],
        ["notes", "add", "--customer", "1", "--body", "called back"],
        ["notes", "add", "--conversation", "2", "--body", "asked the shop"],
        ["search", "refund"],
        ["report"],
        ["outbox", "list"],
    ],
    ids=" ".join,
)
def test_store_commands_need_no_secret(cli: Any, args: list[str]) -> None:
    cli(*args)
    assert json.loads(cli("--json", *args).stdout) is not None


def _pending(cli: Any) -> list[int]:
    return [row["id"] for row in json.loads(cli("--json", "outbox", "list").stdout)]


def test_send_queues_and_says_the_poller_sends_it(cli: Any) -> None:
    result = cli("send", "--channel", "sms", "--to", "+14155550199", "--body", "We open at 10.")
    assert "Message 3 queued to +14155550199 on sms." in result.stdout
    assert "not sent from here" in result.stderr
    assert "'sms': auth_token_cmd failed" in result.stderr
    assert "stays queued" in result.stderr and "omnitui sync" in result.stderr
    doc = json.loads(
        cli(
            "--json",
            "send",
            "--channel",
            "email",
            "--to",
            "bob@example.com",
            "--subject",
            "Hours",
            "--body",
            "We open at 10.",
        ).stdout
    )
    assert doc["id"] == 4 and doc["account"] == "mail"
    assert f"password_env: the environment variable {UNSET} is not set" in doc["deferred"]
    assert _pending(cli) == [3, 4]


def test_reply_queues_without_the_secret(cli: Any) -> None:
    doc = json.loads(cli("--json", "reply", "1", "--body", "Refund sent today.").stdout)
    assert doc["conversation_id"] == 1 and doc["deferred"]
    assert _pending(cli) == [doc["id"]]


def test_doctor_still_reports_the_missing_secret(cli: Any) -> None:
    doc = json.loads(cli("--json", "doctor", code=1).stdout)
    errors = {a["name"]: a["error"] for a in doc["accounts"]}
    assert UNSET in errors["mail"] and "auth_token_cmd failed" in errors["sms"]
    assert doc["database"]["ok"]


def test_sync_needs_the_secret_and_says_which(cli: Any) -> None:
    result = cli("sync", "--once", "--account", "sms", code=2)
    assert "'sms': auth_token_cmd failed" in result.stderr


async def test_the_console_opens_and_works_without_secrets(config: Path, tmp_path: Path) -> None:
    rt = make_runtime(config, f"sqlite:///{tmp_path / 'console.db'}")
    store = rt.store()
    for account, message in _inbound():
        ingest(store, account, PollBatch(messages=(message,), cursors={}), default_region="US")
    console = make_app(rt, clock=Clock(fixed=T0 + timedelta(hours=1), tz=UTC), blink=False)
    try:
        async with console.run_test(size=(120, 30)) as pilot:
            missing = {"mail": "secret missing", "sms": "secret missing"}
            await _until(pilot, lambda: console.desk.polling == missing)
            bar = str(console.screen.query_one(AccountBar).render())
            assert "mail secret missing" in bar and "sms secret missing" in bar

            # a poller elsewhere takes the mail account
            assert leases.acquire(store, "mail", owner="server:1:abcd") is None
            await pilot.press("ctrl+r")
            await _until(pilot, lambda: console.desk.polling["mail"] != "secret missing")
            assert console.desk.polling["mail"] == "polled by another process"
            assert "mail polled by another process" in str(
                console.screen.query_one(AccountBar).render()
            )

            # the agent still answers: the reply is queued for the poller
            from omnitui import services

            queued = services.reply(store, console.desk.accounts(), 1, "On its way", "alice")
            console.deliver(queued)

            def told() -> bool:
                notes = [n.message for n in console._notifications]
                return any(f"Message {queued} is queued" in n and UNSET in n for n in notes)

            await _until(pilot, told)
    finally:
        rt.close()


async def _until(pilot: Any, done: Callable[[], bool]) -> None:
    """Let workers finish and their messages be handled until ``done()`` holds."""
    for _ in range(50):
        await settle(pilot)
        if done():
            return
    raise AssertionError("the console never got there")


def test_runtime_without_config_has_no_accounts(tmp_path: Path) -> None:
    rt = Runtime(config=load_config(_write(tmp_path, "")), db_url="sqlite://", data_dir=tmp_path)
    assert rt.account_infos() == {} and rt.pollers() == ([], {})


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return path
