"""Alerts reach one person once: a customer's message on a conversation
assigned to the agent and a mention of them are claimed once per agent
(two consoles, a restart: one alert), a console's first round is one
summary, away mutes and the summary arrives on back; a notify_cmd gets the
event as JSON and a failing or hanging one is stopped and logged; the OSC
text cannot carry an escape sequence. Store tests run on both engines."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from omnitui import services
from omnitui.notify import DesktopMode, osc_notification, run_notify_cmd, safe_text
from omnitui.services import alerts
from omnitui.services.alerts import Alerter
from omnitui.services.ingest import ingest
from storage import queries
from storage.db import Store
from storage.models import utcnow
from tests.helpers import T0, batch, email


def minutes_ago(minutes: float) -> float:
    """``email(minutes=...)`` for a message sent ``minutes`` before now."""
    return (utcnow() - T0).total_seconds() / 60 - minutes


def arrive(store: Store, ext: str, *, ago: float = 0, subject: str = "Refund please") -> int:
    """A customer's e-mail in Ann's thread; returns its conversation."""
    root = "<a0@mail.example.com>"
    first = ext == "a0"
    message = email(
        ext,
        minutes=minutes_ago(ago),
        subject=subject,
        in_reply_to=None if first else root,
        references=() if first else (root,),
    )
    ingest(store, "shop", batch(message))
    with store.read() as session:
        (conv,) = queries.list_conversations(session, view="all")
    return conv.id


@pytest.fixture
def mine(store: Store) -> int:
    """Ann's conversation, assigned to alice (its first message came before that)."""
    conv = arrive(store, "a0", ago=30)
    services.assign(store, conv, "alice", "bob")
    return conv


def later(alerter: Alerter) -> alerts.AlertRound:
    return alerter.round(utcnow())


def test_a_message_on_my_conversation_alerts_once_across_two_consoles(
    store: Store, mine: int
) -> None:
    one, two = Alerter(store, "alice", utcnow()), Alerter(store, "alice", utcnow())
    assert later(one).summary is None and later(two).summary is None  # nothing while away
    arrive(store, "a1")
    rounds = [later(one), later(two)]
    told = [e for r in rounds for e in r.alerts]
    assert [(e.kind, e.who, e.conversation_id) for e in told] == [("message", "Ann Example", mine)]
    assert told[0].title == "New message from Ann Example"
    assert later(one).alerts == () and later(two).alerts == ()
    bobs = Alerter(store, "bob", utcnow())  # not bob's conversation
    later(bobs)
    arrive(store, "a2")
    assert later(bobs).alerts == ()


def test_the_message_that_came_before_the_assignment_is_no_alert(store: Store, mine: int) -> None:
    alerter = Alerter(store, "alice", utcnow() - timedelta(hours=1))
    assert alerts.due(store, "alice", utcnow() - timedelta(hours=2)) == []
    assert later(alerter).summary is None


def test_a_mention_alerts_the_agent_mentioned_once(store: Store, mine: int) -> None:
    alice = Alerter(store, "alice", utcnow())
    later(alice)
    services.add_note(store, "bob", "@alice see this \x1b[2J", conversation_id=mine)
    services.add_note(store, "alice", "@alice a note to self", conversation_id=mine)
    (event,) = later(alice).alerts
    assert (event.kind, event.title, event.conversation_id) == (
        "mention",
        "bob mentioned you",
        mine,
    )
    assert later(alice).unread_mentions == 1
    assert later(Alerter(store, "alice", utcnow())).summary is None  # claimed: no re-alert


def test_a_restart_does_not_alert_again_and_sums_up_what_came_meanwhile(
    store: Store, mine: int
) -> None:
    first = Alerter(store, "alice", utcnow())
    later(first)
    arrive(store, "a1")
    assert len(later(first).alerts) == 1
    # the console stops; meanwhile two messages and a mention arrive
    arrive(store, "a2")
    arrive(store, "a3")
    services.add_note(store, "bob", "@alice look", conversation_id=mine)
    restarted = Alerter(store, "alice", utcnow())
    start = later(restarted)
    assert start.alerts == ()  # no flood
    assert start.summary == "2 new messages on your conversations, 1 mention while you were away"
    assert {e.key for e in start.summarized} >= {"mention:1"}
    assert later(restarted).alerts == () and later(restarted).summary is None
    assert later(Alerter(store, "alice", utcnow())).summary is None  # and again: nothing


def test_away_mutes_and_the_summary_arrives_on_back(store: Store, mine: int) -> None:
    alerter = Alerter(store, "alice", utcnow())
    later(alerter)
    since = alerts.set_away(store, "alice", True)
    assert since is not None and alerts.away_since(store, "alice") == since
    arrive(store, "a1")
    services.add_note(store, "bob", "@alice look", conversation_id=mine)
    muted = later(alerter)
    assert (muted.alerts, muted.summary, muted.away) == ((), None, since)
    other = Alerter(store, "alice", utcnow())  # a console started while away: muted too
    assert later(other).away == since
    assert alerts.set_away(store, "alice", False) is None
    back = later(alerter)
    assert back.alerts == ()
    assert back.summary == "1 new message on your conversations, 1 mention while you were away"
    assert later(other).summary == "Welcome back: nothing new while you were away"  # claimed once
    arrive(store, "a2")
    assert len(later(alerter).alerts) + len(later(other).alerts) == 1


def test_claims_made_at_once_by_two_claimers_give_one_winner(store: Store, mine: int) -> None:
    arrive(store, "a1")
    events = alerts.due(store, "alice", utcnow() - timedelta(hours=1))
    assert len(events) == 1
    won = [alerts.claim(store, "alice", events), alerts.claim(store, "alice", events)]
    assert [len(w) for w in won] == [1, 0]
    assert alerts.claim(store, "bob", events) == events  # claims are per agent


def test_the_notify_command_gets_the_event_as_json(store: Store, mine: int, tmp_path: Path) -> None:
    later_round = Alerter(store, "alice", utcnow())
    later(later_round)
    arrive(store, "a1", subject="Re: Refund \x1b]0;pwned\x07please")
    (event,) = later(later_round).alerts
    out = tmp_path / "event.json"
    script = tmp_path / "sink.py"
    script.write_text(f"import sys\nopen({str(out)!r}, 'w').write(sys.stdin.read())\n")
    command = f"{sys.executable} {script}"
    assert run_notify_cmd(command, event.document("alice"), timeout=20)
    got = json.loads(out.read_text())
    assert got["kind"] == "message" and got["agent"] == "alice" and got["conversation_id"] == mine
    assert got["text"] == "Re: Refund \x1b]0;pwned\x07please"  # as sent: JSON escapes it
    assert "\x1b" not in out.read_text()


def test_a_failing_or_hanging_notify_command_is_logged_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "omnitui.alerts")
    failing = tmp_path / "fail.py"
    failing.write_text("import sys\nsys.stderr.write('no display\\nat all')\nsys.exit(3)\n")
    hanging = tmp_path / "hang.py"
    hanging.write_text("import time\ntime.sleep(60)\n")
    doc = {"kind": "message"}
    assert not run_notify_cmd(f"{sys.executable} {failing}", doc, timeout=20)
    assert not run_notify_cmd(f"{sys.executable} {hanging}", doc, timeout=0.5)
    assert not run_notify_cmd("/nonexistent/notifier --x", doc, timeout=5)
    assert not run_notify_cmd("'unbalanced", doc, timeout=5)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 4 and all("\n" not in line for line in lines)
    assert "exit 3" in lines[0] and "no display at all" in lines[0]
    assert "longer than 0.5 s" in lines[1]
    assert "could not run" in lines[2]


@pytest.mark.parametrize("mode", ["osc9", "osc777"])
def test_the_desktop_notification_cannot_carry_an_escape_sequence(mode: DesktopMode) -> None:
    title = "New message from \x1b]0;owned\x07Mallory\x9c"
    body = "Re: \x1b[2J\x1b[31mhi; there\x07\x1b\\ and \x1b]777;notify;x;y\x07 end\nnext"
    seq = osc_notification(mode, title, body)
    head = "\x1b]9;" if mode == "osc9" else "\x1b]777;notify;"
    assert seq.startswith(head) and seq.endswith("\x07")
    inner = seq[len(head) : -1]
    assert not any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in inner)
    assert inner.count(";") == (1 if mode == "osc777" else 0)  # only the title/body split
    assert "Mallory" in inner and "hi, there" in inner
    assert osc_notification("off", title, body) == ""


def test_safe_text_is_one_short_line() -> None:
    assert safe_text("a\nb\tc " + "x" * 500, 20) == "a b c " + "x" * 14


def test_the_horizon_starts_at_the_last_claim_at_most_a_week_back(store: Store, mine: int) -> None:
    now = datetime.now(UTC)
    assert alerts.horizon(store, "alice", now) == now - alerts.LIVE_WINDOW  # never alerted
    arrive(store, "a1")
    alerts.claim(store, "alice", alerts.due(store, "alice", now - timedelta(hours=1)))
    mark = alerts.horizon(store, "alice", now + timedelta(days=1))
    assert now - alerts.SLACK - timedelta(minutes=1) < mark < now
    assert alerts.horizon(store, "alice", now + timedelta(days=30)) == now + timedelta(days=23)


def test_an_alerts_round_is_served_by_indexes(store: Store, mine: int) -> None:
    from tests.test_query_plans import captured, full_scans

    arrive(store, "a1")
    services.add_note(store, "bob", "@alice look", conversation_id=mine)
    alerter = Alerter(store, "alice", utcnow())
    with captured(store) as statements:
        later(alerter)  # the summary round: every source, the horizon, the count
        later(alerter)
    assert len(statements) >= 5
    assert full_scans(store, statements, set()) == []


def test_claimers_racing_in_threads_claim_each_event_once(store: Store, mine: int) -> None:
    for n in range(1, 6):
        arrive(store, f"a{n}")
    events = alerts.due(store, "alice", utcnow() - timedelta(hours=1))
    assert len(events) == 5
    start = threading.Barrier(4)
    won: list[list[alerts.AlertEvent]] = []

    def claimer() -> None:
        start.wait()
        won.append(alerts.claim(store, "alice", events))

    threads = [threading.Thread(target=claimer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(e.key for w in won for e in w) == sorted(e.key for e in events)


def test_claims_older_than_any_lookback_are_forgotten(store: Store, mine: int) -> None:
    arrive(store, "a1")
    (event,) = alerts.due(store, "alice", utcnow() - timedelta(hours=1))
    alerts.claim(store, "alice", [event])
    assert alerts.prune(store, utcnow()) == 0
    assert alerts.prune(store, utcnow() + alerts.MAX_LOOKBACK + timedelta(days=2)) == 1


def test_a_notify_command_flooding_stderr_costs_no_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 64 MiB on stderr, then a failure: the console keeps the start for the
    # log line, not the flood (it once held all of it, then joined a copy)
    caplog.set_level(logging.WARNING, "omnitui.alerts")
    flood = tmp_path / "flood.py"
    flood.write_text(
        "import sys\nfor _ in range(64):\n    sys.stderr.write('x' * (1 << 20))\nsys.exit(2)\n"
    )
    tracemalloc.start()
    try:
        assert not run_notify_cmd(f"{sys.executable} {flood}", {"kind": "message"}, timeout=30)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, peak
    (line,) = [r.getMessage() for r in caplog.records]
    assert "exit 2" in line and len(line) < 400


def test_a_notify_command_that_leaves_a_child_holding_stderr_is_done_when_it_exits(
    tmp_path: Path,
) -> None:
    # a notifier that starts a helper in the background and exits 0 at once:
    # it succeeded, and the console does not wait for the helper
    pid_file = tmp_path / "child.pid"
    starter = tmp_path / "starter.py"
    starter.write_text(
        "import subprocess, sys\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
    )
    started = time.monotonic()
    try:
        assert run_notify_cmd(f"{sys.executable} {starter}", {"kind": "message"}, timeout=30)
        assert time.monotonic() - started < 15  # not the whole timeout
    finally:
        if pid_file.exists():
            with contextlib.suppress(OSError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
