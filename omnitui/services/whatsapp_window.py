"""WhatsApp's 24-hour window and its approved templates, as Twilio measures them.

WhatsApp takes free-form text from a business for 24 hours after the
customer's last message to it; after that (or before they ever wrote) only
an approved template goes out, and Twilio refuses anything else with error
63016. The window here is the same one: 24 hours after the newest inbound
WhatsApp message of the conversation (a WhatsApp conversation is one pair of
numbers, which is what Twilio looks at).

A free-form reply outside the window is refused before it is queued, with
when the window closed and how to send a template instead; so is a free-form
message a person puts back in the queue (outbox retry, edit, re-address: the
window of the conversation it would go out on), before anything changes
(:func:`require_open`, the one rule). A template (one of
the account's ``[[accounts]] templates``, carried in
:class:`~omnitui.services.base.AccountInfo` without any secret) is allowed in
or out of the window: every declared variable must be filled, its text is
rendered into ``body_text`` (the timeline shows what the customer reads) and
the choice is kept in ``message.template`` for the outbox to send by Content
SID. Should Twilio still answer 63016 (our clock and Twilio's disagree), the
outbox marks the message failed with that reason.

``utcnow`` is looked up here at each call, so a test can skew this clock alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from sqlalchemy import func, select
from sqlmodel import Session

from omnitui.services.base import AccountInfo, InvalidRequest, _get
from providers.settings import TwilioTemplate
from storage.db import Store, utc
from storage.models import Conversation, message_t, utcnow

#: How long after the customer's last message free-form text is allowed.
WINDOW = timedelta(hours=24)


def span(delta: timedelta) -> str:
    """A duration for people: "3 h 12 min", "45 min", "2 days 3 h"."""
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days > 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {mins} min" if mins else "")
    return f"{mins} min" if mins else "less than a minute"


@dataclass(frozen=True)
class WindowState:
    """Whether free-form WhatsApp text is allowed on a conversation at ``now``.

    ``last_inbound_at``: the customer's newest message on it (``None``: they
    never wrote, so the window never opened); ``until``: when the window
    closes or closed."""

    now: datetime
    last_inbound_at: datetime | None
    until: datetime | None

    @property
    def open(self) -> bool:
        return self.until is not None and self.now < self.until

    def left(self) -> timedelta:
        """How long free-form replies stay allowed (zero once closed)."""
        return max(self.until - self.now, timedelta(0)) if self.until else timedelta(0)

    def reason(self) -> str:
        """Why free-form text is refused, for people."""
        if self.until is None:
            return (
                "the customer has not written on WhatsApp yet, and no free-form "
                "message may start a chat"
            )
        return (
            "more than 24 hours since the customer's last WhatsApp message: the window "
            f"closed {span(self.now - self.until)} ago ({self.until:%Y-%m-%d %H:%M} UTC)"
        )


def describe(state: WindowState, tz: tzinfo = UTC, then: str = "only a template goes") -> str:
    """The window for people, times in ``tz``: "free-form replies until 14:32
    (3 h 12 min)", "window closed 2 h ago: only a template goes" (``then``
    says what to do once it is closed)."""
    if state.open:
        assert state.until is not None
        return f"free-form replies until {state.until.astimezone(tz):%H:%M} ({span(state.left())})"
    if state.until is None:
        return f"the customer has not written on WhatsApp yet: {then}"
    return f"window closed {span(state.now - state.until)} ago: {then}"


def window_at(session: Session, conversation_id: int, now: datetime) -> WindowState:
    """The window of conversation ``conversation_id`` at ``now``."""
    m = message_t.c
    last = session.execute(
        select(func.max(m.sent_at)).where(
            m.conversation_id == conversation_id,
            m.direction == "in",
            m.channel == "whatsapp",
        )
    ).scalar_one_or_none()
    last = utc(last) if last is not None else None
    return WindowState(now=now, last_inbound_at=last, until=last + WINDOW if last else None)


def conversation_window(
    store: Store, conversation_id: int, now: datetime | None = None
) -> WindowState | None:
    """The window of a conversation (``None`` when it is not on WhatsApp)."""
    with store.read() as session:
        conv = _get(session, Conversation, conversation_id, "conversation")
        if conv.channel != "whatsapp":
            return None
        return window_at(session, conversation_id, now or utcnow())


class WindowClosed(InvalidRequest):
    """Free-form WhatsApp text outside the window (or before the customer ever
    wrote): refused before anything changed. The CLI exits 2, as for any
    :class:`InvalidRequest`."""


def require_open(
    session: Session,
    conversation_id: int | None,
    info: AccountInfo | None,
    *,
    about: str = "",
    done: str = "Nothing was queued",
) -> WindowState:
    """The window of WhatsApp conversation ``conversation_id`` now, if free-form
    text may go on it; else :class:`WindowClosed` saying when the window closed
    (or that the customer never wrote) and naming ``info``'s templates.

    ``conversation_id`` ``None``: a conversation not made yet, on which the
    customer never wrote. ``about`` starts the message (which message it is),
    ``done`` says what was left as it was. The one rule for a reply being
    queued (:func:`admit`) and a message put back in the queue by a person
    (:mod:`omnitui.services.outbox`)."""
    now = utcnow()
    if conversation_id is None:
        state = WindowState(now=now, last_inbound_at=None, until=None)
    else:
        state = window_at(session, conversation_id, now)
    if not state.open:
        raise WindowClosed(
            f"{about}WhatsApp refuses free-form text now: {state.reason()}. {done}: "
            f"{how_to_template(info)}"
        )
    return state


@dataclass(frozen=True)
class ChosenTemplate:
    """A template filled for one message: what is stored and what the customer reads."""

    name: str
    content_sid: str
    variables: tuple[tuple[str, str], ...]
    #: the approved text with the variables filled, or ``None`` when the
    #: config does not give the wording
    text: str | None

    def stored(self) -> str:
        """``message.template``: JSON ``{"name", "content_sid", "variables"}``."""
        return json.dumps(
            {"name": self.name, "content_sid": self.content_sid, "variables": dict(self.variables)}
        )

    def body(self) -> str:
        """What the timeline shows as the message's text."""
        if self.text is not None and self.text.strip():
            return self.text
        filled = ", ".join(f"{k}={v}" for k, v in self.variables)
        return f"[WhatsApp template {self.name}{': ' + filled if filled else ''}]"


def how_to_template(info: AccountInfo | None) -> str:
    """How to send a template instead, naming the account's templates."""
    names = ", ".join(t.name for t in info.templates) if info is not None else ""
    if not names:
        return (
            "WhatsApp then takes only an approved template, and this account has none: "
            "add them to its [[accounts]] entry (templates = [...])"
        )
    return f"send an approved template instead (--template NAME --var k=v; templates: {names})"


def choose_template(
    info: AccountInfo | None, name: str, variables: Mapping[str, str] | tuple[tuple[str, str], ...]
) -> ChosenTemplate:
    """Template ``name`` of account ``info`` filled with ``variables``;
    :class:`InvalidRequest` for an unknown name, a missing or unknown
    variable, or an empty value."""
    values = dict(variables)
    if info is None:
        raise InvalidRequest(f"template {name!r}: the conversation's account is not configured")
    found: TwilioTemplate | None = next((t for t in info.templates if t.name == name), None)
    if found is None:
        known = ", ".join(t.name for t in info.templates) or "none is configured"
        raise InvalidRequest(
            f"there is no template {name!r} in account {info.name} ({known}): nothing was queued"
        )
    empty = [k for k in found.variables if k in values and not values[k].strip()]
    if empty:
        raise InvalidRequest(
            f"template {name}: give a value for {', '.join(empty)}: nothing was queued"
        )
    for key in found.variables:
        if key in values and (why := _unsendable(values[key])) is not None:
            raise InvalidRequest(f"template {name}: the value of {key} {why}: nothing was queued")
    try:
        sent = found.fill(values)
    except ValueError as exc:
        raise InvalidRequest(f"{exc}: nothing was queued (give each as --var NAME=VALUE)") from None
    pairs = tuple((k, sent.variables[k]) for k in found.variables)
    return ChosenTemplate(found.name, found.content_sid, pairs, found.render(values))


#: The longest template parameter taken (WhatsApp's template body holds 1024 characters).
MAX_VARIABLE_CHARS = 1024
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _unsendable(value: str) -> str | None:
    """Why WhatsApp would refuse ``value`` as a template parameter (a line
    break, a tab, more than four spaces in a row; a control character has
    no place on a customer's phone either), or ``None``."""
    if len(value) > MAX_VARIABLE_CHARS:
        return f"is {len(value):,} characters; WhatsApp takes up to {MAX_VARIABLE_CHARS:,}"
    if _CONTROLS.search(value):
        return "has a line break, tab or control character, which WhatsApp refuses in a template"
    if "     " in value:
        return "has more than four spaces in a row, which WhatsApp refuses in a template"
    return None


def admit(
    session: Session,
    conversation: Conversation,
    info: AccountInfo | None,
    body: str,
    template: str | None,
    variables: tuple[tuple[str, str], ...],
) -> tuple[str, str | None]:
    """What a message on ``conversation`` is queued with: its text and its
    ``message.template`` JSON. Refuses (:class:`InvalidRequest`) a template
    off WhatsApp, a template that does not fill, and free-form WhatsApp text
    outside the window."""
    if template is None:
        if variables:
            raise InvalidRequest("variables fill a template: name one (--template NAME)")
        if conversation.channel == "whatsapp":
            assert conversation.id is not None
            require_open(session, conversation.id, info)
        return body, None
    if conversation.channel != "whatsapp":
        raise InvalidRequest(
            f"templates are for WhatsApp; this conversation is on {conversation.channel}: "
            "nothing was queued"
        )
    chosen = choose_template(info, template, variables)
    return chosen.body(), chosen.stored()
