"""Feed a folder of real-world .eml files to the e-mail parser by hand.

    .venv/bin/python scripts/check_mail_corpus.py DIR

Every message must come out as a stored e-mail (with a reason when it could
not be fully read), never a crash: the script prints each failure and the
count of each problem reason, and exits 1 if any message broke a rule. It is
not part of the test suite, which carries its own small cases in
tests/mail/; point it at any corpus you have (a mailbox export, a library's
fixtures).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import fields
from pathlib import Path

from providers.base import InboundMessage
from providers.email_parse import parse_message
from providers.email_quote import fold_quoted


def _strings(message: InboundMessage) -> list[str]:
    out = [v for f in fields(message) if isinstance(v := getattr(message, f.name), str)]
    return out + list(message.references) + [a.filename for a in message.attachments]


def _broken_rules(message: InboundMessage) -> list[str]:
    rules = {
        "not an e-mail": message.channel == "email",
        "no external id": bool(message.external_id),
        "neither a sender nor a reason": bool(message.from_address or message.problem),
        "a naive time": message.sent_at.tzinfo is not None,
        "a NUL in a field": not any("\x00" in s for s in _strings(message)),
        "an attachment without a name": all(a.filename for a in message.attachments),
    }
    return [rule for rule, holds in rules.items() if not holds]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_dir():
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    files = sorted(Path(argv[0]).glob("*.eml"))
    problems: Counter[str] = Counter()
    failed = 0
    for path in files:
        try:
            message = parse_message(path.read_bytes(), account_key=f"corpus/{path.name}").message
            fold_quoted(message.body_text)
        except Exception as exc:  # noqa: BLE001 - a crash is exactly what we report
            print(f"{path.name}: crashed: {type(exc).__name__}: {exc}")
            failed += 1
            continue
        for rule in _broken_rules(message):
            print(f"{path.name}: {rule}")
            failed += 1
        for reason in (message.problem or "").split("; "):
            if reason:
                problems[reason] += 1
    print(f"{len(files)} messages, {failed} broken; problem reasons: {dict(problems) or 'none'}")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
