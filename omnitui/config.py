"""The config file: TOML to typed settings, secrets resolved on demand.

Every problem is reported as a :class:`ConfigError` naming the file, the line,
the key and a fix, so ``omnitui`` can print one clear line and exit 2.
Secret values never appear in a message, a log or a repr.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import stat
import subprocess
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from omnitui.notify import DESKTOP_MODES, AlertSettings
from providers.base import DEFAULT_REGION
from providers.registry import KINDS, ProviderUnavailable, load_provider_class
from providers.settings import AccountSettings
from storage.business_hours import BusinessHours, parse_schedule, parse_timezone

if TYPE_CHECKING:
    from providers.base import Provider

EXAMPLE = Path(__file__).with_name("config_example.toml")
TOP_LEVEL = {
    "database": {"url"},
    "agent": {"name", "default_region", "theme", "team", "signature"},
    "snippets": None,  # any name
    "keymap": None,  # any binding id
    "reports": {"business_hours", "timezone"},
    "alerts": {"bell", "desktop", "notify_cmd", "notify_timeout"},
    "accounts": None,  # checked per kind
    "views": None,  # checked per view
}
SECRET_TIMEOUT = 10.0
#: A config is a few KiB; anything this big is the wrong file.
MAX_CONFIG_BYTES = 1024 * 1024
REGIONS_HINT = (
    "use a two-letter ISO 3166-1 region code such as US, GB, DE, FR, IN or BR "
    "(the list: https://en.wikipedia.org/wiki/ISO_3166-1_alpha-2)"
)


class ConfigError(Exception):
    """A config problem, worded for the person who will fix it."""


class SecretUnavailable(ConfigError):
    """An account's secret cannot be read in this process (variable unset, command
    missing or failing). Only polling and sending need secrets."""


@dataclass(frozen=True)
class AppConfig:
    path: Path | None
    database_url: str | None
    agent_name: str
    default_region: str
    accounts: tuple[AccountSettings, ...]
    snippets: dict[str, str] = field(default_factory=dict)
    keymap: dict[str, str] = field(default_factory=dict)
    theme: str = "dark"
    #: when set, report response and resolution times count only these hours
    business_hours: BusinessHours | None = None
    #: where ``database_url`` is written ("FILE, line N, database.url"), for messages
    database_url_at: str | None = None
    #: ``[agent] team``: names the assign picker offers before the store knows them
    team: tuple[str, ...] = ()
    #: ``[alerts]``: how an alert reaches the agent beyond the console's notice
    alerts: AlertSettings = field(default_factory=AlertSettings)
    #: ``[[views]]``: saved queries, after the built-in views (see omnitui.services.views)
    views: tuple[ViewSetting, ...] = ()
    #: ``[agent] signature``: this agent's own, instead of each account's
    #: (on the channels each account signs; see omnitui.signatures)
    signature: str | None = None


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path("omnitui") / "config.toml"


def default_data_dir() -> Path:
    env = os.environ.get("OMNITUI_DATA_DIR")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_path

    return user_data_path("omnitui")


def find_config(explicit: Path | None) -> Path | None:
    """The config to use: ``explicit``, else $OMNITUI_CONFIG, else the default path if it exists."""
    if explicit is not None:
        return explicit
    env = os.environ.get("OMNITUI_CONFIG")
    if env:
        return Path(env).expanduser()
    path = default_config_path()
    return path if path.exists() else None


class _Locator:
    """Finds the line of a key in the TOML text, for messages."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _section(self, header: re.Pattern[str], nth: int) -> tuple[int, int]:
        starts = [i for i, line in enumerate(self.lines) if header.match(line)]
        if nth >= len(starts):
            return 0, len(self.lines)
        start = starts[nth]
        end = next(
            (
                i
                for i in range(start + 1, len(self.lines))
                if self.lines[i].lstrip().startswith("[")
            ),
            len(self.lines),
        )
        return start, end

    def line(self, table: str, key: str | None = None, nth: int = 0) -> int:
        header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
        if not any(header.match(line) for line in self.lines):
            # written inline at the top level: ``accounts = [1, 2]``
            inline = re.compile(rf"^\s*{re.escape(table)}\s*=")
            for i, line in enumerate(self.lines):
                if inline.match(line):
                    return i + 1
        start, end = self._section(header, nth)
        if key is not None:
            pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
            for i in range(start, end):
                if pattern.match(self.lines[i]):
                    return i + 1
        return start + 1


def _where(path: Path, line: int, key: str) -> str:
    return f"{path}, line {line}, {key}"


def key_error(
    config: AppConfig, table: str, key: str, problem: str, choices: list[str]
) -> ConfigError:
    """A :class:`ConfigError` for ``table.key`` of ``config``'s file, located
    and with a "did you mean", for checks made after loading (the keymap is
    checked by the console, which knows the binding ids)."""
    suggestion = _suggest(key, choices)
    if config.path is None:
        return ConfigError(f"[{table}] {key}: {problem}{suggestion}")
    try:
        locator = _Locator(_read_config_text(config.path))
    except ConfigError:
        line = 0
    else:
        spelled = (f'"{key}"', key, key.partition(".")[0])
        line = next(
            (
                i + 1
                for i, text in enumerate(locator.lines)
                for k in spelled
                if re.match(rf"^\s*{re.escape(k)}\s*=", text)
            ),
            locator.line(table),
        )
    return ConfigError(f"{_where(config.path, line, f'[{table}] {key}')}: {problem}{suggestion}")


def _suggest(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _read_config_text(path: Path) -> str:
    """The text of the config at ``path``; never blocks on a FIFO or reads a device."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        # O_NONBLOCK: opening a FIFO with no writer returns at once instead of
        # waiting forever; it is then refused as not a regular file.
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file; create one with `omnitui init`") from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the config ({exc.strerror or exc}); check its permissions"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise ConfigError(
                f"{path}: cannot read the config: it is a directory; give the path of a TOML file"
            )
        if not stat.S_ISREG(mode):
            raise ConfigError(
                f"{path}: cannot read the config: not a regular file (a pipe, device or "
                "socket); give the path of a TOML file"
            )
        with os.fdopen(os.dup(fd), "rb") as handle:
            data = handle.read(MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_CONFIG_BYTES // 1024} KiB, too big for a config file; "
            "is it the right file?"
        )
    try:
        return data.decode("utf-8-sig")  # a leading byte order mark is dropped
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}, line {line}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None


def load_config(path: Path) -> AppConfig:
    """Read and check the config at ``path``.

    Secrets are not read here: only whether each ``*_cmd`` is a well-formed
    command. A missing variable or a failing command is found when a provider
    is built (to poll or send) and by ``omnitui doctor``.
    """
    text = _read_config_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}; fix the syntax at that place") from None
    where = _Locator(text)
    for table, value in data.items():
        if table not in TOP_LEVEL:
            raise ConfigError(
                f"{_where(path, where.line(table), table)}: unknown section"
                f"{_suggest(table, list(TOP_LEVEL))}; known: {', '.join(TOP_LEVEL)}"
            )
        allowed = TOP_LEVEL[table]
        if allowed is not None and isinstance(value, dict):
            for key in value:
                if key not in allowed:
                    raise ConfigError(
                        f"{_where(path, where.line(table, key), f'{table}.{key}')}: unknown key"
                        f"{_suggest(key, sorted(allowed))}; known: {', '.join(sorted(allowed))}"
                    )
    accounts = _accounts(path, where, data.get("accounts", []))
    agent = _table(path, where, data, "agent")
    database = _table(path, where, data, "database")
    reports = _table(path, where, data, "reports")
    return AppConfig(
        path=path,
        database_url=_string(path, where, database, "database", "url"),
        agent_name=_string(path, where, agent, "agent", "name") or _default_agent(),
        default_region=_region(
            path,
            where,
            "agent",
            "default_region",
            _string(path, where, agent, "agent", "default_region"),
        ),
        accounts=accounts,
        snippets=_strings(path, where, data, "snippets"),
        keymap=_keymap(path, where, data),
        theme=_string(path, where, agent, "agent", "theme") or "dark",
        business_hours=_business_hours(path, where, reports),
        database_url_at=_where(path, where.line("database", "url"), "database.url"),
        team=_team(path, where, agent),
        alerts=_alerts(path, where, _table(path, where, data, "alerts")),
        views=_views(path, where, data.get("views", [])),
        signature=_signature(path, where, agent),
    )


def _alerts(path: Path, where: _Locator, table: dict[str, Any]) -> AlertSettings:
    """``[alerts]``: ``bell``, ``desktop`` (off | osc9 | osc777), ``notify_cmd``
    (split like a shell would, run without one), ``notify_timeout`` seconds."""

    def at(key: str) -> str:
        return _where(path, where.line("alerts", key), f"alerts.{key}")

    bell = table.get("bell", False)
    if not isinstance(bell, bool):
        raise ConfigError(f"{at('bell')}: must be true or false")
    desktop = table.get("desktop", "off")
    if desktop not in DESKTOP_MODES:
        raise ConfigError(f"{at('desktop')}: must be one of {', '.join(DESKTOP_MODES)}")
    command = _string(path, where, table, "alerts", "notify_cmd")
    if command is not None:
        try:
            words = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"{at('notify_cmd')}: not a command line ({exc})") from None
        if not words:
            raise ConfigError(f"{at('notify_cmd')}: empty; remove it or name a command")
    timeout = table.get("notify_timeout", 5.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 60:
        raise ConfigError(
            f"{at('notify_timeout')}: must be a number of seconds, more than 0, at most 60"
        )
    return AlertSettings(
        bell=bell, desktop=desktop, notify_cmd=command or None, notify_timeout=float(timeout)
    )


@dataclass(frozen=True)
class ViewSetting:
    """One ``[[views]]`` table as written (its query known to parse)."""

    name: str
    key: str | None
    query: str
    sort: str = "activity"


VIEW_KEYS = {"name", "key", "query", "sort"}
MAX_VIEW_NAME = 40


def _views(path: Path, where: _Locator, raw: Any) -> tuple[ViewSetting, ...]:
    """``[[views]]``: each a name, a query that parses, an optional key and
    sort; names and keys unique, also against the built-in views."""
    if not raw:
        return ()
    from omnitui.query import QueryError, parse_query
    from omnitui.services.views import BUILTIN_VIEWS
    from storage.query_terms import SORTS

    if not isinstance(raw, list):
        raise ConfigError(
            f"{_where(path, where.line('views'), 'views')}: write each view as a [[views]] table"
        )
    taken_names = {v.name.casefold(): "the built-in view" for v in BUILTIN_VIEWS}
    taken_keys = {v.key: f"the built-in view {v.name!r}" for v in BUILTIN_VIEWS if v.key}
    views: list[ViewSetting] = []
    for n, entry in enumerate(raw):

        def at(key: str | None, n: int = n) -> str:
            return _where(
                path, where.line("views", key, n), f"views[{n}]" + (f".{key}" if key else "")
            )

        if not isinstance(entry, dict):
            raise ConfigError(f"{at(None)}: a view is a table with name = …, query = …")
        for key in entry:
            if key not in VIEW_KEYS:
                raise ConfigError(
                    f"{at(key)}: unknown key{_suggest(key, sorted(VIEW_KEYS))}; "
                    f"known: {', '.join(sorted(VIEW_KEYS))}"
                )
        name, query, key, sort = (entry.get(k) for k in ("name", "query", "key", "sort"))
        if not isinstance(name, str) or not name.strip() or not name.isprintable():
            raise ConfigError(f'{at("name")}: a view needs a name in quotes, e.g. name = "Billing"')
        name = name.strip()
        if len(name) > MAX_VIEW_NAME:
            raise ConfigError(f"{at('name')}: a view's name is at most {MAX_VIEW_NAME} characters")
        if name.casefold() in taken_names:
            raise ConfigError(
                f"{at('name')}: view {name!r}: {taken_names[name.casefold()]} has this name; "
                "give each view its own name"
            )
        if not isinstance(query, str):
            raise ConfigError(
                f'{at("query")}: view {name!r} needs a query in quotes, e.g. query = "tag:billing"'
            )
        try:
            parse_query(query)
        except QueryError as exc:
            raise ConfigError(f"{at('query')}: view {name!r}: {exc.message}") from None
        if key is not None and (
            not isinstance(key, str)
            or not key
            or len(key) > 20
            or not key.isprintable()
            or any(ch.isspace() for ch in key)
        ):
            raise ConfigError(
                f'{at("key")}: view {name!r}: a key is a key name in quotes, e.g. key = "8"'
            )
        if key is not None and key in taken_keys:
            raise ConfigError(
                f"{at('key')}: view {name!r}: the key {key!r} already shows {taken_keys[key]}; "
                "give each view its own key"
            )
        if sort is None:
            sort = "activity"
        if not isinstance(sort, str) or sort not in SORTS:
            raise ConfigError(
                f"{at('sort')}: view {name!r}: unknown sort {sort!r}; use one of {', '.join(SORTS)}"
            )
        taken_names[name.casefold()] = f"views[{n}]"
        if key is not None:
            taken_keys[key] = f"the view {name!r}"
        views.append(ViewSetting(name, key, query, sort))
    return tuple(views)


def _signature(path: Path, where: _Locator, agent: dict[str, Any]) -> str | None:
    """``[agent] signature``, its placeholders checked."""
    text = _string(path, where, agent, "agent", "signature")
    if text is not None:
        _check_signature(_where(path, where.line("agent", "signature"), "agent.signature"), text)
    return text


def _check_signature(at: str, text: str) -> None:
    from omnitui.signatures import check_signature

    try:
        check_signature(text)
    except ValueError as exc:
        raise ConfigError(f"{at}: {exc}") from None


def _team(path: Path, where: _Locator, agent: dict[str, Any]) -> tuple[str, ...]:
    value = agent.get("team", [])
    names = value if isinstance(value, list) else None
    if names is None or not all(isinstance(n, str) and n.strip() for n in names):
        raise ConfigError(
            f"{_where(path, where.line('agent', 'team'), 'agent.team')}: must be a list of "
            'names in quotes, e.g. team = ["alice", "bob"]'
        )
    return tuple(dict.fromkeys(n.strip() for n in names))


def _default_agent() -> str:
    return os.environ.get("USER") or os.environ.get("USERNAME") or "agent"


def _table(path: Path, where: _Locator, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{_where(path, where.line(name), name)}: must be a table: [{name}]")
    return value


def _string(path: Path, where: _Locator, table: dict[str, Any], name: str, key: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(
            f"{_where(path, where.line(name, key), f'{name}.{key}')}: must be a string in quotes"
        )
    return value


def _strings(path: Path, where: _Locator, data: dict[str, Any], name: str) -> dict[str, str]:
    table = _table(path, where, data, name)
    for key, value in table.items():
        if not isinstance(value, str):
            at = _where(path, where.line(name, key), f"{name}.{key}")
            raise ConfigError(f"{at}: must be a string in quotes")
    return dict(table)


def _keymap(path: Path, where: _Locator, data: dict[str, Any]) -> dict[str, str]:
    """``[keymap]``: binding id -> keys. A binding id has a dot, which TOML reads
    as a nested table unless quoted: both spellings are taken."""
    flat: dict[str, Any] = {}
    for key, value in _table(path, where, data, "keymap").items():
        if isinstance(value, dict):
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    for key, value in flat.items():
        if not isinstance(value, str):
            at = _where(path, where.line("keymap", key.partition(".")[0]), f"keymap.{key}")
            raise ConfigError(f'{at}: must be a string in quotes, e.g. "ctrl+s"')
    return flat


def _business_hours(path: Path, where: _Locator, reports: dict[str, Any]) -> BusinessHours | None:
    schedule = _string(path, where, reports, "reports", "business_hours")
    zone = _string(path, where, reports, "reports", "timezone")
    try:
        tz = parse_timezone(zone if zone is not None else "UTC")
    except ValueError as exc:
        line = where.line("reports", "timezone")
        raise ConfigError(f"{_where(path, line, 'reports.timezone')}: {exc}") from None
    if schedule is None:
        return None
    try:
        days, start, end = parse_schedule(schedule)
    except ValueError as exc:
        line = where.line("reports", "business_hours")
        raise ConfigError(f"{_where(path, line, 'reports.business_hours')}: {exc}") from None
    return BusinessHours(days, start, end, tz)


def _accounts(path: Path, where: _Locator, raw: Any) -> tuple[AccountSettings, ...]:
    if not isinstance(raw, list):
        raise ConfigError(
            f"{_where(path, where.line('accounts'), 'accounts')}: write each account as an "
            "[[accounts]] table"
        )
    accounts: list[AccountSettings] = []
    for n, entry in enumerate(raw):
        label = f"accounts[{n}]"
        if not isinstance(entry, dict):
            raise ConfigError(
                f"{_where(path, where.line('accounts', None, n), label)}: an account is a table, "
                f"not {type(entry).__name__} {entry!r}; write each account as an [[accounts]] "
                "table with name = … and kind = …"
            )
        kind = entry.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            line = where.line("accounts", "kind", n)
            known = ", ".join(f"{k} ({info.summary})" for k, info in KINDS.items())
            raise ConfigError(
                f"{_where(path, line, f'{label}.kind')}: "
                + (
                    f"unknown account kind {kind!r}{_suggest(str(kind), list(KINDS))}"
                    if kind is not None
                    else "missing kind"
                )
                + f"; use one of: {known}"
            )
        settings_model = KINDS[kind].settings
        try:
            account = settings_model.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(
                _validation_message(path, where, n, entry, settings_model, exc)
            ) from None
        if any(a.name == account.name for a in accounts):
            line = where.line("accounts", "name", n)
            raise ConfigError(
                f"{_where(path, line, f'{label}.name')}: a second account named {account.name!r}; "
                "give each account its own name"
            )
        _check_secret_commands(path, where, n, account)
        if account.signature is not None:
            line = where.line("accounts", "signature", n)
            _check_signature(_where(path, line, f"{label}.signature"), account.signature)
        if isinstance(region := getattr(account, "default_region", None), str):
            _region(path, where, "accounts", "default_region", region, n)
        accounts.append(account)
    return tuple(accounts)


def _validation_message(
    path: Path,
    where: _Locator,
    n: int,
    entry: dict[str, Any],
    model: type[AccountSettings],
    exc: ValidationError,
) -> str:
    first = exc.errors()[0]
    key = ".".join(str(p) for p in first["loc"]) or "kind"
    top = str(first["loc"][0]) if first["loc"] else None
    line = where.line("accounts", top if top in entry else None, n)
    name = entry.get("name", f"#{n + 1}")
    label = f"accounts[{n}].{key}"
    kind = entry.get("kind")
    if first["type"] == "missing":
        return f"{_where(path, line, label)}: the {kind} account {name!r} needs {key} = …"
    if first["type"] == "extra_forbidden":
        known = sorted(model.model_fields)
        return (
            f"{_where(path, line, label)}: unknown key for a {kind} account"
            f"{_suggest(key, known)}; known keys: {', '.join(known)}"
        )
    if first["type"] == "value_error" and not first["loc"]:
        reason = first["msg"].removeprefix("Value error, ")
        return f"{_where(path, line, f'accounts[{n}]')}: account {name!r}: {reason}"
    return f"{_where(path, line, label)}: {first['msg']} (got {first.get('input')!r})"


def _check_secret_commands(path: Path, where: _Locator, n: int, account: AccountSettings) -> None:
    """Each ``*_cmd`` must split into a command line now, not fail when first run.

    Whether the variable is set or the command works is not checked here: an
    agent's console needs neither (see :func:`resolve_secrets`).
    """
    for secret in account.SECRETS:
        key = f"{secret}_cmd"
        command = getattr(account, key, None)
        if command is None:
            continue
        at = _where(path, where.line("accounts", key, n), f"accounts[{n}].{key}")
        try:
            argv = shlex.split(command)
        except ValueError as exc:  # e.g. "No closing quotation"
            raise ConfigError(
                f"{at}: not a valid command line ({str(exc).lower()}); "
                "fix the quoting, e.g. \"pass show 'mail/support'\""
            ) from None
        if not argv:
            raise ConfigError(
                f"{at}: the command is empty; give the command that prints the secret"
            )


def _region(
    path: Path, where: _Locator, table: str, key: str, value: str | None, nth: int = 0
) -> str:
    """``value`` as a phone-number region code (upper case), or a ConfigError."""
    if value is None:
        return DEFAULT_REGION
    from phonenumbers import SUPPORTED_REGIONS

    code = value.strip().upper()
    if code in SUPPORTED_REGIONS:
        return code
    label = f"accounts[{nth}].{key}" if table == "accounts" else f"{table}.{key}"
    raise ConfigError(
        f"{_where(path, where.line(table, key, nth), label)}: unknown region {value!r}"
        f"{_suggest(code, sorted(SUPPORTED_REGIONS))}; {REGIONS_HINT}"
    )


def resolve_secrets(account: AccountSettings) -> dict[str, str]:
    """The secret values of ``account``, read now from the environment or commands.

    Raises :class:`SecretUnavailable` (naming the account and key, never a
    value) when one cannot be read.
    """
    values: dict[str, str] = {}
    for secret in account.SECRETS:
        variable = getattr(account, f"{secret}_env", None)
        command = getattr(account, f"{secret}_cmd", None)
        if variable:
            if variable not in os.environ:
                raise SecretUnavailable(
                    f"account {account.name!r}: {secret}_env: the environment variable "
                    f"{variable} is not set; export it in the process that polls and sends"
                )
            values[secret] = os.environ[variable]
        elif command:
            values[secret] = _run_secret_command(account.name, secret, command)
    return values


def _run_secret_command(account: str, secret: str, command: str) -> str:
    key = f"{secret}_cmd"
    try:
        argv = shlex.split(command)
    except ValueError:
        raise SecretUnavailable(f"account {account!r}: {key} is not a valid command line") from None
    if not argv or shutil.which(argv[0]) is None:
        program = argv[0] if argv else ""
        raise SecretUnavailable(
            f"account {account!r}: {key}: the command {program!r} is not found; "
            "install it or fix the path"
        )
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=SECRET_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        reason = "timed out" if isinstance(exc, subprocess.TimeoutExpired) else type(exc).__name__
        raise SecretUnavailable(f"account {account!r}: {key} could not run ({reason})") from None
    if proc.returncode != 0:
        # its output could be (part of) the secret: never shown
        raise SecretUnavailable(
            f"account {account!r}: {key} failed with exit code {proc.returncode}; "
            "run it by hand to see why"
        )
    value = proc.stdout.rstrip("\r\n")
    if not value:
        raise SecretUnavailable(f"account {account!r}: {key} printed nothing")
    return value


def redacted(value: str) -> str:
    """How doctor shows a secret: that it is set, never any of it."""
    return "set (hidden)" if value else "empty"


def write_example_config(dest: Path, force: bool = False) -> Path:
    """Write the commented example config to ``dest``; refuse to overwrite without ``force``."""
    if dest.exists() and not force:
        raise ConfigError(f"{dest} already exists; use --force to overwrite it")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write {dest}: {exc}") from None
    return dest


def build_provider(account: AccountSettings) -> Provider:
    """The provider for ``account``, its secrets resolved now."""
    try:
        cls = load_provider_class(account.kind)
    except ProviderUnavailable as exc:
        raise ConfigError(f"account {account.name!r}: {exc}") from None
    provider: Provider = cls(account.name, account, resolve_secrets(account))
    return provider
