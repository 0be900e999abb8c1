"""Notifier definitions: read from the config's `notifiers:` section and checked.

Every problem is one line naming the notifier and the field, raised before
the job runs, so that a typo in a mail setting is found at the first tick
and not at the first failure. Plain classes, not dataclasses: this module is
imported on the run path of every task that has notifiers.
"""

from __future__ import annotations

import os

from runwrap.errors import RunwrapError
from runwrap.redact import Redactor, for_config
from runwrap.units import parse_count, parse_duration

EVENTS = (
    "failure",
    "recovery",
    "still-failing",
    "always",
    "skipped",
    "stuck",
    "late",
    "duration",
)
DEFAULT_ON = ("failure", "recovery", "stuck", "late", "duration")
# The console a task gets when no notifier is configured: one mail (cron's MAILTO)
# when it breaks, one when it heals, and, from runwrap check, one when it is late.
IMPLICIT_ON = ("failure", "recovery", "late", "duration")
TYPES = ("console", "email", "webhook", "command", "healthchecks", "apprise")
WEBHOOK_FORMATS = ("json", "slack", "discord")
SECURITY = ("starttls", "tls", "auto", "none")
DEFAULT_TIMEOUT = 10.0
DEFAULT_STUCK_AFTER = 3

# Keys every notifier takes, and the keys of each type (anything else is a typo).
_COMMON = frozenset({"type", "on", "after", "remind_every", "stuck_after", "timeout"})
_TEMPLATED = frozenset({"subject", "body"})
_KEYS = {
    "console": _TEMPLATED,
    "email": _TEMPLATED
    | {
        "host",
        "port",
        "security",
        "username",
        "password_env",
        "password_file",
        "from",
        "to",
        "ca_file",
        "allow_plaintext_auth",
    },
    "webhook": _TEMPLATED | {"url", "format", "headers"},
    "command": _TEMPLATED | {"command"},
    "healthchecks": frozenset({"url"}),
    "apprise": _TEMPLATED | {"urls"},
}


class Notifier:
    """One notifier as configured: what to tell, when, and how to reach it."""

    __slots__ = (
        "after",
        "fields",
        "name",
        "on",
        "redactor",
        "remind_every",
        "stuck_after",
        "timeout",
        "type",
    )

    def __init__(
        self,
        name: str,
        type: str,
        on: tuple[str, ...] = DEFAULT_ON,
        after: int = 1,
        remind_every: float | None = None,
        stuck_after: int = DEFAULT_STUCK_AFTER,
        timeout: float = DEFAULT_TIMEOUT,
        fields: dict | None = None,
    ) -> None:
        self.name = name
        self.type = type
        self.on = on
        self.after = after
        self.remind_every = remind_every
        self.stuck_after = stuck_after
        self.timeout = timeout
        # The transport's own settings, already checked (never a password itself).
        self.fields = fields or {}
        # The config's redact: rules with the built-in ones (set by load_notifiers).
        self.redactor = Redactor()

    def __repr__(self) -> str:
        return f"Notifier({self.name!r}, {self.type!r}, on={self.on!r})"


def _fail(name: str, field: str, problem: str) -> RunwrapError:
    return RunwrapError(f"notifier {name!r}: {field}: {problem}")


def _duration(name: str, field: str, value: object) -> float:
    try:
        return parse_duration(value, "value")
    except RunwrapError as e:
        raise _fail(name, field, str(e)) from None


def _count(name: str, field: str, value: object) -> int:
    try:
        return parse_count(value, "value")
    except RunwrapError as e:
        raise _fail(name, field, str(e)) from None


def _text(name: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _fail(name, field, "use a non-empty string")
    return value


def _str_list(name: str, field: str, value: object) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise _fail(name, field, "use a string or a non-empty list of strings")
    return [_text(name, field, item) for item in items]


def _password_source(
    name: str, raw: dict, environ: dict[str, str]
) -> tuple[str | None, str | None]:
    """(password_env, password_file), checked; the password itself is read at send time."""
    if "password" in raw:
        raise _fail(
            name,
            "password",
            "never put a password in the config: use password_env or password_file",
        )
    env_name = raw.get("password_env")
    file_name = raw.get("password_file")
    if env_name is not None and file_name is not None:
        raise _fail(name, "password_env", "give password_env or password_file, not both")
    if env_name is not None:
        env_name = _text(name, "password_env", env_name)
        if env_name not in environ:
            raise _fail(name, "password_env", f"the environment variable {env_name} is not set")
        return env_name, None
    if file_name is not None:
        path = os.path.expanduser(_text(name, "password_file", file_name))
        try:
            with open(path, encoding="utf-8"):
                pass
        except OSError as e:
            raise _fail(name, "password_file", f"cannot read {path}: {e.strerror}") from None
        return None, path
    return None, None


def _email(name: str, raw: dict, environ: dict[str, str]) -> dict:
    host = _text(name, "host", raw.get("host", "localhost"))
    security = raw.get("security")
    port = raw.get("port")
    if port is not None:
        port = _count(name, "port", port)
        if not 0 < port < 65536:
            raise _fail(name, "port", f"{port} is not a TCP port")
    if security is None:
        # The usual pairing of ports and security, so that most configs name only one;
        # any other port takes STARTTLS when the server offers it (and needs it to log in).
        security = {465: "tls", 587: "starttls"}.get(port or 0, "auto" if port else "starttls")
    if security not in SECURITY:
        raise _fail(name, "security", f"{security!r}: use starttls, tls, auto or none")
    if port is None:
        port = {"tls": 465, "starttls": 587, "auto": 25, "none": 25}[security]
    username = raw.get("username")
    if username is not None:
        username = _text(name, "username", username)
    password_env, password_file = _password_source(name, raw, environ)
    if (password_env or password_file) and username is None:
        raise _fail(name, "username", "a password is given but no username to log in with")
    plaintext = raw.get("allow_plaintext_auth", False)
    if not isinstance(plaintext, bool):
        raise _fail(name, "allow_plaintext_auth", "use true or false")
    if security == "none" and username is not None and not plaintext:
        # The one way a password goes out in clear: said in the config, on purpose.
        raise _fail(
            name,
            "security",
            f"none would send the password of {username} in clear: "
            "use starttls or tls, or set allow_plaintext_auth: true",
        )
    if "to" not in raw:
        raise _fail(name, "to", "missing: give one address or a list")
    to = _str_list(name, "to", raw["to"])
    for address in to:
        if "@" not in address:
            raise _fail(name, "to", f"{address!r} is not an email address")
    sender = raw.get("from")
    if sender is not None and "@" not in _text(name, "from", sender):
        raise _fail(name, "from", f"{sender!r} is not an email address")
    ca_file = raw.get("ca_file")
    if ca_file is not None:
        ca_file = os.path.expanduser(_text(name, "ca_file", ca_file))
        if not os.path.isfile(ca_file):
            raise _fail(name, "ca_file", f"no such file {ca_file}")
    return {
        "host": host,
        "port": port,
        "security": security,
        "username": username,
        "password_env": password_env,
        "password_file": password_file,
        "from": sender,
        "to": to,
        "ca_file": ca_file,
        "allow_plaintext_auth": plaintext,
    }


def _url(name: str, field: str, value: object) -> str:
    url = _text(name, field, value)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in ("http", "https"):
        # The URL itself is not echoed: it may hold a token.
        raise _fail(name, field, "use an http:// or https:// URL")
    host = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    if "@" in host:
        raise _fail(
            name, field, "user:password@ in the URL is not supported; send credentials in headers"
        )
    return url


def _webhook(name: str, raw: dict, environ: dict[str, str]) -> dict:
    if "url" not in raw:
        raise _fail(name, "url", "missing: the URL to POST to")
    fmt = raw.get("format", "json")
    if fmt not in WEBHOOK_FORMATS:
        raise _fail(name, "format", f"{fmt!r}: use json, slack or discord")
    headers = raw.get("headers") or {}
    if not isinstance(headers, dict):
        raise _fail(name, "headers", "use a mapping of Header-Name: value")
    checked = {}
    for key, value in headers.items():
        if not isinstance(key, str) or not key or any(c in key for c in ": \r\n"):
            raise _fail(name, "headers", f"{key!r} is not a header name")
        if not isinstance(value, (str, int)) or any(c in str(value) for c in "\r\n"):
            raise _fail(name, "headers", f"bad value for {key}")
        checked[key] = str(value)
    return {"url": _url(name, "url", raw["url"]), "format": fmt, "headers": checked}


def _command(name: str, raw: dict, environ: dict[str, str]) -> dict:
    if "command" not in raw:
        raise _fail(name, "command", "missing: a program and its arguments")
    value = raw["command"]
    if isinstance(value, str):
        # A string is a shell command line, as in a crontab.
        argv = ["/bin/sh", "-c", _text(name, "command", value)]
    else:
        argv = _str_list(name, "command", value)
    return {"argv": argv}


def _healthchecks(name: str, raw: dict, environ: dict[str, str]) -> dict:
    if "url" not in raw:
        raise _fail(name, "url", "missing: the check's ping URL")
    return {"url": _url(name, "url", raw["url"]).rstrip("/")}


def _apprise(name: str, raw: dict, environ: dict[str, str]) -> dict:
    if "urls" not in raw:
        raise _fail(name, "urls", "missing: one Apprise URL or a list")
    urls = _str_list(name, "urls", raw["urls"])
    from importlib.util import find_spec

    if find_spec("apprise") is None:
        raise _fail(name, "type", "apprise is not installed: pip install 'runwrap[apprise]'")
    return {"urls": urls}


_TRANSPORT_FIELDS = {
    "console": lambda name, raw, environ: {},
    "email": _email,
    "webhook": _webhook,
    "command": _command,
    "healthchecks": _healthchecks,
    "apprise": _apprise,
}


def _templates(name: str, raw: dict) -> dict:
    out = {}
    for field in ("subject", "body"):
        if field in raw:
            from runwrap.notify.message import check_template

            text = raw[field]
            if not isinstance(text, str):
                raise _fail(name, field, "use a string template")
            problem = check_template(text)
            if problem:
                raise _fail(name, field, problem)
            out[field] = text
    return out


def parse_notifier(name: str, raw: object, environ: dict[str, str]) -> Notifier:
    """One notifier definition from the config, checked."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise _fail(name, "definition", "use a mapping with at least type:")
    # YAML 1.1 reads a bare `on:` key as the boolean True.
    raw = {("on" if k is True else str(k).replace("-", "_")): v for k, v in raw.items()}
    kind = raw.get("type")
    if kind is None and name in TYPES:
        kind = name  # `console: {}` needs no `type: console`
    if kind not in TYPES:
        shown = "missing" if kind is None else repr(kind)
        raise _fail(name, "type", f"{shown}: use one of {', '.join(TYPES)}")
    for key in raw:
        if key not in _COMMON and key not in _KEYS[kind] and key != "password":
            raise _fail(name, key, f"unknown setting for a {kind} notifier")
    events = _str_list(name, "on", raw.get("on", list(DEFAULT_ON)))
    for event in events:
        if event not in EVENTS:
            raise _fail(name, "on", f"unknown event {event!r}: use {', '.join(EVENTS)}")
    remind_every = raw.get("remind_every")
    if remind_every is not None:
        remind_every = _duration(name, "remind_every", remind_every)
        if remind_every <= 0:
            raise _fail(name, "remind_every", "must be more than 0")
    if "still-failing" in events and remind_every is None:
        raise _fail(name, "remind_every", "still-failing needs remind_every: DURATION")
    after = _count(name, "after", raw.get("after", 1))
    if after < 1:
        raise _fail(name, "after", "must be 1 or more")
    stuck_after = _count(name, "stuck_after", raw.get("stuck_after", DEFAULT_STUCK_AFTER))
    if stuck_after < 1:
        raise _fail(name, "stuck_after", "must be 1 or more")
    timeout = _duration(name, "timeout", raw.get("timeout", DEFAULT_TIMEOUT))
    if timeout <= 0:
        raise _fail(name, "timeout", "must be more than 0")
    fields = _TRANSPORT_FIELDS[kind](name, raw, environ)
    fields.update(_templates(name, raw))
    return Notifier(
        name,
        kind,
        on=tuple(events),
        after=after,
        remind_every=remind_every,
        stuck_after=stuck_after,
        timeout=timeout,
        fields=fields,
    )


def load_notifiers(
    names: list[str], config: dict, environ: dict[str, str] | None = None, implicit: bool = False
) -> list[Notifier]:
    """The notifiers a task uses, by name, checked; a one-line error for the first problem.

    `implicit`: no notifier was configured, `names` is the default console.
    """
    environ = os.environ if environ is None else environ
    defined = config.get("notifiers") or {}
    out: list[Notifier] = []
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if name in defined:
            out.append(parse_notifier(name, defined[name], environ))
        elif name == "console":
            # The console notifier needs no definition: `--notify console` is enough.
            raw = {"on": list(IMPLICIT_ON)} if implicit else {}
            out.append(parse_notifier(name, raw, environ))
        else:
            raise RunwrapError(
                f"notifier {name!r}: not defined: add it under notifiers: in the config file"
            )
    redactor = for_config(config)
    for notifier in out:
        notifier.redactor = redactor
    return out
