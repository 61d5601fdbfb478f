"""Each account kind's settings, validated from the config file.

Only pydantic is imported here, so a config is checked without loading any
provider's SDK. A secret ``x`` is never a key itself: the file names where
to find it with ``x_env`` (an environment variable) or ``x_cmd`` (a command
printing it); ``SECRETS`` lists each kind's secrets.

Which channels an account carries and its own address on each follow from
these settings alone (:meth:`AccountSettings.channels`,
:meth:`AccountSettings.addresses`), and so do the files each channel can
carry (:meth:`AccountSettings.send_limits`), so a process that only reads and writes
the store (an agent's console, ``omnitui send`` queuing a message) needs no
secret: only the process that polls or sends resolves them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import parseaddr
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from providers.base import DEFAULT_REGION, Channel, OutboundTemplate, SendLimits

#: The longest poll interval accepted (a day); beyond it the sleep overflows
#: or the account is effectively never polled.
MAX_POLL_INTERVAL = 86_400.0
MB = 1024 * 1024
#: What most mail servers take in one message (Gmail, Microsoft 365 and
#: Fastmail all stop near it), encoded: the files are base64 in it.
DEFAULT_MAX_MESSAGE_BYTES = 25 * MB
#: Room kept in a mail for its headers and text when the files' share is
#: worked out.
MAIL_HEADROOM = 128 * 1024
#: The Bot API's bound on a file a bot uploads (multipart/form-data); photos
#: have a smaller one, bigger images go as documents.
TELEGRAM_MAX_UPLOAD = 50 * MB
TELEGRAM_MAX_PHOTO = 10 * MB
TWILIO_NO_FILES = "Twilio MMS needs a public URL for each file; omnitui does not host files"


def base64_room(encoded: int) -> int:
    """How many bytes of files fit in ``encoded`` bytes of base64 with line
    ends (57 bytes become a 76-character line and CRLF)."""
    return max(encoded, 0) * 57 // 78


class AccountSettings(BaseModel):
    """Keys every account has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SECRETS: ClassVar[tuple[str, ...]] = ()
    #: secrets that may be absent (the provider falls back to another)
    OPTIONAL_SECRETS: ClassVar[tuple[str, ...]] = ()

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str
    poll_interval: float = Field(default=60.0, gt=0, le=MAX_POLL_INTERVAL, allow_inf_nan=False)
    #: the text after a "-- " line of what this account sends on
    #: ``signature_channels`` (omnitui fills its placeholders; the config
    #: loader checks them: see omnitui.signatures)
    signature: str | None = Field(default=None, max_length=2000)
    signature_channels: tuple[Channel, ...] = ("email",)

    def channels(self) -> tuple[Channel, ...]:
        """The channels this account carries, as its provider will."""
        raise NotImplementedError

    def addresses(self) -> dict[str, str]:
        """Our own address on each channel, where the settings tell it (no secret read).

        A channel may be missing: a Telegram bot's id is part of its token.
        """
        raise NotImplementedError

    def send_limits(self, channel: Channel) -> SendLimits:
        """The files ``channel`` can carry, as far as the settings tell (no
        secret read, no network). The provider's ``limits`` may know better
        (a Matrix homeserver says its own bound)."""
        raise NotImplementedError

    @model_validator(mode="after")
    def _one_source_per_secret(self) -> AccountSettings:
        for secret in self.SECRETS:
            env = getattr(self, f"{secret}_env", None)
            cmd = getattr(self, f"{secret}_cmd", None)
            if env and cmd:
                raise ValueError(f"give {secret}_env or {secret}_cmd, not both")
            if not env and not cmd and secret not in self.OPTIONAL_SECRETS:
                raise ValueError(
                    f'missing secret: set {secret}_env = "VARIABLE" or {secret}_cmd = "command"'
                )
        return self


class DemoSettings(AccountSettings):
    kind: Literal["demo"] = "demo"
    seed: int | None = None
    customers: int = Field(default=30, ge=1, le=500)
    messages_per_poll: int = Field(default=3, ge=0, le=100)
    #: WhatsApp templates to try the 24-hour window with (nothing is sent anywhere)
    templates: list[TwilioTemplate] = Field(default_factory=lambda: list(DEMO_TEMPLATES))

    def channels(self) -> tuple[Channel, ...]:
        return ("email", "sms", "whatsapp", "telegram")

    def addresses(self) -> dict[str, str]:
        from providers.demo import OUR_BOT, OUR_EMAIL, OUR_NUMBER

        return {"email": OUR_EMAIL, "sms": OUR_NUMBER, "whatsapp": OUR_NUMBER, "telegram": OUR_BOT}

    def send_limits(self, channel: Channel) -> SendLimits:
        from providers.demo import LIMITS

        return LIMITS


Security = Literal["tls", "starttls", "none"]


class ImapSettings(AccountSettings):
    SECRETS = ("password", "smtp_password")
    OPTIONAL_SECRETS = ("smtp_password",)

    kind: Literal["imap"] = "imap"
    host: str = Field(min_length=1)
    port: int = Field(default=993, gt=0, lt=65536)
    security: Security = "tls"
    username: str = Field(min_length=1)
    password_env: str | None = None
    password_cmd: str | None = None
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], min_length=1)
    sent_folder: str | None = None
    mark_seen: bool = False
    from_address: str = Field(min_length=3)
    smtp_host: str = Field(min_length=1)
    smtp_port: int = Field(default=465, gt=0, lt=65536)
    smtp_security: Security = "tls"
    smtp_username: str | None = None
    smtp_password_env: str | None = None
    smtp_password_cmd: str | None = None
    #: the largest mail the SMTP server takes, as sent (files base64-encoded)
    max_message_bytes: int = Field(default=DEFAULT_MAX_MESSAGE_BYTES, ge=MB, le=1024 * MB)

    def channels(self) -> tuple[Channel, ...]:
        return ("email",)

    def addresses(self) -> dict[str, str]:
        return {"email": parseaddr(self.from_address)[1].lower() or self.username.lower()}

    def send_limits(self, channel: Channel) -> SendLimits:
        room = base64_room(self.max_message_bytes - MAIL_HEADROOM)
        return SendLimits(max_attachment_bytes=room, max_total_bytes=room)


_PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


class TwilioTemplate(BaseModel):
    """An approved WhatsApp template: the name agents pick it by, its Content
    SID at Twilio, the names of its variables in order ("1" for {{1}}) and,
    optionally, its approved wording (``text``, with the {{1}} placeholders)
    for showing and storing what the customer reads."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    content_sid: str = Field(max_length=64)
    variables: list[str] = Field(default_factory=list, max_length=100)
    text: str | None = Field(default=None, max_length=4096)

    def fill(self, values: Mapping[str, str]) -> OutboundTemplate:
        """The template to send with ``values``; ``ValueError`` when one of
        its variables is missing or a value names none of them."""
        missing = [v for v in self.variables if v not in values]
        unknown = sorted(set(values) - set(self.variables))
        if missing or unknown:
            wanted = ", ".join(self.variables) or "none"
            raise ValueError(
                f"template {self.name} takes the variables {wanted}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(unknown)}" if unknown else "")
            )
        return OutboundTemplate(self.content_sid, {v: str(values[v]) for v in self.variables})

    def render(self, values: Mapping[str, str]) -> str | None:
        """``text`` with its placeholders filled (``None`` without a ``text``)."""
        if self.text is None:
            return None
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), self.text)

    @field_validator("content_sid")
    @classmethod
    def _content_sid(cls, value: str) -> str:
        if not value.startswith("HX") or not value[2:].isalnum() or not value.isascii():
            raise ValueError('a content_sid starts with "HX" (Twilio Content API, e.g. HXb5b6...)')
        return value

    @field_validator("variables")
    @classmethod
    def _variable_names(cls, value: list[str]) -> list[str]:
        if any(not name or not name.isascii() or not name.isprintable() for name in value):
            raise ValueError('a variable name is printable ASCII text, such as "1"')
        if len(set(value)) != len(value):
            raise ValueError("each variable is named once")
        return value

    @model_validator(mode="after")
    def _text_uses_declared_variables(self) -> TwilioTemplate:
        # a placeholder no variable fills would reach the customer as "{{2}}"
        used = {m.group(1) for m in _PLACEHOLDER.finditer(self.text or "")}
        undeclared = sorted(used - set(self.variables))
        if undeclared:
            shown = ", ".join(f"{{{{{name}}}}}" for name in undeclared)
            raise ValueError(
                f"template {self.name}: its text uses {shown}, which variables does not list"
            )
        return self


DEMO_TEMPLATES: tuple[TwilioTemplate, ...] = (
    TwilioTemplate(
        name="follow_up",
        content_sid="HX" + "0" * 32,
        variables=["name"],
        text="Hi {{name}}, we have news about your request. Reply to this message to continue.",
    ),
    TwilioTemplate(
        name="order_update",
        content_sid="HX" + "1" * 32,
        variables=["name", "order"],
        text="Hello {{name}}, your order {{order}} has shipped.",
    ),
)


class TwilioSettings(AccountSettings):
    SECRETS = ("auth_token",)

    kind: Literal["twilio"] = "twilio"
    account_sid: str = Field(min_length=2)
    auth_token_env: str | None = None
    auth_token_cmd: str | None = None
    phone_number: str = Field(pattern=r"^\+[1-9][0-9]{6,14}$")
    whatsapp_number: str | None = Field(default=None, pattern=r"^whatsapp:\+[1-9][0-9]{6,14}$")
    messaging_service_sid: str | None = None
    api_base: str | None = None
    default_region: str = DEFAULT_REGION
    #: approved templates, the only messages WhatsApp takes 24 hours after
    #: the customer's last one
    templates: list[TwilioTemplate] = Field(default_factory=list)

    def channels(self) -> tuple[Channel, ...]:
        return ("sms", "whatsapp") if self.whatsapp_number else ("sms",)

    def addresses(self) -> dict[str, str]:
        numbers: dict[str, str] = {"sms": self.phone_number}
        if self.whatsapp_number:
            numbers["whatsapp"] = self.whatsapp_number.removeprefix("whatsapp:")
        return numbers

    def send_limits(self, channel: Channel) -> SendLimits:
        return SendLimits(0, 0, can_attach=False, why_not=TWILIO_NO_FILES)

    def template(self, name: str) -> TwilioTemplate:
        """The template called ``name``; ``KeyError`` naming those there are."""
        for template in self.templates:
            if template.name == name:
                return template
        known = ", ".join(t.name for t in self.templates) or "none is configured"
        raise KeyError(f"no template {name!r} in account {self.name} ({known})")

    @model_validator(mode="after")
    def _unique_templates(self) -> TwilioSettings:
        names = [t.name for t in self.templates]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"template names must be unique: {', '.join(twice)}")
        return self


class TelegramSettings(AccountSettings):
    SECRETS = ("bot_token",)

    kind: Literal["telegram"] = "telegram"
    bot_token_env: str | None = None
    bot_token_cmd: str | None = None
    api_base: str | None = None

    def channels(self) -> tuple[Channel, ...]:
        return ("telegram",)

    def addresses(self) -> dict[str, str]:
        return {}  # "bot<id>", and the id is the first part of the token

    def send_limits(self, channel: Channel) -> SendLimits:
        return SendLimits(max_attachment_bytes=TELEGRAM_MAX_UPLOAD, max_total_bytes=None)


class MatrixSettings(AccountSettings):
    SECRETS = ("password", "access_token")
    OPTIONAL_SECRETS = ("password", "access_token")

    kind: Literal["matrix"] = "matrix"
    homeserver: str = Field(min_length=1)
    user_id: str = Field(pattern=r"^@[^:]+:.+$")
    password_env: str | None = None
    password_cmd: str | None = None
    access_token_env: str | None = None
    access_token_cmd: str | None = None
    rooms: list[str] = Field(default_factory=list)
    accept_invites: bool = False
    #: the homeserver's upload bound (its m.upload.size), so a console with no
    #: secret refuses a bigger file before queuing; unset, the provider asks
    #: the homeserver when it sends, and a bigger file fails then
    max_upload_bytes: int | None = Field(default=None, ge=1)
    #: the device a password login names; unset, one per account and user,
    #: the same in every omnitui process (providers.matrix: transaction ids
    #: are the homeserver's per device)
    device_id: str | None = Field(default=None, min_length=1, max_length=64)

    def channels(self) -> tuple[Channel, ...]:
        return ("matrix",)

    def addresses(self) -> dict[str, str]:
        return {"matrix": self.user_id}

    def send_limits(self, channel: Channel) -> SendLimits:
        # The homeserver's m.upload.size, which only the provider can ask for,
        # unless the config says it.
        return SendLimits(max_attachment_bytes=self.max_upload_bytes, max_total_bytes=None)

    @model_validator(mode="after")
    def _password_or_token(self) -> MatrixSettings:
        if not any(
            (self.password_env, self.password_cmd, self.access_token_env, self.access_token_cmd)
        ):
            raise ValueError("missing secret: set password_env/_cmd or access_token_env/_cmd")
        return self
