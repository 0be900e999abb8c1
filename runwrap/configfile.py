"""Finding and reading the YAML config file shared by runwrap and sitegen.

Shape (every section optional):

    root: /var/lib/runwrap
    defaults: {timeout: 1h, keep: 500, ...}     # options for every task
    tasks:
      backup: {timeout: 2h, overlap: wait, description: "...", ...}
    notifiers: {...}
    site: {out: /var/www/runwrap, title: Jobs, site_url: https://..., theme: default}

yaml is imported only when a file exists and changed since it was last parsed
(the parsed form is cached as JSON): most cron ticks never import it.
"""

import os

from runwrap.errors import RunwrapError


def config_candidates() -> list[str]:
    """Where a config file is looked for when none is named (first found wins)."""
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(
        os.path.expanduser("~"), ".config"
    )
    return [os.path.join(config_home, "runwrap", "config.yaml"), "/etc/runwrap/config.yaml"]


def find_config_file(explicit: str | None) -> str | None:
    """The config file in force: --config, else $RUNWRAP_CONFIG, else the first candidate found."""
    named = explicit or os.environ.get("RUNWRAP_CONFIG")
    if named:
        return named
    for path in config_candidates():
        if os.path.exists(path):
            return path
    return None


def load_config_file(path: str | None) -> dict:
    """The parsed config as a dict ({} without a file); one-line errors for a bad file."""
    if path is None:
        return {}
    try:
        st = os.stat(path)
    except OSError as e:
        raise RunwrapError(f"cannot read config file {path}: {e.strerror}") from None
    stamp = [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]
    cached = _read_cache(path, stamp)
    if cached is not None:
        return cached
    data = _parse_yaml(path)
    _write_cache(path, stamp, data)
    return data


def _parse_yaml(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise RunwrapError(f"cannot read config file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise RunwrapError(f"cannot read config file {path}: it is not UTF-8 text") from None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or "invalid YAML"
        raise RunwrapError(f"malformed config file {path}{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise RunwrapError(f"malformed config file {path}: the top level must be a mapping")
    for section in ("defaults", "tasks", "notifiers", "site"):
        if data.get(section) is not None and not isinstance(data[section], dict):
            raise RunwrapError(f"malformed config file {path}: '{section}' must be a mapping")
    return data


# Importing the YAML parser costs twice runwrap's whole start-up, on every cron
# tick. So the parsed config is kept as JSON in a cache file, used while the
# config file's identity, size and mtime are unchanged.


def _cache_path(path: str) -> str:
    if os.environ.get("XDG_CACHE_HOME"):
        base = os.path.join(os.environ["XDG_CACHE_HOME"], "runwrap")
    elif os.geteuid() == 0:
        base = "/var/cache/runwrap"
    else:
        base = os.path.join(os.path.expanduser("~"), ".cache", "runwrap")
    name = os.path.abspath(path).replace("%", "%25").replace("/", "%2F")
    return os.path.join(base, f"config-{name}.json")


def _read_cache(path: str, stamp: list[int]) -> dict | None:
    from runwrap.store.jsonio import read_json

    cached = read_json(_cache_path(path))
    if isinstance(cached, dict) and cached.get("stamp") == stamp:
        data = cached.get("data")
        return data if isinstance(data, dict) else None
    return None


def _write_cache(path: str, stamp: list[int], data: dict) -> None:
    from runwrap.store.jsonio import dumps, loads, write_atomic

    try:
        text = dumps({"stamp": stamp, "data": data})
        if loads(text)["data"] != data:
            return  # YAML types JSON cannot carry (dates, non-string keys): no cache
        cache = _cache_path(path)
        os.makedirs(os.path.dirname(cache), mode=0o700, exist_ok=True)
        write_atomic(cache, text.encode(), fsync=False)
    except (OSError, TypeError, ValueError):
        pass  # a cache is an optimisation: never a reason to fail


def site_url(root: str, config: dict) -> str | None:
    """The config's `site: {site_url}`, if runs of `root` have pages there, else None.

    The dashboard at site_url is built from one root: the config's `root:`
    (or, when the config names none, the root it would use without --root:
    $RUNWRAP_ROOT, else the default). A run under any other root (`--root X`
    to try something out) would link a page that does not exist.
    """
    site = config.get("site")
    url = site.get("site_url") if isinstance(site, dict) else None
    if not isinstance(url, str) or not url:
        return None
    configured = config.get("root")
    if isinstance(configured, str) and configured:
        own = os.path.abspath(os.path.expanduser(configured))
    else:
        own = resolve_root(None, {})
    return url if os.path.realpath(root) == os.path.realpath(own) else None


def resolve_root(explicit: str | None, config: dict) -> str:
    """ROOT: --root, else $RUNWRAP_ROOT, else the config's root, else the default."""
    from runwrap.store.layout import default_root

    root = explicit or os.environ.get("RUNWRAP_ROOT") or config.get("root")
    if root is not None and not isinstance(root, str):
        raise RunwrapError(f"bad root {root!r} in the config file: use a path")
    return os.path.abspath(os.path.expanduser(root)) if root else default_root()
