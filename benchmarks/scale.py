"""Store and command-line figures on a seeded store (see ``seed.py``), each
next to a floor measured in the same run:

* full-text search, first page: ``queries.search`` against the engine's own
  index lookup for the same words (FTS5 ``MATCH`` / ``tsvector @@``, 50 rows);
* ``omnitui conversations list --json`` (first 100), a fresh process, against
  a fresh Python process that runs the same inbox query with the bare driver
  and prints it as JSON;
* ``omnitui report --since 7d --json``, a fresh process (no floor; target 2 s);
* ``omnitui --help`` against ``python -c pass``;
* ``omnitui send`` (queue + deliver an SMS to the local Twilio API of the
  tests) against a fresh Python process that sends the same SMS with the
  bare Twilio SDK.
"""

from __future__ import annotations

import os
import sys
import tempfile
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.table import PYTHON, Figure, median_ms, process_ms
from storage import queries
from storage.db import Store

OMNITUI = [str(Path(PYTHON).parent / "omnitui")]  # the installed console script

INBOX_SQL = (
    "SELECT c.id, c.customer_id, cu.name, c.account, c.channel, c.subject, c.status, "
    "c.assignee, c.last_message_at, c.waiting_since, c.message_count "
    "FROM conversation c JOIN customer cu ON cu.id = c.customer_id "
    "WHERE c.status = 'open' ORDER BY c.last_message_at DESC, c.id DESC LIMIT 100"
)


def _raw_search_sql(dialect: str, words: list[str]) -> tuple[str, tuple[str, ...]]:
    if dialect == "sqlite":
        return (
            "SELECT rowid FROM message_fts WHERE message_fts MATCH ? LIMIT 50",
            (" ".join(f'"{w}"*' for w in words),),
        )
    return (
        "SELECT id FROM message WHERE search @@ to_tsquery('simple', %s) LIMIT 50",
        (" & ".join(f"{w}:*" for w in words),),
    )


def search_figures(store: Store, repeat: int) -> list[Figure]:
    figures = []
    dialect = store.engine.dialect.name
    # common, two common, rare, and a word nobody wrote
    for words in (["refund"], ["tracking", "depot"], ["Rechnung"], ["Kündigung"]):
        query = " ".join(words)

        def ours(q: str = query) -> None:
            with store.read() as session:
                queries.search(session, q)

        sql, params = _raw_search_sql(dialect, words)

        def floor(sql: str = sql, params: tuple[str, ...] = params) -> None:
            with store.engine.connect() as conn:
                raw = conn.connection.dbapi_connection
                assert raw is not None
                cursor = raw.cursor()
                cursor.execute(sql, params)
                cursor.fetchall()

        figures.append(
            Figure(
                f"search {query!r}, first page",
                median_ms(ours, repeat),
                median_ms(floor, repeat),
                "ms",
                limit=100,
                floor_is=f"the engine's full-text lookup of {query!r}, 50 rows",
            )
        )
    return figures


def report_figures(store: Store, repeat: int) -> list[Figure]:
    """The team report over 7 and 30 days, in process (no floor)."""
    from datetime import UTC, datetime, timedelta

    from storage import reports

    now = datetime.now(UTC)
    figures = []
    for days, limit in ((7, 500), (30, 2000)):

        def run(days: int = days) -> None:
            with store.read() as session:
                reports.report(session, since=now - timedelta(days=days), now=now)

        figures.append(
            Figure(
                f"report, last {days} days (in process)",
                median_ms(run, repeat),
                None,
                "ms",
                limit=limit,
            )
        )
    return figures


def _floor_list_script(url: str) -> str:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1]
        connect = f"import sqlite3; db = sqlite3.connect({path!r})"
    else:
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        connect = f"import psycopg; db = psycopg.connect({dsn!r})"
    return textwrap.dedent(
        f"""
        import json
        {connect}
        cur = db.cursor(); cur.execute({INBOX_SQL!r})
        print(json.dumps(cur.fetchall(), default=str))
        """
    )


def cli_figures(url: str, repeat: int) -> list[Figure]:
    env = {**os.environ, "OMNITUI_DB": url, "OMNITUI_CONFIG": "/nonexistent-omnitui-bench.toml"}
    env.pop("OMNITUI_DEBUG", None)
    with tempfile.TemporaryDirectory() as tmp:
        env["OMNITUI_DATA_DIR"] = tmp
        config = Path(tmp) / "config.toml"
        config.write_text('[agent]\nname = "alice"\n')
        env["OMNITUI_CONFIG"] = str(config)
        listing = process_ms([*OMNITUI, "conversations", "list", "--json"], repeat, env)
        floor = process_ms([PYTHON, "-c", _floor_list_script(url)], repeat, env)
        report = process_ms(
            [*OMNITUI, "report", "--since", "7d", "--json"], max(repeat // 2, 1), env
        )
        help_ = process_ms([*OMNITUI, "--help"], repeat, env)
        bare = process_ms([PYTHON, "-c", "pass"], repeat, env)
        libraries = process_ms([PYTHON, "-c", LIBRARIES], repeat, env)
    return [
        Figure(
            "conversations list --json (100)",
            listing,
            floor,
            "ms",
            limit=300,
            floor_is="python + bare driver: the same inbox query, printed as JSON",
        ),
        Figure(
            "(imports of typer, pydantic, SQLAlchemy, SQLModel)",
            libraries,
            bare,
            "ms",
            floor_is="python -c pass; what any command costs before it does anything",
        ),
        Figure("report --since 7d --json", report, None, "ms", limit=2000),
        Figure("omnitui --help", help_, bare, "ms", limit=300, floor_is="python -c pass"),
    ]


LIBRARIES = "import typer._adapters, sqlalchemy.orm, sqlmodel"

SDK_SEND = """
import sys
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
base, sid, token = sys.argv[1:4]
class Rebased(TwilioHttpClient):
    def request(self, method, url, *a, **k):
        return super().request(method, url.replace("https://api.twilio.com", base), *a, **k)
Client(sid, token, http_client=Rebased()).messages.create(
    to="+14155550111", from_="+14155550199", body="Your order has shipped."
)
"""


def send_figure(repeat: int) -> Figure:
    from tests.peers.twilio import TwilioServer

    server = TwilioServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.toml"
            config.write_text(
                textwrap.dedent(
                    f"""
                    [agent]
                    name = "alice"
                    [[accounts]]
                    name = "sms"
                    kind = "twilio"
                    account_sid = "{server.account_sid}"
                    auth_token_env = "BENCH_TWILIO_TOKEN"
                    phone_number = "+14155550199"
                    api_base = "{server.url}"
                    """
                )
            )
            env = {
                **os.environ,
                "OMNITUI_CONFIG": str(config),
                "OMNITUI_DB": f"sqlite:///{tmp}/send.db",
                "OMNITUI_DATA_DIR": tmp,
                "BENCH_TWILIO_TOKEN": server.auth_token,
            }
            argv = [*OMNITUI, "send", "--channel", "sms", "--to", "+14155550111"]
            ours = process_ms([*argv, "--body", "Your order has shipped."], repeat, env)
            floor = process_ms(
                [PYTHON, "-c", SDK_SEND, server.url, server.account_sid, server.auth_token],
                repeat,
                env,
            )
    finally:
        server.stop()
    return Figure(
        "omnitui send (queue + deliver SMS)",
        ours,
        floor,
        "ms",
        limit=1000,
        floor_is="python + bare Twilio SDK: messages.create to the same local API",
    )
