"""Each account kind's settings, validated from the config file.

Only pydantic is imported here, so a config is checked without loading any
provider's SDK. A secret ``x`` is never a key itself: the file names where
to find it with ``x_env`` (an environment variable) or ``x_cmd`` (a command
printing it); ``SECRETS`` lists each kind's secrets.

Which channels an account carries and its own address on each follow from
these settings alone (:meth:`AccountSettings.channels`,
:meth:`AccountSettings.addresses`), so a process that only reads and writes
the store (an agent's console, ``omnitui send`` queuing a message) needs no
secret: only the process that polls or sends resolves them.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from providers.base import DEFAULT_REGION

if TYPE_CHECKING:
    from providers.base import Channel

#: The longest poll interval accepted (a day); beyond it the sleep overflows
#: or the account is effectively never polled.
MAX_POLL_INTERVAL = 86_400.0


class AccountSettings(BaseModel):
    """Keys every account has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    SECRETS: ClassVar[tuple[str, ...]] = ()
    #: secrets that may be absent (the provider falls back to another)
    OPTIONAL_SECRETS: ClassVar[tuple[str, ...]] = ()

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    kind: str
    poll_interval: float = Field(default=60.0, gt=0, le=MAX_POLL_INTERVAL, allow_inf_nan=False)

    def channels(self) -> tuple[Channel, ...]:
        """The channels this account carries, as its provider will."""
        raise NotImplementedError

    def addresses(self) -> dict[str, str]:
        """Our own address on each channel, where the settings tell it (no secret read).

        A channel may be missing: a Telegram bot's id is part of its token.
        """
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

    def channels(self) -> tuple[Channel, ...]:
        return ("email", "sms", "whatsapp", "telegram")

    def addresses(self) -> dict[str, str]:
        from providers.demo import OUR_BOT, OUR_EMAIL, OUR_NUMBER

        return {"email": OUR_EMAIL, "sms": OUR_NUMBER, "whatsapp": OUR_NUMBER, "telegram": OUR_BOT}


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

    def channels(self) -> tuple[Channel, ...]:
        return ("email",)

    def addresses(self) -> dict[str, str]:
        return {"email": parseaddr(self.from_address)[1].lower() or self.username.lower()}


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

    def channels(self) -> tuple[Channel, ...]:
        return ("sms", "whatsapp") if self.whatsapp_number else ("sms",)

    def addresses(self) -> dict[str, str]:
        numbers: dict[str, str] = {"sms": self.phone_number}
        if self.whatsapp_number:
            numbers["whatsapp"] = self.whatsapp_number.removeprefix("whatsapp:")
        return numbers


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

    def channels(self) -> tuple[Channel, ...]:
        return ("matrix",)

    def addresses(self) -> dict[str, str]:
        return {"matrix": self.user_id}

    @model_validator(mode="after")
    def _password_or_token(self) -> MatrixSettings:
        if not any(
            (self.password_env, self.password_cmd, self.access_token_env, self.access_token_cmd)
        ):
            raise ValueError("missing secret: set password_env/_cmd or access_token_env/_cmd")
        return self
