"""Secrets kept out of every record and notice: the command, labels, feedback values, notices.

Two sources of rules. The built-in ones catch the usual ways a secret sits in
a command line or a log line: `--password=X` and `--password X`, any
`NAME=value` or `NAME: value` whose name ends in password, passwd, pass, pwd,
secret, token, apikey, api_key, access_key, auth or credentials, `user:pass@`
in a URL, and the `-pX` of mysql, mariadb and sshpass. The config's `redact:`
list adds the user's: a string is a literal, `{regex: ...}` a pattern; every
match becomes `***`.

runwrap runs on every cron tick, and `re` costs milliseconds to import: it is
imported only when the config has a `redact:` regex, or when the text holds a
hint that a built-in rule may match (a cheap substring test first).
"""

from runwrap.errors import RunwrapError

MASK = "***"
_NAMES = (
    r"(?:password|passwd|pass|pwd|secret|token|api[_-]?key|access[_-]?key|auth|authorization"
    r"|credentials?)"
)
# Substrings without which no built-in rule can match (lower case).
_HINTS = ("pass", "pwd", "secret", "token", "key", "auth", "cred", "://")
# Programs whose `-pVALUE` is the password itself.
_P_TOOLS = ("mysql", "mariadb", "sshpass")


def _builtin_rules():  # -> list of (compiled pattern, replacement)
    import re

    return [
        # scheme://user:password@host
        (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*):[^@\s/]*@"), r"\1:" + MASK + "@"),
        # NAME=value, NAME: value (the name ends in one of _NAMES); quoted values whole.
        (
            re.compile(
                r"(?i)((?<![A-Za-z0-9])[\w.-]*" + _NAMES + r"['\"]?\s*[=:]\s*"
                r"(?:bearer\s+|basic\s+)?)"
                r"(\"[^\"]*\"|'[^']*'|[^\s&;,'\"]+)"
            ),
            r"\1" + MASK,
        ),
    ]


def _option_name(arg: str) -> bool:
    """Whether `arg` is an option like --password or --api-token, whose next arg is its value.

    (A flag like --no-password masks the argument after it too: a false alarm
    costs a readable record, a miss costs a secret.)
    """
    if not arg.startswith("-") or "=" in arg:
        return False
    import re

    return re.fullmatch(r"--?[\w.-]*" + _NAMES, arg, re.IGNORECASE) is not None


def _secret_name(key: object) -> bool:
    """Whether a key (a label's, a feedback value's) names a secret: api_token, DB_PASSWORD."""
    if not isinstance(key, str) or not any(h in key.lower() for h in _HINTS):
        return False
    import re

    return re.fullmatch(r"[\w.-]*" + _NAMES, key, re.IGNORECASE) is not None


class Redactor:
    """The rules in force: the config's literals and regexes, then the built-in ones."""

    def __init__(self, literals: tuple[str, ...] = (), regexes: tuple[str, ...] = ()) -> None:
        # Longest first: a literal that contains another is masked whole.
        self.literals = tuple(sorted(set(literals), key=len, reverse=True))
        self.regexes = regexes
        self._compiled: list | None = None

    def _rules(self) -> list:
        if self._compiled is None:
            import re

            own = [(re.compile(p), MASK) for p in self.regexes]
            self._compiled = own + _builtin_rules()
        return self._compiled

    def _may_match(self, lower: str) -> bool:
        return bool(self.regexes) or any(h in lower for h in _HINTS) or _tool(lower)

    def text(self, text: str) -> str:
        """`text` with every secret the rules find masked."""
        if not isinstance(text, str) or not text:
            return text
        for literal in self.literals:
            if literal in text:
                text = text.replace(literal, MASK)
        lower = text.lower()
        if not self._may_match(lower):
            return text
        for pattern, replacement in self._rules():
            text = pattern.sub(replacement, text)
        if _tool(lower):
            import re

            text = re.sub(r"(?<![^\s'\"])-p[^\s'\"]+", "-p" + MASK, text)
        return text

    def argv(self, argv: list) -> list:
        """A command as recorded: each argument masked, and the value after --password."""
        out = [self.text(a) if isinstance(a, str) else a for a in argv]
        lower = " ".join(a for a in out if isinstance(a, str)).lower()
        tool = _tool(lower)
        if not tool and not any(h in lower for h in _HINTS):
            return out
        for i, arg in enumerate(out):
            if not isinstance(arg, str):
                continue
            if tool and arg.startswith("-p") and len(arg) > 2 and not arg.startswith("-p" + MASK):
                out[i] = "-p" + MASK  # mysql -pSECRET, sshpass -pSECRET
            previous = out[i - 1] if i else None
            if isinstance(previous, str) and (
                _option_name(previous) or (tool and previous == "-p")
            ):
                out[i] = MASK  # --password SECRET, sshpass -p SECRET
        return out

    def values(self, mapping: object) -> object:
        """A dict's string values masked (labels, feedback); anything else as it is.

        A value whose key names a secret (`[api_token]...`, `-l password=...`) is masked whole.
        """
        if not isinstance(mapping, dict):
            return mapping
        return {
            k: (MASK if _secret_name(k) else self.text(v)) if isinstance(v, str) else v
            for k, v in mapping.items()
        }


def _tool(lower: str) -> bool:
    return any(t in lower for t in _P_TOOLS)


def parse(value: object) -> "Redactor":
    """The config's `redact:` list as a Redactor (RunwrapError, one line, when it is malformed)."""
    if value is None:
        return Redactor()
    if not isinstance(value, list):
        raise RunwrapError("redact: use a list of strings and {regex: ...} entries")
    literals: list[str] = []
    regexes: list[str] = []
    for entry in value:
        if isinstance(entry, str) and entry:
            literals.append(entry)
        elif (
            isinstance(entry, dict) and set(entry) == {"regex"} and isinstance(entry["regex"], str)
        ):
            import re

            try:
                re.compile(entry["regex"])
            except re.error as e:
                raise RunwrapError(f"redact: bad regex {entry['regex']!r}: {e}") from None
            regexes.append(entry["regex"])
        else:
            raise RunwrapError(f"redact: {entry!r} is neither a string nor {{regex: PATTERN}}")
    return Redactor(tuple(literals), tuple(regexes))


_cache: "dict[int, tuple[object, Redactor]]" = {}


def for_config(config: dict) -> "Redactor":
    """The Redactor of a loaded config (checked and built once per config)."""
    value = config.get("redact") if isinstance(config, dict) else None
    cached = _cache.get(id(config))
    if cached is not None and cached[0] is value:
        return cached[1]
    redactor = parse(value)
    _cache[id(config)] = (value, redactor)
    return redactor
