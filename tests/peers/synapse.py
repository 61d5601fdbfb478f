"""A real Matrix homeserver (Synapse from PyPI, in its own virtualenv made by
scripts/install-test-deps.sh) on a loopback port, with a generated config,
SQLite, rate limits lifted and users registered through the shared secret."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from providers.matrix import MatrixProvider

ROOT = Path(__file__).resolve().parents[2]
#: the support bot every Matrix test logs in as (a test-only password)
BOT_USER = "supportbot"
BOT_PASSWORD = "bot-password-1"
PYTHON = Path(os.environ.get("OMNITUI_SYNAPSE_VENV", ROOT / ".venv-synapse")) / "bin" / "python"
LIFTED = """
rc_message: {per_second: 1000, burst_count: 1000}
rc_registration: {per_second: 1000, burst_count: 1000}
rc_login:
  address: {per_second: 1000, burst_count: 1000}
  account: {per_second: 1000, burst_count: 1000}
  failed_attempts: {per_second: 1000, burst_count: 1000}
rc_joins:
  local: {per_second: 1000, burst_count: 1000}
rc_invites:
  per_room: {per_second: 1000, burst_count: 1000}
  per_user: {per_second: 1000, burst_count: 1000}
suppress_key_server_warning: true
trusted_key_servers: []
max_upload_size: 8M
"""
#: the m.upload.size the homeserver above announces
MAX_UPLOAD = 8 * 1024 * 1024


class SynapseUnavailable(Exception):
    pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SynapseServer:
    server_name = "localhost"

    def __init__(self) -> None:
        if not PYTHON.exists():
            raise SynapseUnavailable(
                f"no Synapse virtualenv at {PYTHON.parent.parent}: run scripts/install-test-deps.sh"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="omnitui-synapse-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = self.dir / "hs.yaml"
        self.proc: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [
                str(PYTHON),
                "-m",
                "synapse.app.homeserver",
                "--server-name",
                self.server_name,
                "--config-path",
                str(self.config),
                "--generate-config",
                "--report-stats=no",
                "--data-directory",
                str(self.dir),
            ],
            check=True,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            cwd=self.dir,
        )
        text = (
            self.config.read_text()
            .replace("    - ::1\n", "")
            .replace("port: 8008", f"port: {self.port}")
        )
        self.config.write_text(text + LIFTED)
        self.secret = next(
            line.split(":", 1)[1].strip().strip('"')
            for line in text.splitlines()
            if line.startswith("registration_shared_secret:")
        )
        atexit.register(self.cleanup)

    def start(self) -> None:
        log = open(self.dir / "out.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(
            [str(PYTHON), "-m", "synapse.app.homeserver", "-c", str(self.config)],
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            cwd=self.dir,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/_matrix/client/versions", timeout=1).ok:
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise SynapseUnavailable(
            "Synapse did not start:\n" + (self.dir / "out.log").read_text(errors="replace")[-2000:]
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def register(self, user: str, password: str) -> str:
        """Create ``user`` through the shared-secret admin API; returns the full id."""
        api = f"{self.url}/_synapse/admin/v1/register"
        nonce = requests.get(api, timeout=10).json()["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(f"{nonce}\x00{user}\x00{password}\x00notadmin".encode())
        body = {
            "nonce": nonce,
            "username": user,
            "password": password,
            "admin": False,
            "mac": mac.hexdigest(),
        }
        response = requests.post(api, json=body, timeout=10)
        response.raise_for_status()
        return str(response.json()["user_id"])


class Client:
    """A customer's side: just enough of the Client-Server API."""

    def __init__(self, server: SynapseServer, user: str, password: str) -> None:
        self.url = f"{server.url}/_matrix/client/v3"
        result = requests.post(
            f"{self.url}/login",
            timeout=10,
            json={
                "type": "m.login.password",
                "password": password,
                "identifier": {"type": "m.id.user", "user": user},
            },
        ).json()
        self.token, self.user_id = result["access_token"], result["user_id"]
        self._txn = 0

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            self.url + path,
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        response.raise_for_status()
        return response.json()

    def create_room(self, invite: list[str]) -> str:
        return str(
            self._call(
                "POST",
                "/createRoom",
                json={"invite": invite, "is_direct": True, "preset": "private_chat"},
            )["room_id"]
        )

    def say(self, room: str, text: str) -> str:
        self._txn += 1
        path = f"/rooms/{room}/send/m.room.message/t{self._txn}-{time.monotonic_ns()}"
        return str(self._call("PUT", path, json={"msgtype": "m.text", "body": text})["event_id"])

    def send_file(self, room: str, data: bytes, filename: str, msgtype: str, mimetype: str) -> str:
        """Upload ``data`` to the media repository and post it as ``msgtype``."""
        upload = requests.post(
            self.url.replace("/client/v3", "/media/v3") + "/upload",
            params={"filename": filename},
            data=data,
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": mimetype},
        )
        upload.raise_for_status()
        content = {
            "msgtype": msgtype,
            "body": filename,
            "url": upload.json()["content_uri"],
            "info": {"mimetype": mimetype, "size": len(data)},
        }
        self._txn += 1
        path = f"/rooms/{room}/send/m.room.message/f{self._txn}-{time.monotonic_ns()}"
        return str(self._call("PUT", path, json=content)["event_id"])

    def download(self, mxc: str) -> bytes:
        """The bytes behind ``mxc://server/id`` (authenticated media)."""
        server_media = mxc.removeprefix("mxc://")
        response = requests.get(
            f"{self.url.replace('/v3', '/v1')}/media/download/{server_media}",
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
        )
        response.raise_for_status()
        return response.content

    def join(self, room: str) -> None:
        self._call("POST", f"/join/{room}", json={})

    def rooms(self) -> dict[str, str]:
        """Every room this user is in or invited to, with the membership."""
        rooms = self._call("GET", "/sync", params={"timeout": "0"}).get("rooms", {})
        return {
            **{room: "join" for room in rooms.get("join", {})},
            **{room: "invite" for room in rooms.get("invite", {})},
        }

    def invite_event(self, room: str) -> dict[str, Any]:
        """The m.room.member event that invited this user to ``room``."""
        invited = self._call("GET", "/sync", params={"timeout": "0"})["rooms"]["invite"][room]
        return next(
            e
            for e in invited["invite_state"]["events"]
            if e["type"] == "m.room.member" and e["state_key"] == self.user_id
        )

    def joined_rooms(self) -> list[str]:
        return list(self._call("GET", "/joined_rooms")["joined_rooms"])

    def state(self, room: str, event_type: str, key: str = "") -> dict[str, Any]:
        return dict(self._call("GET", f"/rooms/{room}/state/{event_type}/{key}"))

    def account_data(self, event_type: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/user/{self.user_id}/account_data/{event_type}"))

    def set_name(self, name: str) -> None:
        self._call("PUT", f"/profile/{self.user_id}/displayname", json={"displayname": name})

    def messages(self, room: str) -> list[dict[str, Any]]:
        chunk = self._call("GET", f"/rooms/{room}/messages", params={"dir": "b", "limit": 50})[
            "chunk"
        ]
        return [e for e in chunk if e.get("type") == "m.room.message"]


def bot_for(synapse: SynapseServer) -> MatrixProvider:
    """The "mx" account's provider, logged in as the bot on ``synapse`` (close it after),
    as a device of its own: Synapse answers the same /sync of one device from
    a cache for a while, which would hand one test another's rooms."""
    from providers.matrix import MatrixProvider
    from providers.settings import MatrixSettings

    settings = MatrixSettings(
        name="mx",
        homeserver=synapse.url,
        user_id="@supportbot:localhost",
        password_env="UNUSED",
        accept_invites=True,
        device_id=f"TEST{uuid.uuid4().hex[:12].upper()}",
    )
    return MatrixProvider("mx", settings, {"password": BOT_PASSWORD})
