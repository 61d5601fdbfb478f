"""The query language's one parser: every term, negation, OR and
parentheses with their precedence, escapes, unicode, the limits, and errors
that point at the bad part. Pure: no store.

The property tests draw random queries from a fixed seed (deterministic,
no extra dependency): every syntax tree written back by ``format_query``
reads as the same tree, and no text makes the parser fail other than with
a :class:`QueryError` inside the text.
"""

from __future__ import annotations

import random

import pytest

from omnitui.query import (
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    MAX_TERMS,
    And,
    Or,
    Query,
    QueryError,
    Term,
    format_query,
    names_status,
    parse_query,
)
from storage.query_terms import TermKind
from storage.vocabulary import CHANNELS


def T(kind: TermKind, value: str, negated: bool = False) -> Term:
    return Term(kind, value, negated)


@pytest.mark.parametrize(
    ("text", "term"),
    [
        *(
            (f"status:{s}", T("status", s))
            for s in ("open", "pending", "snoozed", "resolved", "all")
        ),
        ("status:OPEN", T("status", "open")),
        ("assignee:me", T("assignee", "me")),
        ("assignee:none", T("assignee", "none")),
        ("assignee:bob", T("assignee", "bob")),
        ('assignee:"Jane Doe"', T("assignee", "Jane Doe")),
        *((f"channel:{c}", T("channel", c)) for c in CHANNELS),
        ("account:shop", T("account", "shop")),
        ("tag:billing", T("tag", "billing")),
        ("tag:Billing", T("tag", "billing")),
        ("tag:team:sales", T("tag", "team:sales")),
        ("tag:größe", T("tag", "größe")),
        ("customer:42", T("customer", "42")),
        ("customer:007", T("customer", "7")),
        ("unread:me", T("unread", "me")),
        ("older:2h", T("older", "2h")),
        ("newer:1d", T("newer", "1d")),
        ("newer:90m", T("newer", "90m")),
        ("older:3w", T("older", "3w")),
        ("waiting:>4h", T("waiting", ">4h")),
        ("waiting:<30m", T("waiting", "<30m")),
        ("waiting:4h", T("waiting", ">4h")),
        ("refund", T("word", "refund")),
        ('"card was charged"', T("phrase", "card was charged")),
        ('"refund"', T("word", "refund")),
        ("Kündigung", T("word", "Kündigung")),
        ("注文", T("word", "注文")),
        ("STATUS:open", T("status", "open")),
    ],
)
def test_every_term(text: str, term: Term) -> None:
    assert parse_query(text) == term
    assert parse_query("-" + text) == Term(term.kind, term.value, True)


def test_durations_and_waiting_read_as_seconds() -> None:
    older, newer = parse_query("older:2h"), parse_query("newer:1w")
    assert isinstance(older, Term) and older.seconds == 7200
    assert isinstance(newer, Term) and newer.seconds == 7 * 86400
    waiting = parse_query("waiting:<30m")
    assert isinstance(waiting, Term) and waiting.seconds == 1800 and not waiting.longer
    longer = parse_query("waiting:>1d")
    assert isinstance(longer, Term) and longer.longer


def test_juxtaposition_is_and_and_binds_tighter_than_or() -> None:
    a, b, c, d = (T("word", w) for w in "abcd")
    assert parse_query("a b") == And((a, b))
    assert parse_query("a AND b") == And((a, b))
    assert parse_query("a b OR c") == Or((And((a, b)), c))
    assert parse_query("a OR b c") == Or((a, And((b, c))))
    assert parse_query("a (b OR c) d") == And((a, Or((b, c)), d))
    assert parse_query("(a OR b) (c OR d)") == And((Or((a, b)), Or((c, d))))
    assert parse_query("a OR b OR c") == Or((a, b, c))
    assert parse_query("((a))") == a
    assert parse_query("a or b") == And((a, T("word", "or"), b))  # lower case is a word


def test_negation_of_a_group_goes_down_to_its_terms() -> None:
    assert parse_query("-(tag:a OR tag:b)") == And((T("tag", "a", True), T("tag", "b", True)))
    assert parse_query("-(tag:a tag:b)") == Or((T("tag", "a", True), T("tag", "b", True)))
    assert parse_query("-(-tag:a)") == T("tag", "a")


def test_escapes() -> None:
    assert parse_query(r"foo\:bar") == T("word", "foo:bar")
    assert parse_query(r"\(a") == T("word", "(a")
    assert parse_query(r'"say \"hi\" now"') == T("phrase", 'say "hi" now')
    assert parse_query(r'"back\\slash"') == T("word", "back\\slash")
    assert parse_query('assignee:"a \\"b\\""') == T("assignee", 'a "b"')


def test_empty_query_is_everything_under_the_default_statuses() -> None:
    assert parse_query("") == And(())
    assert parse_query("   ") == And(())
    assert not names_status(parse_query("tag:vip"))
    assert names_status(parse_query("-status:resolved"))
    assert names_status(parse_query("tag:a OR status:all"))


@pytest.mark.parametrize(
    ("text", "position", "length", "words"),
    [
        ("status:opn", 7, 3, 'unknown status "opn" at column 8: use open, pending'),
        ("tag:x status:opn", 13, 3, "at column 14"),
        ("channel:fax", 8, 3, 'unknown channel "fax" at column 9'),
        ("colour:red", 0, 7, 'unknown term "colour:" at column 1'),
        ("status:", 0, 7, "status: at column 1 needs a value"),
        ("customer:abc", 9, 3, "takes a customer id"),
        ("customer:" + "9" * 30, 9, 30, "too long"),
        ("unread:bob", 7, 3, "takes me"),
        ("older:2y", 6, 2, "a number and a unit"),
        ("older:h", 6, 1, "a number and a unit"),
        ("newer:99999999d", 6, 9, "longer than ten years"),
        ("older:600w", 6, 4, "longer than ten years"),
        ("waiting:>x", 9, 1, "a number and a unit"),
        ("tag:a b", None, None, None),  # fine: two terms
        ("tag:a,b", 4, 3, "a tag cannot hold ','"),
        ("tag:-vip", 4, 4, 'cannot start with "-"'),
        ("(a OR b", 0, 1, 'the "(" at column 1 is never closed'),
        ("a OR b)", 6, 1, 'a ")" at column 7 closes nothing'),
        ("a OR", 2, 2, "OR at column 3 has nothing after it"),
        ("OR a", 0, 1, "a term is missing at column 1"),
        ("a OR OR b", 2, 2, "OR at column 3 has nothing after it"),
        ("a ()", 2, 2, "empty parentheses at column 3"),
        ('a "open', 2, 5, "the quote at column 3 is never closed"),
        ("a - b", 2, 1, '"-" at column 3 negates nothing'),
        ("--a", 0, 2, 'two "-" in a row'),
        ("!!!", 0, 3, "has no letters or digits"),
        ("a\\", 1, 1, "a backslash at column 2 escapes nothing"),
        ("AND a", 0, 3, "AND at column 1 needs a term on both sides"),
    ],
)
def test_errors_point_at_the_bad_part(
    text: str, position: int | None, length: int | None, words: str | None
) -> None:
    if position is None:
        parse_query(text)
        return
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    assert words is not None and words in caught.value.message
    assert (caught.value.position, caught.value.length) == (position, length)
    assert str(caught.value) == caught.value.message


def test_an_error_never_echoes_a_control_character() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("status:\x1b[31mopen")
    assert "\x1b" not in caught.value.message
    assert "\\u001b" in caught.value.message
    with pytest.raises(QueryError) as caught:
        parse_query("tag:a\x07")
    assert "\x07" not in caught.value.message and "U+0007" in caught.value.message


def test_limits() -> None:
    with pytest.raises(QueryError) as caught:
        parse_query("a" * (MAX_QUERY_LENGTH + 1))
    assert "at most 1,000" in caught.value.message
    assert caught.value.position == MAX_QUERY_LENGTH
    parse_query(" ".join(["a"] * MAX_TERMS))
    with pytest.raises(QueryError) as caught:
        parse_query(" ".join(["a"] * (MAX_TERMS + 1)))
    assert f"more than {MAX_TERMS} terms" in caught.value.message
    assert caught.value.position == 2 * MAX_TERMS
    parse_query("(" * MAX_DEPTH + "a" + ")" * MAX_DEPTH)
    with pytest.raises(QueryError) as caught:
        parse_query("(" * (MAX_DEPTH + 1) + "a" + ")" * (MAX_DEPTH + 1))
    assert "nest deeper" in caught.value.message
    assert caught.value.position == MAX_DEPTH


def test_positions_of_terms() -> None:
    query = parse_query('status:open  "a b" -tag:x')
    assert isinstance(query, And)
    terms = [t for t in query.items if isinstance(t, Term)]
    assert terms == list(query.items)  # no group among them
    assert [(t.position, t.length) for t in terms] == [(0, 11), (13, 5), (20, 5)]


# -- properties -----------------------------------------------------------------

_VALUES: dict[TermKind, list[str]] = {
    "status": ["open", "pending", "snoozed", "resolved", "all"],
    "assignee": ["me", "none", "bob", "Jane Doe", 'quo"te', "a:b", "ünï"],
    "channel": list(CHANNELS),
    "account": ["shop", "my shop", "x(y)"],
    "tag": ["billing", "vip", "team:sales", "a/b.c", "größe", "x_y-z"],
    "customer": ["1", "42", "9223372036854775807"],
    "unread": ["me"],
    "older": ["2h", "1d", "90m", "3w"],
    "newer": ["5m", "1d"],
    "waiting": [">4h", "<30m"],
    "word": ["refund", "Kündigung", "注文", "foo:bar", "(x", "OR", "AND", "a\\b", "-x", 'sa"y'],
    "phrase": ["card was charged", 'he said "no"', "a (b) c"],
}


def _random_query(rng: random.Random, depth: int = 0) -> Query:
    roll = rng.random()
    if depth >= 3 or roll < 0.5:
        kind = rng.choice(list(_VALUES))
        return T(kind, rng.choice(_VALUES[kind]), rng.random() < 0.3)
    items = tuple(_random_query(rng, depth + 1) for _ in range(rng.randint(2, 3)))
    node = And(items) if roll < 0.75 else Or(items)
    # what the parser builds: no group directly inside a group of its own kind
    flat: list[Query] = []
    for item in node.items:
        flat.extend(item.items if type(item) is type(node) else (item,))
    return type(node)(tuple(flat))


def test_every_query_written_back_reads_the_same() -> None:
    rng = random.Random(17)
    for _ in range(2000):
        query = _random_query(rng)
        text = format_query(query)
        assert parse_query(text) == query, text


def test_any_text_is_a_query_or_a_located_error() -> None:
    rng = random.Random(1717)
    alphabet = 'ab :()"-\\ORAND\t\x1bé注tag:status:open>4h'
    pieces = ["status:", "tag:", "OR", "AND", "(", ")", '"', "-", "\\", "older:", "waiting:>"]
    for _ in range(3000):
        parts = [
            rng.choice(pieces) if rng.random() < 0.4 else rng.choice(alphabet)
            for _ in range(rng.randint(0, 24))
        ]
        text = "".join(parts)
        try:
            query = parse_query(text)
        except QueryError as exc:
            assert 0 <= exc.position <= len(text), text
            assert exc.length >= 1
            assert "\x1b" not in exc.message
        else:
            assert parse_query(format_query(query)) == query, text
