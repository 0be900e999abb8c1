"""The shipped theme's rows written in Python (sitegen/render/markup.py) are the bytes its
templates' loops wrote: every branch, every value hostile, against those loops."""

from __future__ import annotations

from sitegen.config import find_theme
from sitegen.render.chart import chart
from sitegen.render.templating import make_env

EVIL = "<x-pwn a=\"1\" b='2'>&amp;</x-pwn>"

# The loops as the theme wrote them before (main at 3c7a551), verbatim.
OLD_ROWS = """{% for r in rows %}
    <tr class="row-{{ r.status }}">
      <td><a href="{{ base }}{{ urls.run_page(task, r.id) }}"><code>{{ r.id }}</code></a></td>
      <td><span class="status s-{{ r.status }}"><span class="icon" aria-hidden="true">{{ r.status|icon }}</span> {{ r.status }}</span></td>
      <td>{% if r.started %}<time datetime="{{ r.started }}" data-rel>{{ r.started|when }}</time>{% else %}-{% endif %}{% if r.get("clock") %} <small class="clock" title="started before a run earlier in its order: its clock was wrong, its times are not to be believed">clock?</small>{% endif %}</td>
      <td class="dur">{{ r.duration|duration }}{% if r.flag %} <span class="dflag dflag-{{ r.flag }}" title="far from the task's usual duration">{{ r.flag }}</span>{% endif %}</td>
      <td>{{ r.exit if r.exit is not none else "-" }}</td>
      <td class="reason">{{ r.reason or "" }}</td>
    </tr>
  {% else %}
    <tr><td colspan="6">No runs yet.</td></tr>
  {% endfor %}
"""
OLD_BARS = """{% for b in chart.bars %}
  <a href="{{ base }}{{ urls.run_page(task, b.id) }}"><title>{{ b.id }}: {{ b.status }}, {{ b.duration|duration }}</title><rect class="hit" x="{{ b.x - 1 }}" y="0" width="10" height="{{ chart.height }}"></rect><rect class="bar s-{{ b.status }}" x="{{ b.x }}" y="{{ b.y }}" width="8" height="{{ b.h }}"></rect></a>
  {% endfor %}
"""


def _rows() -> list[dict]:
    row = {"id": "20261122T043733Z-3f9a", "status": "success", "started": None}
    row.update(duration=None, flag=None, exit=None, reason=None)
    return [
        row,
        {**row, "started": "2026-11-22T04:37:33.120Z", "duration": 78.4, "exit": 0},
        {**row, "status": "failed", "exit": 3, "reason": EVIL, "flag": "slow", "clock": True},
        {**row, "id": EVIL, "status": EVIL, "started": EVIL, "duration": 0.0012, "flag": EVIL},
        {**row, "status": "timeout", "duration": True, "exit": -9, "reason": "", "clock": False},
        {**row, "status": "lost", "duration": 90061, "flag": "fast", "exit": EVIL},
    ]


def test_history_rows_are_the_loops_bytes():
    env = make_env(find_theme("default"))
    old = env.from_string(OLD_ROWS)
    new = env.from_string("{{ rows|history_rows(task, base) }}")
    rows = _rows()
    for task, base in (("backup", "../../"), (EVIL, ""), ("a b/c%", "../../../../")):
        for some in (rows, rows[:1], []):
            want = old.render(rows=some, task=task, base=base)
            assert new.render(rows=some, task=task, base=base) == want
    full = new.render(rows=rows, task=EVIL, base="")
    assert "&lt;x-pwn" in full and "<x-pwn" not in full and "clock?" in full


def test_chart_bars_are_the_loops_bytes():
    env = make_env(find_theme("default"))
    old = env.from_string(OLD_BARS)
    new = env.from_string("{{ chart|chart_bars(task, base) }}")
    runs = [r for r in _rows() if isinstance(r["duration"], float | int) and r["duration"]]
    for task, base in (("backup", "../../"), (EVIL, "")):
        for some in (runs, runs[:1], []):
            data = chart(some)
            want = old.render(chart=data, task=task, base=base)
            assert new.render(chart=data, task=task, base=base) == want
    full = new.render(chart=chart(runs), task=EVIL, base="")
    assert "&lt;x-pwn" in full and "<x-pwn" not in full and full.count("<rect") == 2 * len(runs)
