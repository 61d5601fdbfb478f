"""The sync engine keeps going when one account fails, and backs off from it."""

from __future__ import annotations

import threading

from omnitui.services import sync
from omnitui.services.sync import SyncReport, next_delay
from providers.demo import DemoProvider
from providers.email import EmailProvider
from providers.settings import ImapSettings
from storage.db import Store
from storage.queries import account_health


def dead_mail_account() -> EmailProvider:
    settings = ImapSettings(
        name="mail",
        host="127.0.0.1",
        port=1,
        security="none",
        username="x",
        password_env="X",
        from_address="s@shop.example",
        smtp_host="127.0.0.1",
        smtp_port=1,
        smtp_security="none",
    )
    return EmailProvider("mail", settings, {"password": "pw"})


def test_a_dead_account_backs_off_while_the_others_work(store: Store) -> None:
    reports: list[SyncReport] = []
    stop = threading.Event()

    def record(report: SyncReport) -> None:
        reports.append(report)
        if sum(r.account == "demo" for r in reports) >= 4:
            stop.set()

    providers = [(dead_mail_account(), 0.2), (DemoProvider("demo"), 0.2)]
    worker = threading.Thread(
        target=sync.watch, args=(store, providers), kwargs={"stop": stop, "on_report": record}
    )
    worker.start()
    worker.join(60)
    assert not worker.is_alive()
    demo = [r for r in reports if r.account == "demo"]
    mail = [r for r in reports if r.account == "mail"]
    assert all(r.ok for r in demo) and demo[0].stored > 0
    assert mail and all(r.error_kind == "transient" for r in mail)
    assert len(mail) < len(demo)  # backing off
    with store.read() as s:
        health = {h.account: h for h in account_health(s, ["mail", "demo"])}
    assert health["mail"].last_error and "IMAP 127.0.0.1:1" in health["mail"].last_error
    assert health["demo"].last_error is None and health["demo"].last_success_at is not None


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    assert next_delay(60, 0) == 60
    first, third = next_delay(10, 1), next_delay(10, 3)
    assert 10 <= first <= 20 and 40 <= third <= 80
    assert next_delay(60, 30) <= sync.MAX_BACKOFF


def test_a_rate_limit_is_waited_out_within_the_cap() -> None:
    assert next_delay(10, 1, retry_after=120) == 120  # longer than the backoff
    assert 10 <= next_delay(10, 1, retry_after=3) <= 20  # shorter: the backoff stands
    assert next_delay(10, 1, retry_after=10**6) == sync.MAX_BACKOFF
