"""What every service shares: the errors a request can end in (each a
kind the faces map to one exit code or notice), the account facts a message
is addressed by, and the audit trail every change by a person leaves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sqlmodel import Session

from providers.base import Provider, SendLimits
from providers.settings import AccountSettings, DemoSettings, TwilioSettings, TwilioTemplate
from storage.models import (
    AuditEvent,
    Conversation,
    Customer,
    conversation_t,
    customer_t,
)
from storage.queries import id_fits
from storage.vocabulary import CONVERSATION_STATUSES

STATUSES = CONVERSATION_STATUSES


class ServiceError(Exception):
    """A request that cannot be carried out; the message is for people."""


class ConflictError(ServiceError):
    """Someone else changed the record since the caller read it."""


class NotFound(ServiceError):
    """The id names no record (the CLI exits 1 for it)."""


class InvalidRequest(ServiceError):
    """The request is wrong in itself (an unknown word, a value out of bounds,
    a rule it breaks), whatever the store holds; nothing was changed. The CLI
    exits 2 for it, as for any other usage error."""


Row = TypeVar("Row", Conversation, Customer)


def _get(session: Session, model: type[Row], key: int, noun: str) -> Row:
    """Row ``key`` of ``model``, or :class:`NotFound` saying there is none (also
    for an id too big for the engine's id column, which no row can have)."""
    table = conversation_t if model is Conversation else customer_t
    row = session.get(model, key) if id_fits(session, key, table) else None
    if row is None:
        raise NotFound(f"there is no {noun} {key}")
    return row


@dataclass(frozen=True)
class AccountInfo:
    """What the services need to know of an account to address a message,
    and what it may carry: no secret is in it (built from the settings by
    :meth:`from_settings`).

    ``templates``: its approved WhatsApp templates (name, Content SID,
    variables, wording; no secret), see :mod:`omnitui.services.whatsapp_window`."""

    name: str
    channels: tuple[str, ...]
    addresses: Mapping[str, str] = field(default_factory=dict)
    templates: tuple[TwilioTemplate, ...] = ()
    #: per channel, the files it can carry; a channel missing here has no
    #: bound known before sending (the provider refuses what does not fit)
    limits: Mapping[str, SendLimits] = field(default_factory=dict)
    #: the signature as written in the config (see omnitui.signatures) and
    #: the channels it goes on
    signature: str | None = None
    signature_channels: tuple[str, ...] = ("email",)

    @classmethod
    def from_settings(
        cls, settings: AccountSettings, *, agent_signature: str | None = None
    ) -> AccountInfo:
        """From the config alone: no provider built, no secret read.
        ``agent_signature`` (``[agent] signature``) wins over the account's."""
        templates = (
            settings.templates if isinstance(settings, TwilioSettings | DemoSettings) else ()
        )
        return cls(
            name=settings.name,
            channels=tuple(settings.channels()),
            addresses=settings.addresses(),
            templates=tuple(templates),
            limits={ch: settings.send_limits(ch) for ch in settings.channels()},
            signature=agent_signature or settings.signature,
            signature_channels=tuple(settings.signature_channels),
        )

    @classmethod
    def from_provider(cls, provider: Provider, *, signature: str | None = None) -> AccountInfo:
        """The account of ``provider`` (its ``limits`` may ask the service)."""
        return cls(
            name=provider.account,
            channels=tuple(provider.channels),
            addresses={ch: provider.address_for(ch) for ch in provider.channels},
            limits={ch: provider.limits(ch) for ch in provider.channels},
            signature=signature,
        )


def _audit(
    session: Session,
    actor: str,
    action: str,
    *,
    customer_id: int | None = None,
    conversation_id: int | None = None,
    **detail: object,
) -> None:
    session.add(
        AuditEvent(
            actor=actor,
            action=action,
            customer_id=customer_id,
            conversation_id=conversation_id,
            detail=json.dumps(detail, default=str, sort_keys=True),
        )
    )
