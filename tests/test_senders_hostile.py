"""Owners of ``sending`` messages as another version, a corrupt row or a
hostile store may leave them: ``senders.gone`` never raises on them."""

from __future__ import annotations

import pytest

from omnitui.services import senders


def _here(pid: str) -> str:
    host, _pid, nonce, namespace = senders.SENDER_ID.rsplit(":", 3)
    return f"{host}:{pid}:{nonce}x:{namespace}"


@pytest.mark.parametrize("pid", ["2147483648", "9" * 40, "-1", "0", "", " ", "nan", "\x1b[31m"])
def test_a_malformed_pid_of_this_machine_is_not_told_gone_and_never_raises(pid: str) -> None:
    assert senders.gone(_here(pid)) is False


@pytest.mark.parametrize("owner", [None, "", ":", ":::", "a:b:c", "h:o:s:t:1:n:ns"])
def test_owners_of_another_form_are_not_gone(owner: str | None) -> None:
    assert senders.gone(owner) is False
