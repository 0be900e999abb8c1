"""Pieces of the shipped theme's pages written in Python: the parts a page repeats per
row or per field (history rows, a run's record), as filters its templates call.

On stock Jinja every printed value is an attribute look-up and a `Markup` made by
MarkupSafe's escape, every `urls.*` call goes through Jinja's Context.call: a history
row costs about 20 of them, and a full build renders a row per run twice (its history
page and, for the newest, the task page). Written here, each value is escaped once
with the same function (markupsafe.escape), so the bytes are those the templates made;
a theme that overrides a template keeps every documented value and may ignore these.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from runwrap.store import siteurls as urls
from runwrap.units import format_duration
from sitegen.render.model import ICONS, shown_time

_CLOCK = (
    ' <small class="clock" title="started before a run earlier in its order: its clock was'
    ' wrong, its times are not to be believed">clock?</small>'
)
_FLAG = ' <span class="dflag dflag-{0}" title="far from the task\'s usual duration">{0}</span>'


def _duration(value: object) -> str:
    """The `duration` filter's text (templating._duration), without its import cycle."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "-"
    return format_duration(float(value))


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
            f'      <td class="dur">{escape(_duration(r["duration"]))}'
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
            f"{escape(b['id'])}: {status}, {escape(_duration(b['duration']))}</title>"
            f'<rect class="hit" x="{escape(b["x"] - 1)}" y="0" width="10" height="{height}">'
            f'</rect><rect class="bar s-{status}" x="{escape(b["x"])}" y="{escape(b["y"])}" '
            f'width="8" height="{escape(b["h"])}"></rect></a>\n'
        )
    return Markup("".join(out))
