"""The query language of the inbox, defined once: the console's filter
prompt, ``omnitui conversations list --query`` and saved views all call
:func:`parse_query`, and :mod:`storage.queries.triage` compiles what it
returns into one SQL statement.

Grammar (``AND`` binds tighter than ``OR``; both are left to right)::

    query  := and ("OR" and)*
    and    := unary+                       juxtaposition; a bare AND is allowed
    unary  := "-" atom | atom              "-" must touch what it negates
    atom   := "(" query ")" | key ":" value | word | '"' phrase '"'
    value  := bare | '"' quoted '"'

Terms (see the README's table): ``status:open|pending|snoozed|resolved|all``,
``assignee:me|none|NAME``, ``channel:CHANNEL``, ``account:NAME``,
``tag:TAG``, ``customer:ID``, ``unread:me``, ``older:2h``, ``newer:1d``,
``waiting:>4h`` / ``waiting:<30m`` (units m h d w), free words (prefixes
match, as in ``omnitui search``) and ``"phrases"``. A query that names no
status at all means :data:`DEFAULT_STATUSES` (open and pending);
``status:all`` lifts that.

Escapes: inside quotes ``\\"`` and ``\\\\``; outside, a backslash makes the
next character plain (``foo\\:bar`` is a word, ``\\(`` is not a group).
``OR`` and ``AND`` are operators only in capitals; ``or`` is a word.

Errors are :class:`QueryError` with the 0-based ``position`` and ``length``
of the bad part, and a message that names it and its column (1-based).
The parser is pure: no store, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from omnitui.tagnames import TagError, normalize_tag
from storage.query_terms import (
    DEFAULT_STATUSES,
    DURATION_UNITS,
    KEYED_KINDS,
    MAX_DURATION_SECONDS,
    STATUS_WORDS,
    And,
    Or,
    Query,
    Term,
    TermKind,
    names_status,
    terms_of,
)
from storage.vocabulary import CHANNELS

__all__ = [
    "DEFAULT_STATUSES",
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "MAX_TERMS",
    "And",
    "Or",
    "Query",
    "QueryError",
    "Term",
    "format_query",
    "names_status",
    "parse_query",
    "terms_of",
]

#: the longest query text taken, in characters
MAX_QUERY_LENGTH = 1000
#: the most terms one query may hold
MAX_TERMS = 32
#: the deepest nesting of parentheses
MAX_DEPTH = 8
#: the largest ``customer:`` id written (ids beyond any column's width match nothing)
MAX_ID_DIGITS = 19


class QueryError(ValueError):
    """A query that cannot be read: ``message`` names the bad part and its
    column; ``position`` (0-based) and ``length`` say where it is, in
    characters of the query text, for a caret under it."""

    def __init__(self, message: str, position: int, length: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.length = max(length, 1)


def _shown(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message: control and invisible characters as
    escapes (a message is shown in a terminal), cut at ``limit``."""
    cut = text if len(text) <= limit else text[: limit - 1] + "…"
    out = "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in cut)
    return '"' + out.replace('"', '\\"') + '"'


@dataclass(frozen=True)
class _Token:
    kind: str  # "(", ")", "-", "OR", "AND", "term"
    position: int
    length: int
    key: str | None = None  # a term's key (None: a word or phrase)
    value: str = ""
    quoted: bool = False  # the value (or the phrase) was in quotes
    value_position: int = 0


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def tokens(self) -> list[_Token]:
        out: list[_Token] = []
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char.isspace():
                self.at += 1
            elif char in "()":
                out.append(_Token(char, self.at, 1))
                self.at += 1
            elif char == "-":
                nxt = text[self.at + 1 : self.at + 2]
                if not nxt or nxt.isspace() or nxt in ")":
                    raise QueryError(
                        f'"-" at column {self.at + 1} negates nothing: write it right before '
                        "a term, e.g. -tag:vip",
                        self.at,
                    )
                if nxt == "-":
                    raise QueryError(f'two "-" in a row at column {self.at + 1}', self.at, 2)
                out.append(_Token("-", self.at, 1))
                self.at += 1
            elif char == '"':
                start = self.at
                phrase = self._quoted()
                out.append(
                    _Token("term", start, self.at - start, None, phrase, True, value_position=start)
                )
            else:
                out.append(self._bare())
        return out

    def _quoted(self) -> str:
        """The text between quotes starting at ``self.at``; moves past the closing quote."""
        start = self.at
        self.at += 1
        chars: list[str] = []
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == "\\" and self.at + 1 < len(text) and text[self.at + 1] in '"\\':
                chars.append(text[self.at + 1])
                self.at += 2
            elif char == '"':
                self.at += 1
                return "".join(chars)
            else:
                chars.append(char)
                self.at += 1
        raise QueryError(
            f'the quote at column {start + 1} is never closed: end the phrase with another "',
            start,
            len(text) - start,
        )

    def _bare(self) -> _Token:
        start = self.at
        text = self.text
        chars: list[str] = []
        key: str | None = None
        value_position = start
        while self.at < len(text):
            char = text[self.at]
            if char.isspace() or char in '()"':
                break
            if char == "\\":
                if self.at + 1 >= len(text):
                    raise QueryError(
                        f"a backslash at column {self.at + 1} escapes nothing: write \\\\ "
                        "for a backslash",
                        self.at,
                    )
                chars.append(text[self.at + 1])
                self.at += 2
                continue
            if char == ":" and key is None:
                key = "".join(chars)
                chars = []
                self.at += 1
                value_position = self.at
                if text[self.at : self.at + 1] == '"':
                    value = self._quoted()
                    return _Token("term", start, self.at - start, key, value, True, value_position)
                continue
            chars.append(char)
            self.at += 1
        word = "".join(chars)
        if key is None:
            if text[start : self.at] in ("OR", "AND"):
                return _Token(text[start : self.at], start, self.at - start)
            return _Token("term", start, self.at - start, None, word, False, start)
        return _Token("term", start, self.at - start, key, word, False, value_position)


class _Parser:
    def __init__(self, text: str, tokens: list[_Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.at = 0
        self.terms = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def next_kind(self) -> str | None:
        token = self.peek()
        return token.kind if token is not None else None

    def parse(self) -> Query:
        if not self.tokens:
            return And(())
        query = self.query(0)
        token = self.peek()
        if token is not None:  # only a ")" stops a query early
            raise QueryError(
                f'a ")" at column {token.position + 1} closes nothing: remove it or add a "(" '
                "before it",
                token.position,
            )
        return query

    def query(self, depth: int) -> Query:
        items = [self.conjunction(depth)]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.at += 1
            if self.next_kind() in (None, ")", "OR"):
                raise QueryError(
                    f"OR at column {token.position + 1} has nothing after it: write a term "
                    "on both sides",
                    token.position,
                    2,
                )
            items.append(self.conjunction(depth))
        return _flat(Or, items)

    def conjunction(self, depth: int) -> Query:
        items: list[Query] = []
        while (token := self.peek()) is not None and token.kind not in (")", "OR"):
            if token.kind == "AND":
                self.at += 1
                if not items or self.next_kind() in (None, ")", "OR", "AND"):
                    raise QueryError(
                        f"AND at column {token.position + 1} needs a term on both sides",
                        token.position,
                        3,
                    )
                continue
            items.append(self.unary(depth))
        if not items:
            token = self.peek()
            where = token.position if token is not None else len(self.text)
            raise QueryError(
                f"a term is missing at column {where + 1}: OR and parentheses need a term "
                "on each side",
                where,
            )
        return _flat(And, items)

    def unary(self, depth: int) -> Query:
        token = self.peek()
        assert token is not None
        if token.kind == "-":
            self.at += 1
            return _negated(self.atom(depth))
        return self.atom(depth)

    def atom(self, depth: int) -> Query:
        token = self.peek()
        assert token is not None
        if token.kind == "(":
            if depth + 1 > MAX_DEPTH:
                raise QueryError(
                    f"parentheses nest deeper than {MAX_DEPTH} at column {token.position + 1}",
                    token.position,
                )
            self.at += 1
            if (first := self.peek()) is not None and first.kind == ")":
                raise QueryError(
                    f"empty parentheses at column {token.position + 1}", token.position, 2
                )
            inner = self.query(depth + 1)
            close = self.peek()
            if close is None or close.kind != ")":
                raise QueryError(
                    f'the "(" at column {token.position + 1} is never closed: add a ")"',
                    token.position,
                )
            self.at += 1
            return inner
        if token.kind == "term":
            self.at += 1
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise QueryError(
                    f"more than {MAX_TERMS} terms (the one at column {token.position + 1} is "
                    "one too many): narrow the query or save parts of it as views",
                    token.position,
                    token.length,
                )
            return _term(token)
        # "-" before "-" or ")" and a lone ")" never reach here (the lexer and
        # conjunction() stop them); what is left is an operator in term's place
        raise QueryError(
            f"{token.kind} at column {token.position + 1} is not a term", token.position
        )


def _flat(kind: type[And] | type[Or], items: list[Query]) -> Query:
    if len(items) == 1:
        return items[0]
    flat: list[Query] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return kind(tuple(flat))


def _negated(query: Query) -> Query:
    """``query`` negated, the negation pushed down to the terms (De Morgan)."""
    if isinstance(query, Term):
        return Term(query.kind, query.value, not query.negated, query.position, query.length)
    items = [_negated(item) for item in query.items]
    return _flat(Or if isinstance(query, And) else And, items)


def _term(token: _Token) -> Term:
    if token.key is None:
        value = token.value
        kind: TermKind = "phrase" if token.quoted else "word"
        if not any(c.isalnum() for c in value):
            what = "phrase" if token.quoted else "word"
            raise QueryError(
                f"the {what} {_shown(value)} at column {token.position + 1} has no letters or "
                "digits to search for",
                token.position,
                token.length,
            )
        if token.quoted and len(value.split()) == 1:
            kind = "word"  # one word in quotes: the word (quotes only protect it)
        return Term(kind, value, position=token.position, length=token.length)
    key = token.key.lower()
    if key not in KEYED_KINDS:
        raise QueryError(
            f"unknown term {_shown(token.key + ':')} at column {token.position + 1}: use "
            f"{', '.join(KEYED_KINDS)} (or quote a word that holds a colon)",
            token.position,
            len(token.key) + 1,
        )
    kind = key
    value = token.value
    at = token.value_position
    column = at + 1
    width = max(token.position + token.length - at, 1)
    if not value:
        raise QueryError(
            f"{key}: at column {token.position + 1} needs a value, e.g. {_EXAMPLES[key]}",
            token.position,
            token.length,
        )

    def bad(problem: str) -> QueryError:
        return QueryError(problem, at, width)

    if key == "status":
        word = value.lower()
        if word not in STATUS_WORDS:
            raise bad(
                f"unknown status {_shown(value)} at column {column}: use {', '.join(STATUS_WORDS)}"
            )
        value = word
    elif key == "channel":
        word = value.lower()
        if word not in CHANNELS:
            raise bad(
                f"unknown channel {_shown(value)} at column {column}: use {', '.join(CHANNELS)}"
            )
        value = word
    elif key == "assignee":
        if value.lower() in ("me", "none"):
            value = value.lower()
        elif not value.strip():
            raise bad(f"assignee: at column {column} needs a name, me or none")
        else:
            value = value.strip()
    elif key == "account":
        value = value.strip()
        if not value:
            raise bad(f"account: at column {column} needs an account name")
    elif key == "tag":
        try:
            value = normalize_tag(value)
        except TagError as exc:
            raise bad(f"tag {_shown(value)} at column {column}: {exc}") from None
    elif key == "customer":
        if not (value.isascii() and value.isdigit()):
            raise bad(
                f"customer: at column {column} takes a customer id (digits), not {_shown(value)}"
            )
        if len(value.lstrip("0")) > MAX_ID_DIGITS:
            raise bad(f"customer id at column {column} is too long to name any customer")
        value = str(int(value))
    elif key == "unread":
        if value.lower() != "me":
            raise bad(
                f"unread: at column {column} takes me (your unread marks), not {_shown(value)}"
            )
        value = "me"
    elif key in ("older", "newer"):
        value = _duration(value, key, at, width)
    elif key == "waiting":
        op = ">"
        rest = value
        if rest[:1] in "<>":
            op, rest = rest[0], rest[1:]
        skip = len(value) - len(rest)
        value = op + _duration(rest, key, at + skip, max(width - skip, 1))
    return Term(kind, value, False, token.position, token.length)


_EXAMPLES = {
    "status": "status:open",
    "assignee": "assignee:me",
    "channel": "channel:sms",
    "account": "account:shop",
    "tag": "tag:billing",
    "customer": "customer:42",
    "unread": "unread:me",
    "older": "older:2h",
    "newer": "newer:1d",
    "waiting": "waiting:>4h",
}


def _duration(text: str, key: str, at: int, width: int) -> str:
    number, unit = text[:-1], text[-1:].lower()
    if unit not in DURATION_UNITS or not (number.isascii() and number.isdigit()):
        raise QueryError(
            f"{key}: at column {at + 1} takes a number and a unit (m, h, d or w), e.g. "
            f"{_EXAMPLES[key]}, not {_shown(text)}",
            at,
            width,
        )
    if len(number) > 6 or int(number) * DURATION_UNITS[unit] > MAX_DURATION_SECONDS:
        raise QueryError(
            f"{key}: {_shown(text)} at column {at + 1} is longer than ten years", at, width
        )
    return f"{int(number)}{unit}"


def parse_query(text: str) -> Query:
    """``text`` as a query (see the module docstring), or :class:`QueryError`
    pointing at the first bad part. An empty text is ``And(())``: every
    conversation (under the default statuses)."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            f"the query is {len(text):,} characters long: at most {MAX_QUERY_LENGTH:,}",
            MAX_QUERY_LENGTH,
            len(text) - MAX_QUERY_LENGTH,
        )
    tokens = _Lexer(text).tokens()
    return _Parser(text, tokens).parse()


# -- writing a query back ------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _plain(text: str) -> bool:
    return (
        bool(text)
        and not any(c.isspace() or c in '()":\\' for c in text)
        and not text.startswith("-")
        and text not in ("OR", "AND")
    )


def _format_term(term: Term) -> str:
    sign = "-" if term.negated else ""
    if term.kind == "word":
        return sign + (term.value if _plain(term.value) else _quote(term.value))
    if term.kind == "phrase":
        return sign + _quote(term.value)
    value = term.value
    shown = value if _plain(value) or term.kind in ("tag", "waiting") else _quote(value)
    return f"{sign}{term.kind}:{shown}"


def format_query(query: Query) -> str:
    """``query`` written back as text that :func:`parse_query` reads as the
    same query (for showing a view's query, and saving one typed)."""
    if isinstance(query, Term):
        return _format_term(query)
    if isinstance(query, And):
        return " ".join(
            f"({format_query(i)})" if isinstance(i, Or) else format_query(i) for i in query.items
        )
    return " OR ".join(format_query(i) for i in query.items)
