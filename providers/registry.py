"""Which account kinds exist: their settings and, imported only when an
account of that kind is used, their provider class."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from providers.settings import (
    AccountSettings,
    DemoSettings,
    ImapSettings,
    MatrixSettings,
    TelegramSettings,
    TwilioSettings,
)


class ProviderUnavailable(Exception):
    """The kind is known, but its provider is not part of this version."""


@dataclass(frozen=True)
class KindInfo:
    settings: type[AccountSettings]
    provider_path: str  # "module:Class"
    summary: str


KINDS: Mapping[str, KindInfo] = {
    "demo": KindInfo(
        DemoSettings,
        "providers.demo:DemoProvider",
        "simulated customers on every channel, for trying omnitui",
    ),
    "imap": KindInfo(ImapSettings, "providers.email:EmailProvider", "e-mail: IMAP in, SMTP out"),
    "twilio": KindInfo(
        TwilioSettings, "providers.twilio:TwilioProvider", "SMS and WhatsApp through Twilio"
    ),
    "telegram": KindInfo(TelegramSettings, "providers.telegram:TelegramProvider", "a Telegram bot"),
    "matrix": KindInfo(MatrixSettings, "providers.matrix:MatrixProvider", "Matrix rooms"),
}


def load_provider_class(kind: str) -> Any:
    """The provider class of ``kind``, imported now."""
    info = KINDS[kind]
    module_name, _, class_name = info.provider_path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise  # a dependency of the provider is missing: say so as it is
        raise ProviderUnavailable(
            f"the {kind} provider is not available in this version of omnitui"
        ) from None
    return getattr(module, class_name)
