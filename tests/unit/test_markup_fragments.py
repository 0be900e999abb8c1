"""The shipped theme's rows written in Python (sitegen/render/markup.py) are the bytes its
templates' loops wrote: every branch, every value hostile, against those loops."""

from __future__ import annotations

from types import SimpleNamespace as NS

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

OLD_RECORD = """<h2>Record</h2>
<dl class="fields">
{% for label, value in run.fields %}
  <dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}
</dl>
<details class="more-fields">
<summary>How runwrap tracked it{% if run.unset %}, and {{ run.unset|length }} field{{ "" if run.unset|length == 1 else "s" }} without a value{% endif %}</summary>
<dl class="fields">
{% for label, value in run.more %}
  <dt>{{ label }}</dt><dd>{{ value }}</dd>
{% endfor %}
</dl>
{% if run.unset %}<p class="unset">No value: {{ run.unset|join(", ") }}.</p>{% endif %}
</details>
{% if run.feedback %}
<h2>Feedback</h2>
<dl class="fields">
{% for k, v in run.feedback.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}
</dl>
{% endif %}
{% if run.labels %}
<h2>Labels</h2>
<dl class="fields">
{% for k, v in run.labels.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}
</dl>
{% endif %}
"""
OLD_LOGS = """{% for log in run.logs %}
<h2 id="{{ log.name }}">{{ log.name }}</h2>
{% if log.text is none %}
<p>None.</p>
{% else %}
<p class="loginfo">{{ log.size|size }}{% if log.truncated %}, last {{ log.shown|size }} shown{% endif %}{% if log.href %} · <a href="{{ log.href }}">whole file</a>{% endif %}</p>
{% if log.text %}<pre class="log" id="log-{{ log.name }}" tabindex="0"{% if log.href %} data-log="{{ log.href }}"{% endif %} data-bytes="{{ log.size }}">{{ log.text }}</pre>{% else %}<p>Empty.</p>{% endif %}
{% endif %}
{% endfor %}
"""
OLD_CRUMBS = """<a href="{{ base }}{{ urls.INDEX }}">dashboard</a> \u203a <a href="{{ base }}{{ urls.task_page(run.task) }}">{{ run.task }}</a> \u203a {{ run.id }}"""
OLD_PAGER = """<nav class="pager" aria-label="Runs">
  {% if prev %}<a href="{{ base }}{{ urls.run_page(run.task, prev) }}" rel="prev">\u2039 previous run</a>{% endif %}
  <a href="{{ base }}{{ urls.task_page(run.task) }}">all runs</a>
  {% if next %}<a href="{{ base }}{{ urls.run_page(run.task, next) }}" rel="next">next run \u203a</a>{% endif %}
</nav>"""


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


def _runs() -> list[NS]:
    log = {"name": "stdout.log", "text": "ok\\n", "size": 3, "truncated": False, "href": None}
    logs = [
        NS(**{**log, "shown": 3}),
        NS(**{**log, "name": "stderr.log", "text": None, "size": None}),
        NS(**{**log, "text": EVIL, "size": 99000, "truncated": True, "shown": 65536}),
        NS(**{**log, "text": "", "size": 0, "href": "stderr.log", "shown": 0}),
        NS(**{**log, "name": EVIL, "text": EVIL, "href": EVIL, "shown": 3}),
    ]
    run = NS(task="backup", id="20261122T043733Z-3f9a", fields=[], more=[], unset=[])
    run.feedback, run.labels, run.logs = {}, {}, []
    return [
        run,
        NS(**{**vars(run), "fields": [("Exit code", "0"), ("Host", EVIL)], "unset": ["PID"]}),
        NS(
            **{
                **vars(run),
                "task": EVIL,
                "id": EVIL,
                "more": [(EVIL, EVIL)],
                "unset": ["Signal", EVIL, "Owner"],
                "feedback": {EVIL: EVIL, "progress": "50"},
                "labels": {"info1": EVIL},
                "logs": logs,
            }
        ),
        NS(**{**vars(run), "logs": logs[:2], "labels": {"a": ""}}),
    ]


def test_run_page_pieces_are_the_templates_bytes():
    env = make_env(find_theme("default"))
    pairs = [
        (OLD_RECORD, "{{ run|run_record }}"),
        (OLD_LOGS, "{{ run|run_logs }}"),
        (OLD_CRUMBS, "{{ run|run_crumbs(base) }}"),
        (OLD_PAGER, "{{ run|run_pager(prev, next, base) }}"),
    ]
    seen = ""
    for old, new in pairs:
        old_t, new_t = env.from_string(old), env.from_string(new)
        for run in _runs():
            for base, prev, nxt in (("../../../../", None, None), (EVIL, "a", EVIL)):
                ctx = {"run": run, "base": base, "prev": prev, "next": nxt}
                want = old_t.render(**ctx)
                assert new_t.render(**ctx) == want, (old, vars(run))
                seen += want
    assert "&lt;x-pwn" in seen and "<x-pwn" not in seen
    assert "last 64.0 KiB shown" in seen and "No value: Signal" in seen and "<p>Empty.</p>" in seen


def test_the_pieces_escape_as_markupsafe_does():
    """markup.escape is markupsafe.escape to the byte, on every character that matters to
    HTML next to others, on values that are not strings, and on markup already safe."""
    import random

    from markupsafe import Markup, escape

    from sitegen.render import markup

    alphabet = "&<>'\"ab \t\n;#x0\u00e9\u203a\ud800\x00="
    rng = random.Random(24)
    samples = ["", EVIL, "&amp;", "&#39;", 0, -1.5, True, None, Markup("<b>&amp;</b>")]
    samples += [
        "".join(rng.choice(alphabet) for _ in range(rng.randrange(12))) for _ in range(3000)
    ]
    for value in samples:
        assert markup.escape(value) == str(escape(value)), repr(value)


OLD_HEAD = """<link rel="stylesheet" href="{{ base }}{{ urls.STATIC }}/style.css">
<link rel="icon" href="{{ base }}{{ urls.STATIC }}/favicon.svg" type="image/svg+xml">
<link rel="alternate" type="application/atom+xml" title="State changes" href="{{ base }}{{ urls.FEED }}">
<script src="{{ base }}{{ urls.STATIC }}/app.js" defer></script>"""
OLD_FOOT = """<a href="{{ base }}{{ urls.STATUS }}">status.json</a> \u00b7 <a href="{{ base }}{{ urls.FEED }}">Atom feed</a>"""


def test_every_pages_links_are_the_templates_bytes():
    env = make_env(find_theme("default"))
    for old, new in ((OLD_HEAD, "{{ base|head_links }}"), (OLD_FOOT, "{{ base|foot_links }}")):
        for base in ("", "../../", "../../../../", EVIL):
            want = env.from_string(old).render(base=base)
            assert env.from_string(new).render(base=base) == want
            assert "<x-pwn" not in want
