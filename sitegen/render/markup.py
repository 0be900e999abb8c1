"""Pieces of the shipped theme's pages written in Python: the parts a page repeats per
row or per field (history rows, a run's record), as filters its templates call.

On stock Jinja every printed value is an attribute look-up and a `Markup` made by
MarkupSafe's escape, every `urls.*` call goes through Jinja's Context.call: a history
row costs about 20 of them, and a full build renders a row per run twice (its history
page and, for the newest, the task page). Written here, each value is escaped once
(as markupsafe.escape does, to the byte), so the bytes are those the templates made;
a theme that overrides a template keeps every documented value and may ignore these.
"""

from __future__ import annotations

import functools
import re

from markupsafe import Markup

from runwrap.store import siteurls as urls
from runwrap.units import format_duration, format_size
from sitegen.render.model import ICONS, shown_time

_SPECIAL = re.compile("[&<>'\"]").search


def escape(value: object) -> str:
    """MarkupSafe's escape, to the byte (& < > ' " as &amp; &lt; &gt; &#39; &#34;; a value
    with __html__ as it says), as a str: a `Markup` made for every value, then joined,
    was half of what these pieces cost. tests/unit/test_markup_fragments.py holds it to
    markupsafe.escape."""
    if hasattr(value, "__html__"):
        return value.__html__()
    text = value if type(value) is str else str(value)
    if _SPECIAL(text) is None:
        return text
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )


_CLOCK = (
    ' <small class="clock" title="started before a run earlier in its order: its clock was'
    ' wrong, its times are not to be believed">clock?</small>'
)
_FLAG = ' <span class="dflag dflag-{0}" title="far from the task\'s usual duration">{0}</span>'


def duration(value: object) -> str:
    """The `duration` filter: a duration in seconds as people read it, else "-"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return format_duration(float(value))


def size(value: object) -> str:
    """The `size` filter: a size in bytes as people read it, else "-"."""
    if isinstance(value, bool) or not isinstance(value, int):
        return "-"
    return format_size(value)


def history_rows(rows: list[dict], task: str, base: str) -> Markup:
    """The rows of a history table (macros.html's history_table), newest first: run
    link, status, start, duration, exit code and reason; "No runs yet." without any."""
    if not rows:
        return Markup('    <tr><td colspan="6">No runs yet.</td></tr>\n')
    out = []
    add = out.append
    for r in rows:
        status = escape(r["status"])
        started = r["started"]
        if started:
            when = escape(started)
            start = f'<time datetime="{when}" data-rel>{escape(shown_time(started))}</time>'
        else:
            start = "-"
        flag = r["flag"]
        exit_code = r["exit"]
        reason = r["reason"]
        add(
            f'    <tr class="row-{status}">\n'
            f'      <td><a href="{escape(base)}{escape(urls.run_page(task, r["id"]))}">'
            f"<code>{escape(r['id'])}</code></a></td>\n"
            f'      <td><span class="status s-{status}"><span class="icon" aria-hidden="true">'
            f"{escape(ICONS.get(str(r['status']), '?'))}</span> {status}</span></td>\n"
            f"      <td>{start}{_CLOCK if r.get('clock') else ''}</td>\n"
            f'      <td class="dur">{escape(duration(r["duration"]))}'
            f"{_FLAG.format(escape(flag)) if flag else ''}</td>\n"
            f"      <td>{escape(exit_code if exit_code is not None else '-')}</td>\n"
            f'      <td class="reason">{escape(reason or "")}</td>\n'
            "    </tr>\n"
        )
    return Markup("".join(out))


def chart_bars(chart: dict, task: str, base: str) -> Markup:
    """The task page's duration bars (task.html's chart): a link to each run around its
    tooltip, its hit area and its bar."""
    height = escape(chart["height"])
    out = []
    add = out.append
    for b in chart["bars"]:
        status = escape(b["status"])
        add(
            f'  <a href="{escape(base)}{escape(urls.run_page(task, b["id"]))}"><title>'
            f"{escape(b['id'])}: {status}, {escape(duration(b['duration']))}</title>"
            f'<rect class="hit" x="{escape(b["x"] - 1)}" y="0" width="10" height="{height}">'
            f'</rect><rect class="bar s-{status}" x="{escape(b["x"])}" y="{escape(b["y"])}" '
            f'width="8" height="{escape(b["h"])}"></rect></a>\n'
        )
    return Markup("".join(out))


def _pairs(pairs: object, indent: str = "  ", end: str = "\n") -> str:
    """<dt>/<dd> pairs of (label, text)."""
    return "".join([f"{indent}<dt>{escape(k)}</dt><dd>{escape(v)}</dd>{end}" for k, v in pairs])


def run_record(run: object) -> Markup:
    """A run page's record (run.html): the fields worth reading first, how runwrap
    tracked it (folded away, with the fields without a value), its feedback and labels."""
    unset = run.unset  # type: ignore[attr-defined]
    out = ['<h2>Record</h2>\n<dl class="fields">\n', _pairs(run.fields)]  # type: ignore[attr-defined]
    out.append('</dl>\n<details class="more-fields">\n<summary>How runwrap tracked it')
    if unset:
        n = len(unset)
        out.append(f", and {n} field{'' if n == 1 else 's'} without a value")
    out += ['</summary>\n<dl class="fields">\n', _pairs(run.more), "</dl>\n"]  # type: ignore[attr-defined]
    if unset:
        out.append(f'<p class="unset">No value: {escape(", ".join(map(str, unset)))}.</p>')
    out.append("</details>\n")
    for title, items in (("Feedback", run.feedback), ("Labels", run.labels)):  # type: ignore[attr-defined]
        if items:
            out += [
                f'<h2>{title}</h2>\n<dl class="fields">\n',
                _pairs(items.items(), "", ""),
                "</dl>\n",
            ]
    return Markup("".join(out))


def run_logs(run: object) -> Markup:
    """A run page's logs (run.html): each one's size, link and last 64 KiB."""
    out = []
    for log in run.logs:  # type: ignore[attr-defined]
        name = escape(log.name)
        out.append(f'<h2 id="{name}">{name}</h2>\n')
        if log.text is None:
            out.append("<p>None.</p>\n")
            continue
        bytes_ = escape(size(log.size))
        shown = f", last {escape(size(log.shown))} shown" if log.truncated else ""
        href = escape(log.href) if log.href else ""
        whole = f' · <a href="{href}">whole file</a>' if log.href else ""
        out.append(f'<p class="loginfo">{bytes_}{shown}{whole}</p>\n')
        if log.text:
            data = f' data-log="{href}"' if log.href else ""
            out.append(
                f'<pre class="log" id="log-{name}" tabindex="0"{data} '
                f'data-bytes="{escape(log.size)}">{escape(log.text)}</pre>'
            )
        else:
            out.append("<p>Empty.</p>")
    return Markup("".join(out))


def run_crumbs(run: object, base: str) -> Markup:
    """A run page's breadcrumbs: the dashboard, its task, the run."""
    task = run.task  # type: ignore[attr-defined]
    return Markup(
        f'<a href="{escape(base)}{escape(urls.INDEX)}">dashboard</a> \u203a <a href="{escape(base)}'
        f'{escape(urls.task_page(task))}">{escape(task)}</a> \u203a {escape(run.id)}'  # type: ignore[attr-defined]
    )


def run_pager(run: object, prev: str | None, nxt: str | None, base: str) -> Markup:
    """A run page's links to the runs before and after it, and to its task."""
    task = run.task  # type: ignore[attr-defined]
    home = escape(base)
    out = ['<nav class="pager" aria-label="Runs">\n']
    if prev:
        href = escape(urls.run_page(task, prev))
        out.append(f'<a href="{home}{href}" rel="prev">\u2039 previous run</a>')
    out.append(f'  <a href="{home}{escape(urls.task_page(task))}">all runs</a>\n')
    if nxt:
        out.append(
            f'<a href="{home}{escape(urls.run_page(task, nxt))}" rel="next">next run \u203a</a>'
        )
    out.append("</nav>")
    return Markup("".join(out))


@functools.lru_cache(maxsize=64)
def head_links(base: str) -> Markup:
    """The stylesheet, icon, feed and script every page links (base.html), for pages at
    `base` (one string per depth in OUT, kept: twelve values a page fewer to print)."""
    home = escape(base)
    static = f"{home}{escape(urls.STATIC)}"
    return Markup(
        f'<link rel="stylesheet" href="{static}/style.css">\n'
        f'<link rel="icon" href="{static}/favicon.svg" type="image/svg+xml">\n'
        '<link rel="alternate" type="application/atom+xml" title="State changes" '
        f'href="{home}{escape(urls.FEED)}">\n'
        f'<script src="{static}/app.js" defer></script>'
    )


@functools.lru_cache(maxsize=64)
def foot_links(base: str) -> Markup:
    """The footer's links to status.json and the site's feed (base.html)."""
    home = escape(base)
    return Markup(
        f'<a href="{home}{escape(urls.STATUS)}">status.json</a> \u00b7 '
        f'<a href="{home}{escape(urls.FEED)}">Atom feed</a>'
    )
