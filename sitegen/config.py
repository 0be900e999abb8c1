"""The site's configuration as data: command line over the config file over defaults."""

from __future__ import annotations

import os

from runwrap.configfile import find_config_file, load_config_file, resolve_root
from runwrap.store.layout import tasks_dir
from sitegen.errors import SitegenError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

PAGE_SIZE = 50  # runs per history page


class SiteConfig:
    """Everything a build needs to know, fixed once made (never changed in place).

    A plain class, not a dataclass: the no-change check of a one-shot build
    (build/stamp.py) resolves its config with this same constructor, and
    importing dataclasses alone would cost it more than the check itself.
    """

    FIELDS = (
        "root",
        "out",
        "theme",
        "title",
        "site_url",
        "descriptions",  # (task, markdown) pairs, sorted
        "page_size",
        "publish",  # "link" (hard links, copy across filesystems) or "copy"
        "watch",
        "poll",
        "serve",
        "refresh_s",
    )
    __slots__ = (*FIELDS, "config_file")

    def __init__(
        self,
        root: str,
        out: str,
        theme: str = "default",
        title: str = "runwrap",
        site_url: str | None = None,
        descriptions: tuple[tuple[str, str], ...] = (),
        page_size: int = PAGE_SIZE,
        publish: str = "link",
        watch: bool = False,
        poll: bool = False,
        serve: tuple[str, int] | None = None,
        refresh_s: int = 30,
        config_file: str | None = None,  # where it came from: not part of what it is
    ) -> None:
        self.root, self.out, self.theme, self.title = root, out, theme, title
        self.site_url, self.descriptions, self.page_size = site_url, descriptions, page_size
        self.publish, self.watch, self.poll, self.serve = publish, watch, poll, serve
        self.refresh_s, self.config_file = refresh_s, config_file

    def values(self) -> tuple:
        """The fields' values, in FIELDS' order (what equality and the build key use)."""
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SiteConfig) and self.values() == other.values()

    def __hash__(self) -> int:
        return hash(self.values())

    def __repr__(self) -> str:
        return f"SiteConfig({', '.join(f'{n}={getattr(self, n)!r}' for n in self.FIELDS)})"

    def description(self, task: str) -> str | None:
        """The markdown description the config gives for a task, if any."""
        for name, text in self.descriptions:
            if name == task:
                return text
        return None


def parse_serve(text: str) -> tuple[str, int]:
    """[HOST:]PORT as (host, port); the host defaults to loopback."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        raise SitegenError(f"bad --serve {text!r}: use PORT or HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise SitegenError(f"bad --serve {text!r}: the port must be 0-65535")
    return host or "127.0.0.1", number


def _descriptions(tasks: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(tasks, dict):
        return ()
    found = []
    for name, options in tasks.items():
        if isinstance(options, dict) and isinstance(options.get("description"), str):
            found.append((str(name), options["description"]))
    return tuple(sorted(found))


def _config_path(value: object) -> object:
    """A path from the config file with ~ expanded, as runwrap reads its root: other values
    are left for the type check."""
    return os.path.expanduser(value) if isinstance(value, str) else value


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip(os.sep) + os.sep)


def resolve_config(
    *,
    root: str | None = None,
    out: str | None = None,
    theme: str | None = None,
    title: str | None = None,
    site_url: str | None = None,
    publish: str | None = None,
    config: str | None = None,
    watch: bool = False,
    poll: bool = False,
    serve: str | None = None,
    check: bool = True,
) -> SiteConfig:
    """Merge defaults, the config file and the command line into a SiteConfig, checked
    (`check`: the one-shot no-change test makes it unchecked, and looks no further)."""
    path = find_config_file(config)
    data = load_config_file(path)  # RunwrapError (one line, 125) for a bad file
    # ROOT as runwrap finds it (the one rule: --root, $RUNWRAP_ROOT, the config, the default).
    root = resolve_root(root, data)
    site = data.get("site") or {}
    out = out or _config_path(site.get("out"))
    if not out:
        raise SitegenError("no output directory: give --out DIR or site.out in the config file")
    values = {
        "theme": theme or _config_path(site.get("theme")) or "default",
        "title": title or site.get("title") or "runwrap",
        "site_url": site_url or site.get("site_url"),
        "publish": publish or site.get("publish") or "link",
    }
    for key, value in values.items():
        if value is not None and not isinstance(value, str):
            raise SitegenError(f"malformed config file {path}: site.{key} must be a string")
    if values["publish"] not in ("link", "copy"):
        raise SitegenError(f"bad publish mode {values['publish']!r}: use link or copy")
    cfg = SiteConfig(
        root=root,
        out=os.path.abspath(str(out)),
        descriptions=_descriptions(data.get("tasks")),
        watch=watch,
        poll=poll,
        serve=parse_serve(serve) if serve else None,
        config_file=path,
        **values,
    )
    if check:
        check_config(cfg)
    return cfg


def check_config(cfg: SiteConfig) -> None:
    """Refuse a missing root, an unwritable output, or an output inside the runs.

    --watch waits for a missing root instead (sitegen.dispatch): started at boot
    by systemd, it comes up before cron's first tick makes the root.
    """
    if not cfg.watch and not os.path.isdir(cfg.root):
        raise SitegenError(f"run root {cfg.root} does not exist: give --root or $RUNWRAP_ROOT")
    root = os.path.realpath(cfg.root)
    out = os.path.realpath(cfg.out)
    if _inside(out, os.path.realpath(tasks_dir(cfg.root))) or out == root:
        raise SitegenError(f"output directory {cfg.out} is inside the run root: choose another")
    if _inside(root, out):
        raise SitegenError(f"output directory {cfg.out} contains the run root: choose another")
    try:
        os.makedirs(cfg.out, exist_ok=True)
    except OSError as e:
        raise SitegenError(f"cannot create output directory {cfg.out}: {e.strerror}") from None
    if not os.access(cfg.out, os.W_OK | os.X_OK):
        raise SitegenError(f"output directory {cfg.out} is not writable")
    find_theme(cfg.theme)


def packaged_themes() -> list[Path]:
    """Where the shipped themes live: in the wheel, else the source tree's themes/."""
    from pathlib import Path

    here = Path(__file__).parent
    return [here / "themes", here.parent / "themes"]


def find_theme(theme: str) -> list[Path]:
    """The theme search path, most specific first: a user directory, then default."""
    default = next((p / "default" for p in packaged_themes() if (p / "default").is_dir()), None)
    if default is None:
        raise SitegenError("the default theme is missing from the installation")
    if os.sep in theme or os.path.isdir(theme):
        if not os.path.isdir(theme):
            raise SitegenError(f"theme directory {theme} does not exist")
        from pathlib import Path

        return [Path(theme).resolve(), default]
    for base in packaged_themes():
        if (base / theme).is_dir():
            return [base / theme] if theme == "default" else [base / theme, default]
    raise SitegenError(f"unknown theme {theme!r}: give a theme directory or 'default'")
