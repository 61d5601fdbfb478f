"""Signatures: written per account or per agent in the config (placeholders
checked when it is read), appended once after a ``-- `` line when a message is
queued, on e-mail unless the account says otherwise, never on notes."""

from __future__ import annotations

import email
from dataclasses import replace
from email.policy import default as default_policy
from pathlib import Path

import pytest
from sqlalchemy import select

from omnitui import services
from omnitui.config import ConfigError, load_config
from omnitui.runtime import Runtime
from omnitui.services import AccountInfo, Extras, InvalidRequest
from omnitui.services.ingest import ingest
from omnitui.services.signing import signature_for
from omnitui.signatures import check_signature, fill_signature, sign
from providers.settings import TwilioSettings
from storage.db import Store
from storage.models import Note, conversation_t
from tests.helpers import SHOP_EMAIL, SHOP_NUMBER, batch, cli_runner, message, sms, write_config
from tests.helpers import email as mail
from tests.peers.smtp import SmtpPeer
from tests.test_outgoing_files import _mail_config

SIGNATURE = "{agent.name} · {account.name}\n<{account.address}> {{24/7}}"


def test_known_placeholders_and_doubled_braces_fill() -> None:
    check_signature(SIGNATURE)
    values = {"agent.name": "Alice", "account.name": "shop", "account.address": "s@x.org"}
    assert fill_signature(SIGNATURE, values) == "Alice · shop\n<s@x.org> {24/7}"
    assert sign("Hello Ann\n\n", "Alice") == "Hello Ann\n\n-- \nAlice"
    assert sign(sign("Hello", "Alice"), "Alice") == "Hello\n\n-- \nAlice"  # once


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("{agnet.name}", "unknown placeholder {agnet.name}"),
        ("{customer.name}", "unknown placeholder"),
        ("Alice {", "a lone '{'"),
        ("}", "a lone '}'"),
        ("x" * 2001, "at most 2000"),
    ],
)
def test_other_placeholders_are_refused(text: str, why: str) -> None:
    with pytest.raises(ValueError) as refused:
        check_signature(text)
    assert why in str(refused.value)


_ACCOUNT = """
[[accounts]]
name = "demo"
kind = "demo"
"""


def test_an_unknown_placeholder_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, _ACCOUNT + 'signature = "Cheers, {agent.nam}"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    assert str(refused.value).startswith(f"{path}, line 5, accounts[0].signature: unknown")
    assert "{agent.name}" in str(refused.value)  # the ones there are
    agent = write_config(tmp_path, '[agent]\nsignature = "{me}"\n' + _ACCOUNT, "agent.toml")
    with pytest.raises(ConfigError, match=r"line 2, agent\.signature: unknown placeholder \{me\}"):
        load_config(agent)
    channels = write_config(tmp_path, _ACCOUNT + 'signature_channels = ["fax"]\n', "ch.toml")
    with pytest.raises(ConfigError, match="signature_channels"):
        load_config(channels)


def test_the_agents_signature_wins_over_the_accounts(tmp_path: Path) -> None:
    text = (
        _ACCOUNT
        + 'signature = "The {account.name} team"\nsignature_channels = ["email", "telegram"]\n'
    )
    account = Runtime(load_config(write_config(tmp_path, text)), "sqlite://", tmp_path)
    info = account.account_infos()["demo"]
    assert (info.signature, info.signature_channels) == (
        "The {account.name} team",
        ("email", "telegram"),
    )
    assert info.limits["email"].can_attach  # the limits come with it, from the settings
    agent = Runtime(
        load_config(
            write_config(tmp_path, '[agent]\nsignature = "{agent.name}"\n' + text, "a.toml")
        ),
        "sqlite://",
        tmp_path,
    )
    assert agent.account_infos()["demo"].signature == "{agent.name}"


def test_who_gets_a_signature() -> None:
    info = AccountInfo("shop", ("email", "sms"), {"email": SHOP_EMAIL}, signature=SIGNATURE)
    assert signature_for(info, "email", "Alice") == f"Alice · shop\n<{SHOP_EMAIL}> {{24/7}}"
    assert signature_for(info, "sms", "Alice") is None  # e-mail only by default
    assert signature_for(info, "sms", "Alice", signed=True) == "Alice · shop\n<> {24/7}"
    assert signature_for(info, "email", "Alice", signed=False) is None
    assert signature_for(AccountInfo("plain", ("email",)), "email", "Alice") is None


# -- at queue time, both engines --------------------------------------------------------


def _accounts(signature_channels: tuple[str, ...] | None = None) -> dict[str, AccountInfo]:
    """The shop's account; signing on ``signature_channels`` when given (else
    as AccountInfo does by default)."""
    shop = AccountInfo(
        "shop",
        ("email", "sms"),
        addresses={"email": SHOP_EMAIL, "sms": SHOP_NUMBER},
        signature="{agent.name}, {account.name}",
    )
    if signature_channels is not None:
        shop = replace(shop, signature_channels=signature_channels)
    return {"shop": shop}


def _conversation(store: Store, channel: str) -> int:
    with store.read() as s:
        return int(
            s.execute(
                select(conversation_t.c.id).where(conversation_t.c.channel == channel)
            ).scalar_one()
        )


@pytest.fixture
def seeded(store: Store) -> Store:
    ingest(store, "shop", batch(mail("m1"), sms("SM1")))
    return store


def test_an_email_reply_is_signed_once_after_the_separator(seeded: Store) -> None:
    queued = services.reply(seeded, _accounts(), _conversation(seeded, "email"), "Hi Ann!", "alice")
    assert message(seeded, queued).body_text == "Hi Ann!\n\n-- \nalice, shop"
    new = services.send_new(
        seeded,
        _accounts(),
        channel="email",
        to="bo@example.com",
        subject="Hello",
        body="Welcome",
        author="bob",
    )
    assert message(seeded, new).body_text == "Welcome\n\n-- \nbob, shop"


def test_sms_notes_and_no_signature_stay_unsigned(seeded: Store) -> None:
    sms_conv = _conversation(seeded, "sms")
    plain = services.reply(seeded, _accounts(), sms_conv, "On its way", "alice")
    assert message(seeded, plain).body_text == "On its way"
    signed = services.reply(
        seeded, _accounts(signature_channels=("email", "sms")), sms_conv, "Done", "alice"
    )
    assert message(seeded, signed).body_text == "Done\n\n-- \nalice, shop"
    unsigned = services.reply(
        seeded,
        _accounts(),
        _conversation(seeded, "email"),
        "No signature",
        "alice",
        extras=Extras(signed=False),
    )
    assert message(seeded, unsigned).body_text == "No signature"
    note = services.add_note(seeded, "alice", "Internal", conversation_id=sms_conv)
    with seeded.read() as s:
        kept = s.get(Note, note)
        assert kept is not None and kept.body == "Internal"


def test_a_signature_alone_is_not_a_message(seeded: Store) -> None:
    with pytest.raises(InvalidRequest, match="empty"):
        services.reply(seeded, _accounts(), _conversation(seeded, "email"), "  \n", "alice")


# -- what the SMTP peer receives -------------------------------------------------------


def test_the_smtp_peer_receives_the_signature_after_the_separator(
    db_url: str, tmp_path: Path, smtp_peer: SmtpPeer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "unused")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "smtp-secret")
    config = _mail_config(tmp_path, smtp_peer, 'signature = "{agent.name}\\n{account.address}"')
    run = cli_runner(config, db_url)
    args = ["send", "--channel", "email", "--to", "bo@example.com", "--subject", "Hi"]
    run(*args, "--body", "Hello Bo")
    run(*args, "--body", "Bare", "--no-signature")
    texts = [
        email.message_from_bytes(r.data, policy=default_policy).get_content()
        for r in smtp_peer.received
    ]
    assert texts[0].replace("\r\n", "\n") == "Hello Bo\n\n-- \nalice\nsupport@shop.example\n"
    assert "-- " not in texts[1]


def test_the_signatures_in_the_example_config_are_valid(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    text = (root / "config.example.toml").read_text()
    assert text.count("\n# signature = ") == 2  # the agent's and the mail account's
    full = write_config(tmp_path, text.replace("\n# signature = ", "\nsignature = "))
    config = load_config(full)
    assert config.signature == "{agent.name}, Example Shop support"
    assert config.accounts[-1].signature == (
        "{agent.name}\nExample Shop support · {account.address}"
    )


def test_a_whatsapp_template_goes_as_approved_never_signed(store: Store) -> None:
    settings = TwilioSettings.model_validate(
        {
            "name": "wa",
            "account_sid": "AC123",
            "auth_token_env": "UNUSED",
            "phone_number": "+14155550199",
            "whatsapp_number": "whatsapp:+14155550188",
            "templates": [
                {
                    "name": "hello",
                    "content_sid": "HX" + "a1" * 16,
                    "variables": ["1"],
                    "text": "Hello {{1}}!",
                }
            ],
            "signature": "{agent.name}",
            "signature_channels": ["whatsapp"],
        }
    )
    accounts = {"wa": AccountInfo.from_settings(settings)}
    ingest(
        store,
        "wa",
        batch(
            sms("WA1", "whatsapp:+14155550100", channel="whatsapp", ours="whatsapp:+14155550188")
        ),
    )
    conv = _conversation(store, "whatsapp")
    extras = Extras(template="hello", variables=(("1", "Ann"),))
    queued = services.reply(store, accounts, conv, "", "alice", extras=extras)
    assert message(store, queued).body_text == "Hello Ann!"
