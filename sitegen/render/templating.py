"""The jinja2 environment of a theme, and the filters pages use: escaping is never optional."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import jinja2
from markupsafe import Markup

from runwrap.store import siteurls
from sitegen.render.markup import (
    chart_bars,
    duration,
    foot_links,
    head_links,
    history_rows,
    run_crumbs,
    run_logs,
    run_pager,
    run_record,
    size,
)
from sitegen.render.model import ICONS, shown_time


def render_markdown(text: str | None) -> str:
    """Markdown to HTML with raw HTML escaped and unsafe links removed (report.py);
    `markdown` is imported only for a run that has a report (8 ms of every update)."""
    if not text:
        return ""
    from sitegen.render.report import render

    return render(text)


def _percent(value: object) -> str:
    if value is None:
        return "-"
    return f"{float(value):.0f}%"


def _period(expr: object, zone: object = None) -> float | None:
    """Seconds between a schedule's runs, or None: the dashboard says when a task
    is next due only where that helps (not for a task that runs every minute)."""
    from runwrap.store.schedule import period

    try:
        return period(str(expr), zone if isinstance(zone, str) else None)
    except Exception:  # a schedule this runwrap cannot read: no "next" shown
        return None


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates (in OUT/.sitegen/jinja), read without
    following a link or blocking on a FIFO: anything but a regular file there, or one
    that does not read back, is compiled afresh. Written as Jinja writes it (a
    temporary file, renamed)."""

    def __init__(self, directory: str) -> None:
        # Named by Jinja's version: Jinja's own key is the template's name and source (and
        # Python's version), and OUT's compiled templates outlive an upgrade or a downgrade
        # of Jinja, whose generated code may differ. An older sitegen's files, compiled by a
        # code generator of its own, were named "__sitegen_%s.cache": never loaded here.
        self._pattern = f"__jinja2_{_jinja_version()}_%s.cache"
        self._where = directory
        super().__init__(directory, self._pattern)

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = os.path.join(self._where, self._pattern % (bucket.key,))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return
        with os.fdopen(fd, "rb") as f:
            try:
                bucket.load_bytecode(f)
            except Exception:  # past a right header, Jinja's reader raises on what it
                bucket.reset()  # cannot unpickle: compiled afresh, and written whole


def _jinja_version() -> str:
    """The installed Jinja's version: its own attribute where it has one (3.1 does),
    else the package's metadata (importlib.metadata: 15 ms to import)."""
    version = vars(jinja2).get("__version__")
    if isinstance(version, str):
        return version
    from importlib.metadata import version as installed

    return installed("jinja2")


def make_env(theme_dirs: list[Path], cache_dir: str | None = None) -> jinja2.Environment:
    """A jinja2 environment over a theme search path (user theme first), autoescaping always."""
    bcc = None
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        bcc = _BytecodeCache(cache_dir)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d / "templates") for d in theme_dirs]),
        # Every template, whatever its extension (badges and feeds too), escapes.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=bcc,
        auto_reload=False,
        # Jinja's optimizer folds constant expressions at compile time; its code generator
        # folds constant output by itself, and the theme's expressions are the page's data:
        # the pass is a seventh of compiling the templates into an empty OUT, for nothing.
        optimized=False,
    )
    env.filters.update(
        duration=duration,
        size=size,
        when=shown_time,
        percent=_percent,
        period=_period,
        icon=lambda s: ICONS.get(str(s), "?"),
        url=lambda s: siteurls.quote(str(s)),
        markdown=lambda s: Markup(render_markdown(s)),
        # The shipped theme's rows and bars, written in Python (markup.py).
        history_rows=history_rows,
        chart_bars=chart_bars,
        run_record=run_record,
        run_logs=run_logs,
        run_crumbs=run_crumbs,
        run_pager=run_pager,
        head_links=head_links,
        foot_links=foot_links,
    )
    # The site's URL layout, for links between pages: {{ base }}{{ urls.run_page(task, id) }}.
    env.globals.update(urls=siteurls)
    return env
