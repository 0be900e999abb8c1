"""The jinja2 environment of a theme, and the filters pages use: escaping is never optional."""

from __future__ import annotations

import html
import os
import re
import stat
import xml.etree.ElementTree as ET
from collections.abc import MutableMapping
from pathlib import Path
from types import FunctionType
from typing import Any
from urllib.parse import urlsplit

import jinja2
import jinja2.runtime
import markdown
import markupsafe
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from markdown.treeprocessors import Treeprocessor

from runwrap.store import siteurls
from runwrap.units import format_duration, format_size
from sitegen.model import ICONS, shown_time

_SAFE_SCHEMES = ("", "http", "https", "mailto")
_URL_IGNORED = re.compile(r"[\x00-\x20\x7f]")


def _safe_url(value: str) -> bool:
    """Whether a link's URL, read as a browser reads it, has a scheme that cannot run code."""
    # The serializer keeps entities such as &#106; and a browser decodes them, and
    # drops tabs and newlines: the scheme is judged on what the browser will see.
    text = _URL_IGNORED.sub("", html.unescape(value))
    try:
        return urlsplit(text).scheme.lower() in _SAFE_SCHEMES
    except ValueError:  # "http://[oops": a job's report must not stop the build
        return False


class _SafeLinks(Treeprocessor):
    """Drop links and images whose scheme could run code (javascript:, data:, ...)."""

    def run(self, root: ET.Element) -> None:
        for el in root.iter():
            for attr in ("href", "src"):
                value = el.get(attr)
                if value is not None and not _safe_url(value):
                    del el.attrib[attr]


class _NoRawHtml(markdown.Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Raw HTML blocks and inline tags become escaped text.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


def render_markdown(text: str | None) -> str:
    """Markdown to HTML with raw HTML escaped and unsafe links removed."""
    if not text:
        return ""
    global _MD
    if _MD is None:
        _MD = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", _NoRawHtml()])
    return _MD.reset().convert(text)


_MD: markdown.Markdown | None = None


def _duration(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return format_duration(float(value))


def _size(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return "-"
    return format_size(value)


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
    """Compiled templates in OUT/.sitegen/jinja, read without following a link or
    blocking on a FIFO: anything but a regular file there is compiled afresh."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        path = os.path.join(self.directory, self.pattern % (bucket.key,))
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            return
        with os.fdopen(fd, "rb") as f:
            bucket.load_bytecode(f)


_DICT_NAMES = frozenset(dir(dict))
# markupsafe's own escaping of a str, without wrapping the result in Markup (a Python-level
# __new__ per value); older markupsafes lack it: their escape() is used as it is.
_escape_str = getattr(markupsafe, "_escape_inner", None)


def _escape_output(value: object) -> object:
    """What `{{ value }}` writes: markupsafe.escape's text, as a plain str for a plain str.

    The pieces of a page are only joined, so they need not be Markup; a Markup
    (or anything with __html__) goes through escape() as always, never escaped twice.
    """
    if type(value) is str:
        return _escape_str(value)  # type: ignore[misc]
    if type(value) is markupsafe.Markup:
        return value  # a macro's or a set block's output: escape() would give it back as is
    return markupsafe.escape(value)


if _escape_str is None:
    _escape_output = markupsafe.escape  # type: ignore[assignment]


class _CodeGenerator(CodeGenerator):
    """Jinja's code generator, whose templates write `{{ value }}` through _escape_output:
    a third of a run page's render was wrapping each escaped value in Markup."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        super().visit_Template(node, frame)
        # The module's `escape`, imported from jinja2.runtime at its top, is what every
        # output of every block and macro calls; rebound once, when it loads. Written
        # whatever the markupsafe: OUT's compiled templates outlive an upgrade or a
        # downgrade of it, and escape_output is chosen when sitegen starts.
        self.writeline("escape = environment.escape_output")


class _Context(jinja2.runtime.Context):
    """Jinja's render context, with a quicker call of a plain function (the URL layout's)."""

    def call(__self, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        # Jinja's own call asks every callable, twice, whether it wants the context
        # passed; a plain function that was not marked for it never does.
        if type(__obj) is FunctionType and not hasattr(__obj, "jinja_pass_arg"):
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
            try:
                return __obj(*args, **kwargs)
            except StopIteration:
                return __self.environment.undefined(
                    "value was undefined because a callable raised a StopIteration exception"
                )
        return super().call(__obj, *args, **kwargs)


class _Environment(jinja2.Environment):
    """Jinja2's environment, with a quicker `{{ d.key }}` on a plain dict (what pages read)
    and a quicker escape of what templates write (the same text)."""

    code_generator_class = _CodeGenerator
    context_class = _Context
    escape_output = staticmethod(_escape_output)

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        # A plain dict, not Jinja's ChainMap over the environment's: every render and every
        # `{% from "macros.html" import ... %}` copies and compares the globals' keys, which
        # through a ChainMap is Python code per key. make_env sets them before any template
        # loads, and a template's own globals still never reach the environment's.
        return {**self.globals, **(d or {})}

    def getattr(self, obj: object, attribute: str) -> object:
        # Jinja tries the attribute first, which on a dict fails (an AttributeError
        # raised and caught) for every key a page reads: a third of an expression's cost.
        # The same answer, for a name that is no dict attribute: the key, or undefined.
        if type(obj) is dict and attribute not in _DICT_NAMES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def make_env(theme_dirs: list[Path], cache_dir: str | None = None) -> jinja2.Environment:
    """A jinja2 environment over a theme search path (user theme first), autoescaping always."""
    bcc = None
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        # Its own file names: code compiled by another code generator (an older sitegen's)
        # is never loaded by this one.
        bcc = _BytecodeCache(cache_dir, "__sitegen_%s.cache")
    env = _Environment(
        loader=jinja2.FileSystemLoader([str(d / "templates") for d in theme_dirs]),
        # Every template, whatever its extension (badges and feeds too), escapes.
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=bcc,
        auto_reload=False,
    )
    env.filters.update(
        duration=_duration,
        size=_size,
        when=shown_time,
        percent=_percent,
        period=_period,
        icon=lambda s: ICONS.get(str(s), "?"),
        url=lambda s: siteurls.quote(str(s)),
        markdown=lambda s: jinja2.utils.markupsafe.Markup(render_markdown(s)),
    )
    # The site's URL layout, for links between pages: {{ base }}{{ urls.run_page(task, id) }}.
    env.globals.update(urls=siteurls)
    return env
