"""A job's report.md as HTML: raw HTML escaped, links that could run code removed.

Imported only where a run has a report (templating.render_markdown): `markdown`
costs about 8 ms to import, a third of an update after one run.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import markdown
from markdown.treeprocessors import Treeprocessor

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


def render(text: str) -> str:
    """Markdown to HTML with raw HTML escaped and unsafe links removed."""
    global _MD
    if _MD is None:
        _MD = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists", _NoRawHtml()])
    return _MD.reset().convert(text)


_MD: markdown.Markdown | None = None
