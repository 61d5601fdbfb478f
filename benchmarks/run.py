"""Every speed figure of omnitui in one table, each next to its floor
measured in the same run (SQLite, Textual, the Twilio SDK, a bare Python
process), with the ratio and the target.

    .venv/bin/python benchmarks/run.py                    # 1,000,000 messages
    .venv/bin/python benchmarks/run.py --messages 100000  # a quicker look
    .venv/bin/python benchmarks/run.py --db postgresql+psycopg://user@127.0.0.1/bench

Without ``--db`` the seeded SQLite store is kept in ``.bench/`` and reused
by the next run (seeding a million messages takes about five minutes); a
``--db`` that is empty is seeded first. Ingest and Twilio polling are
measured on their own fresh stores (see ``ingest.py``, ``imap_sync.py``,
``twilio_poll.py``); IMAP needs Dovecot (``scripts/install-test-deps.sh``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from benchmarks import imap_sync, ingest, scale, seed, triage, tui, twilio_poll
from benchmarks.table import Figure, print_table
from storage.db import open_store
from storage.models import message_t

ROOT = Path(__file__).resolve().parent.parent


def _seeded(url: str, data: Path, messages: int) -> None:
    store = open_store(url, data)
    with store.read() as session:
        count = session.execute(select(func.count()).select_from(message_t)).scalar_one()
    store.close()
    if count == 0:
        print(f"seeding {messages:,} messages into {url} ...", file=sys.stderr, flush=True)
        seed.seed(url, data, messages, customers=max(messages // 20, 100), big=5_000).close()
    elif count < messages * 0.9:
        print(f"note: {url} holds {count:,} messages", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", help="store to measure (default: a SQLite store in .bench/)")
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument(
        "--only",
        choices=("ingest", "imap", "twilio", "tui", "store", "cli", "triage"),
        action="append",
        help="measure only these (repeatable)",
    )
    args = parser.parse_args()
    bench = ROOT / ".bench"
    bench.mkdir(exist_ok=True)
    url = args.db or f"sqlite:///{bench / f'store-{args.messages}.db'}"
    data = bench / "data"
    only = set(args.only or ("ingest", "imap", "twilio", "tui", "store", "cli", "triage"))
    started = time.perf_counter()
    if only & {"tui", "store", "cli", "triage"}:
        _seeded(url, data, args.messages)
    figures: list[Figure] = []
    if "ingest" in only:
        figures.append(ingest.measure())
    if "imap" in only:
        figures.append(imap_sync.measure())
    if "twilio" in only:
        figures.append(twilio_poll.measure())
    if "tui" in only:
        figures += tui.measure(url, args.repeat)
    if "store" in only:
        store = open_store(url, data)
        figures += scale.search_figures(store, args.repeat)
        figures += scale.report_figures(store, max(args.repeat // 3, 1))
        store.close()
    if "triage" in only:
        figures += triage.measure(url, args.repeat, data)
    if "cli" in only:
        figures += scale.cli_figures(url, args.repeat)
        figures.append(scale.send_figure(args.repeat))
    print(f"\nstore: {url} ({args.messages:,} messages); {time.perf_counter() - started:.0f} s\n")
    print_table(figures)


if __name__ == "__main__":
    main()
