"""Fill a store with a busy team's year: N messages (default 1,000,000) from
50,000 customers on every channel, with notes, assignments and statuses.

Messages go through ``omnitui.services.ingest.ingest`` in provider-sized batches, so
customers, identities, threads and conversation summaries are exactly what
the product builds from real traffic. Then, set-wise: agents' replies get an
author, conversations get assignees and statuses (with the audit events the
reports read), and notes are added.

Shape: customer activity is skewed (a few write often, most once or twice);
one customer, ``big.customer@example.com``, has ``--big`` messages (5,000) so
the console can be measured opening a long timeline; channels e-mail 50 %,
SMS 20 %, WhatsApp 15 %, Telegram 10 %, Matrix 5 %; bodies from a line to a
page, e-mail answers quoting the message before; the last year up to now.

    .venv/bin/python benchmarks/seed.py --db sqlite:///big.db [--messages 1000000]
    .venv/bin/python benchmarks/seed.py --db postgresql+psycopg://u@127.0.0.1/big
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import bindparam, func, insert, select, update

from omnitui.services.ingest import ingest
from providers.base import Channel, InboundMessage, PollBatch
from storage.db import Store, open_store
from storage.models import audit_t, conversation_t, customer_t, message_t, note_t

BIG_ADDRESS = "big.customer@example.com"
AGENTS = ("alice", "bob", "carol", "dave", "erin", "frank")
CHANNELS: tuple[tuple[Channel, int], ...] = (
    ("email", 50),
    ("sms", 20),
    ("whatsapp", 15),
    ("telegram", 10),
    ("matrix", 5),
)
ACCOUNT = {
    "email": "mail",
    "sms": "twilio",
    "whatsapp": "twilio",
    "telegram": "telegram",
    "matrix": "matrix",
}
OURS = {
    "email": "support@shop.example",
    "sms": "+14155550100",
    "whatsapp": "+14155550100",
    "telegram": "bot",
    "matrix": "@support:shop.example",
}
TOPICS = (
    "refund for order",
    "package arrived damaged",
    "cannot log in",
    "change my subscription plan",
    "invoice shows the wrong amount",
    "tracking number not working",
    "cancel my account",
    "card was charged twice",
    "delivery is late",
    "password reset link expired",
    "upgrade to the business plan",
    "replacement part for",
)
SENTENCES = (
    "I ordered this last week and it still has not arrived.",
    "Could you please check what happened with my payment?",
    "The tracking page says the parcel is in the depot since Monday.",
    "Thanks for the quick answer, that helped a lot.",
    "I tried resetting my password twice but the link does not work.",
    "My card was charged but the order shows as pending.",
    "Can I change the delivery address before it ships?",
    "The box was crushed and the screen is cracked.",
    "Please cancel the subscription at the end of this month.",
    "Is there a discount for annual billing?",
    "The invoice lists two licences but we only use one.",
    "I'd like a refund rather than a replacement.",
    "We are a team of twelve and need more seats.",
    "Sorry for the many messages, it is a bit urgent.",
    "Grüße aus München — die Rechnung fehlt leider noch.",
    "Merci, tout fonctionne maintenant !",
)
ANSWERS = (
    "Thanks for getting in touch. I have looked into your order.",
    "I'm sorry about the trouble. A replacement is on its way.",
    "I've issued the refund; it shows on your statement in 3-5 days.",
    "Could you send me the order number so I can check it?",
    "The link is valid for an hour; I've sent you a fresh one.",
    "Your plan is changed from the next billing date.",
    "The carrier confirms delivery for tomorrow before noon.",
    "I've removed the second charge; you'll see it back soon.",
)
NOTES = (
    "Customer is a reseller, see the partner agreement.",
    "Refund approved by finance.",
    "Escalated to the warehouse team.",
    "Called the customer back, voicemail.",
    "Same issue as last month; check the carrier.",
    "VIP: answer within the hour.",
)


@dataclass
class _Thread:
    channel: Channel
    key: str
    subject: str
    last_id: str | None
    last_at: datetime
    last_body: str
    last_out: bool = False


class Generator:
    """Messages oldest first, deterministic for a given ``seed``."""

    def __init__(self, messages: int, customers: int, big: int, seed: int, now: datetime) -> None:
        self.rng = random.Random(seed)
        self.messages, self.customers, self.big = messages, customers, big
        self.t0 = now - timedelta(days=365)
        self.step = timedelta(days=365) / max(messages, 1)
        self.threads: dict[int, _Thread] = {}
        names = [name for name, _ in CHANNELS]
        weights = [weight for _, weight in CHANNELS]
        self.channel_of = [
            self.rng.choices(names, weights)[0] for _ in range(customers)
        ]  # each customer writes on one channel
        self.channel_of[0] = "email"

    def _customer(self, i: int) -> int:
        if self.big and i % (self.messages // self.big) == 0:
            return 0
        # Skewed: a quarter of the traffic from 2 % of the customers.
        if self.rng.random() < 0.25:
            return self.rng.randrange(1, max(self.customers // 50, 2))
        return self.rng.randrange(1, self.customers)

    def _address(self, customer: int, channel: str) -> str:
        if customer == 0:
            return BIG_ADDRESS
        if channel == "email":
            return f"customer{customer}@example.com"
        if channel in ("sms", "whatsapp"):
            return f"+1{212 + customer % 700}{2000000 + customer:07d}"
        if channel == "telegram":
            return str(100000 + customer)
        return f"@customer{customer}:example.org"

    def _body(self, lines: int) -> str:
        return " ".join(self.rng.choice(SENTENCES) for _ in range(lines))

    def __iter__(self) -> Iterator[InboundMessage]:
        rng = self.rng
        for i in range(self.messages):
            at = self.t0 + self.step * i
            customer = self._customer(i)
            channel = self.channel_of[customer]
            thread = self.threads.get(customer)
            if thread is None or at - thread.last_at > timedelta(days=14) or rng.random() < 0.04:
                topic = rng.choice(TOPICS)
                thread = _Thread(
                    channel, f"c{customer}-{i}", f"{topic} {i % 9000 + 1000}", None, at, ""
                )
                self.threads[customer] = thread
            # an answer follows most customer messages; customers write again too
            outgoing = thread.last_id is not None and not thread.last_out and rng.random() < 0.8
            yield self._message(i, at, customer, thread, outgoing)

    def _message(
        self, i: int, at: datetime, customer: int, thread: _Thread, outgoing: bool
    ) -> InboundMessage:
        channel = thread.channel
        account = ACCOUNT[channel]
        theirs, ours = self._address(customer, channel), OURS[channel]
        if outgoing:
            body = self.rng.choice(ANSWERS)
        else:
            body = self._body(self.rng.choice((1, 1, 2, 3, 5, 12)))
        if channel == "email" and thread.last_body:
            body += "\n\nOn an earlier day you wrote:\n> " + thread.last_body.replace("\n", "\n> ")
        external = (
            f"<m{i}@seed.example>" if channel == "email" else f"{account[:2].upper()}{i:032x}"
        )
        msg = InboundMessage(
            external_id=external,
            channel=channel,
            from_address=ours if outgoing else theirs,
            to_address=theirs if outgoing else ours,
            sent_at=at,
            body_text=body[:4000],
            from_name=None if outgoing else f"Customer {customer}" if customer else "Big Customer",
            subject=(("Re: " if thread.last_id else "") + thread.subject)
            if channel == "email"
            else None,
            direction="out" if outgoing else "in",
            thread_id=thread.key if channel in ("telegram", "matrix") else None,
            message_id=external if channel == "email" else None,
            in_reply_to=thread.last_id if channel == "email" else None,
            references=(thread.last_id,) if channel == "email" and thread.last_id else (),
        )
        thread.last_id, thread.last_at, thread.last_body = external, at, body.split("\n")[0]
        thread.last_out = outgoing
        return msg


def _batches(gen: Generator, size: int) -> Iterator[dict[str, list[InboundMessage]]]:
    per_account: dict[str, list[InboundMessage]] = {}
    count = 0
    for msg in gen:
        per_account.setdefault(ACCOUNT[msg.channel], []).append(msg)
        count += 1
        if count == size:
            yield per_account
            per_account, count = {}, 0
    if per_account:
        yield per_account


def _finish(store: Store, now: datetime, seed: int) -> None:
    """Authors, assignees, statuses (with audit events) and notes, set-wise."""
    rng = random.Random(seed)
    c = conversation_t.c
    with store.write() as session:
        session.execute(
            update(message_t)
            .where(message_t.c.direction == "out")
            .values(author=AGENTS[0])  # refined per conversation below
        )
        convs = session.execute(
            select(c.id, c.customer_id, c.last_message_at, c.waiting_since).order_by(c.id)
        ).all()
    statuses: list[dict[str, object]] = []
    audits: list[dict[str, object]] = []
    notes: list[dict[str, object]] = []
    for conv_id, customer_id, last, waiting in convs:
        last = last if last.tzinfo else last.replace(tzinfo=UTC)
        age = now - last
        assignee = rng.choice(AGENTS) if rng.random() < 0.8 else None
        if age > timedelta(days=7) or (waiting is None and rng.random() < 0.7):
            status = "resolved"
        elif waiting is None:
            status = "pending"
        else:
            status = rng.choices(("open", "snoozed"), (9, 1))[0]
        statuses.append({"cid": conv_id, "st": status, "who": assignee})
        if status == "resolved":
            at = last + timedelta(minutes=rng.randrange(5, 600))
            detail = {"after": {"status": "resolved"}, "before": {"status": "open"}}
            audits.append(
                {
                    "at": min(at, now),
                    "actor": assignee or AGENTS[0],
                    "action": "status",
                    "customer_id": customer_id,
                    "conversation_id": conv_id,
                    "detail": json.dumps(detail, sort_keys=True),
                }
            )
        if rng.random() < 0.15:
            notes.append(
                {
                    "customer_id": customer_id,
                    "conversation_id": conv_id,
                    "author": assignee or rng.choice(AGENTS),
                    "body": rng.choice(NOTES),
                    "created_at": min(last + timedelta(minutes=3), now),
                }
            )
    snoozed_until = now + timedelta(days=2)
    for start in range(0, len(statuses), 20_000):
        part = statuses[start : start + 20_000]
        with store.write() as session:
            session.execute(
                update(conversation_t)
                .where(c.id == bindparam("cid"))
                .values(status=bindparam("st"), assignee=bindparam("who")),
                part,
            )
    with store.write() as session:
        session.execute(
            update(conversation_t).where(c.status == "snoozed").values(snoozed_until=snoozed_until)
        )
        # Each answer was written by the conversation's assignee.
        session.execute(
            update(message_t)
            .where(
                message_t.c.direction == "out",
                message_t.c.conversation_id == c.id,
                c.assignee.is_not(None),
            )
            .values(author=c.assignee)
        )
    for rows, table in ((audits, audit_t), (notes, note_t)):
        for start in range(0, len(rows), 20_000):
            with store.write() as session:
                session.execute(insert(table), rows[start : start + 20_000])


def seed(url: str, data_dir: Path, messages: int, customers: int, big: int, seed: int = 1) -> Store:
    """Fill the store at ``url`` (which must be empty) and return it open."""
    store = open_store(url, data_dir)
    with store.read() as session:
        if session.execute(select(func.count()).select_from(message_t)).scalar_one():
            raise SystemExit(f"{url} already holds messages: seed an empty store")
    now = datetime.now(UTC).replace(microsecond=0)
    gen = Generator(messages, customers, big, seed, now)
    start = time.perf_counter()
    done = 0
    for per_account in _batches(gen, 5_000):
        for account, msgs in per_account.items():
            ingest(store, account, PollBatch(messages=tuple(msgs), cursors={}))
            done += len(msgs)
        if done % 100_000 < 5_000:
            rate = done / (time.perf_counter() - start)
            print(f"  {done:>9,} messages, {rate:,.0f}/s", file=sys.stderr, flush=True)
    _finish(store, now, seed)
    with store.read() as session:
        counts = {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (message_t, conversation_t, customer_t, note_t)
        }
    took = time.perf_counter() - start
    print(f"seeded {counts} in {took:.0f} s", file=sys.stderr)
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of an empty store")
    parser.add_argument(
        "--data", type=Path, help="data dir for attachments (default: next to the db)"
    )
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--big", type=int, default=5_000, help="messages of the one big customer")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    data = args.data or Path(".omnitui-seed-data")
    seed(args.db, data, args.messages, args.customers, args.big, args.seed).close()


if __name__ == "__main__":
    main()
