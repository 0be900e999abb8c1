"""Time zones of schedules: decided once when a run is recorded, stored by name, read by all.

cron fires in one zone: Debian's cron in the system's (/etc/localtime),
cronie in `CRON_TZ` when the crontab sets it, a systemd timer in its own.
runwrap decides the zone when it records a run, from what it can see of that
(`--timezone` / `timezone:`, then `CRON_TZ`, then `TZ`, then /etc/localtime),
and stores it by name with the schedule, so that every reader, whatever its
own `TZ`, reads the schedule in the same zone. Anything glibc accepts as `TZ`
works: a zone name, `:NAME`, a file (`:/etc/localtime`), a POSIX rule
(`CET-1CEST,M3.5.0,M10.5.0/3`). A zone that cannot be read is UTC, as it is
for glibc, with one warning: never a job that does not run.

A name is an IANA name (`Europe/Berlin`) where one can be found, else the
POSIX rule itself, which readers load through zoneinfo as a TZif with no
transitions and that rule as its footer (ZoneInfo.from_file, its public face).

Finding the source costs a few system calls and no import: a tick whose
source is the one already recorded pays nothing more (schedule.record()).
"""

from __future__ import annotations

import os

LOCALTIME = "/etc/localtime"
ETC_TIMEZONE = "/etc/timezone"  # Debian's name of the system zone
ZONEINFO = "/usr/share/zoneinfo"
UTC = "UTC"
# glibc's rule for a POSIX zone with a DST name but no rule (posixrules absent).
_DEFAULT_RULE = ",M3.2.0,M11.1.0"
_loaded: dict[str, object] = {}


def source(option: str | None, environ: dict[str, str]) -> tuple[str, str, str]:
    """(where, value, stamp): where the schedule's zone comes from, cheaply (no file is read).

    The stamp of a file (where its link points, its size and mtime) changes when
    the file does, so a changed /etc/localtime is seen on the next tick.
    """
    for where, value in (("timezone", option), ("CRON_TZ", environ.get("CRON_TZ"))):
        if value is not None and value.strip():
            return where, value.strip(), _stamp_of(value.strip())
    if "TZ" in environ:
        value = environ["TZ"].strip()
        return "TZ", value, _stamp_of(value)
    return "system", LOCALTIME, _file_stamp(LOCALTIME)


def source_key(found: tuple[str, str, str]) -> str:
    """The source as one line, recorded with the schedule: `TZ=:/etc/localtime (-> ...)`."""
    where, value, stamp = found
    return f"{where}={value}" + (f" ({stamp})" if stamp else "")


def _path_of(value: str) -> str | None:
    """The file a TZ value names (`:/etc/localtime`, `/path`), or None."""
    text = value[1:] if value.startswith(":") else value
    return text if text.startswith("/") else None


def _stamp_of(value: str) -> str:
    path = _path_of(value)
    return "" if path is None else _file_stamp(path)


def _file_stamp(path: str) -> str:
    try:
        st = os.stat(path)
        return f"-> {os.path.realpath(path)} {st.st_size} {st.st_mtime_ns} {st.st_ino}"
    except OSError:
        return "missing"


def resolve(found: tuple[str, str, str]) -> tuple[str, str | None]:
    """(zone name to store, warning or None) for a source from source()."""
    where, value, _stamp = found
    if where == "system" or value == ":":
        return _system_name()  # glibc: a bare colon is the system's default
    if value == "":
        return UTC, None  # glibc: TZ set and empty means UTC
    path = _path_of(value)
    if path is not None:
        if not os.path.isfile(path):
            return (
                UTC,
                f"time zone file {path!r} ({where}) cannot be read: the schedule is read in UTC",
            )
        return _name_of_file(path)
    name = value[1:] if value.startswith(":") else value
    if load(name) is not None:
        return name, None
    return UTC, (
        f"unknown time zone {value!r} ({where}): the schedule is read in UTC, "
        "as glibc does; give --timezone NAME (e.g. Europe/Berlin)"
    )


def _system_name() -> tuple[str, str | None]:
    """The system zone's name: /etc/localtime's, as glibc reads it (UTC without one)."""
    if not os.path.lexists(LOCALTIME):
        return UTC, None
    if not os.path.isfile(LOCALTIME):
        return UTC, f"{LOCALTIME} cannot be read: the schedule is read in UTC"
    return _name_of_file(LOCALTIME)


def _name_of_file(path: str) -> tuple[str, str | None]:
    """A zone file's IANA name (by its link, /etc/timezone or its bytes), else its POSIX rule."""
    try:
        with open(path, "rb") as f:
            data = f.read(1 << 20)
    except OSError as e:
        return UTC, f"time zone file {path!r}: {e.strerror}: the schedule is read in UTC"
    real = os.path.realpath(path)
    marker = "/zoneinfo/"
    candidates = []
    if marker in real:
        name = real.rsplit(marker, 1)[1]
        candidates.append(name.removeprefix("posix/"))
    if path == LOCALTIME:
        try:
            with open(ETC_TIMEZONE, encoding="utf-8", errors="replace") as f:
                candidates.append(f.read(200).strip())
        except OSError:
            pass
    for name in candidates:
        if name and _same_bytes(name, data):
            return name, None
    name = _search_zoneinfo(data)
    if name is not None:
        return name, None
    rule = _footer(data)
    if rule is not None and load(rule) is not None:
        return rule, None
    return UTC, f"time zone file {path!r} is not one zoneinfo can read: the schedule is read in UTC"


def _same_bytes(name: str, data: bytes) -> bool:
    if name.startswith("/") or ".." in name.split("/"):
        return False
    try:
        with open(os.path.join(ZONEINFO, name), "rb") as f:
            return f.read(len(data) + 1) == data
    except OSError:
        return False


def _search_zoneinfo(data: bytes) -> str | None:
    """The zone (by name; links left out) whose file holds exactly `data`: a copied
    /etc/localtime, as container images make it."""
    found = []
    for top, dirs, files in os.walk(ZONEINFO):
        rel = os.path.relpath(top, ZONEINFO)
        if rel.split(os.sep)[0] in ("posix", "right"):
            dirs[:] = []
            continue
        for file in files:
            full = os.path.join(top, file)
            if "." in file or file in ("localtime", "posixrules") or os.path.islink(full):
                continue
            try:
                if os.path.getsize(full) != len(data):
                    continue
            except OSError:
                continue
            name = os.path.normpath(os.path.join(rel, file))
            if _same_bytes(name, data):
                found.append(name)
    # Europe/Berlin rather than a backward-compatible name like CET.
    return min(found, key=lambda n: ("/" not in n, n)) if found else None


def _footer(data: bytes) -> str | None:
    """The POSIX rule at the end of a TZif file (version 2 and later)."""
    if not data.startswith(b"TZif") or not data.endswith(b"\n"):
        return None
    rule = data[:-1].rsplit(b"\n", 1)[-1]
    try:
        return rule.decode("ascii") or None
    except UnicodeDecodeError:
        return None


def load(name: object):
    """The tzinfo of a stored zone name (IANA name or POSIX rule); None if it cannot be read."""
    if not isinstance(name, str) or not name or len(name) > 200:
        return None
    if name in _loaded:
        return _loaded[name]
    from zoneinfo import ZoneInfo

    zone = None
    try:
        zone = ZoneInfo(name)
    except (ValueError, OSError, LookupError):  # ZoneInfoNotFoundError is a KeyError
        zone = _from_rule(name)
    _loaded[name] = zone
    return zone


def _from_rule(rule: str):
    """A POSIX TZ rule as a tzinfo: a TZif v2 with no transitions and the rule as footer."""
    import io
    import struct
    from zoneinfo import ZoneInfo

    if not rule.isascii() or not rule.isprintable() or rule.startswith(":"):
        return None
    # One type (UTC, never used: no transitions) per data block, then the footer.
    block = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, 1, 4)
    block += struct.pack(">lBB", 0, 0, 0) + b"UTC\0"
    for text in (rule, rule + _DEFAULT_RULE):
        try:
            return ZoneInfo.from_file(io.BytesIO(block + block + f"\n{text}\n".encode()), key=rule)
        except (ValueError, OSError):
            continue
    return None


def system_zone():
    """The system zone as a tzinfo, by name (for schedules recorded without a zone)."""
    return load(_system_name()[0]) or load(UTC)
