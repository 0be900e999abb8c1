"""The dashboard's parts kept between updates, so that one run re-renders one row.

A row (dashboard_row.html) shows one task's summary (with its lateness) and its
calendar, which ends on the calendar's last day: it is rendered again only when
one of those changed. A timeline lane's rects are kept as markup while its
task's bars stay (sitegen/render/timeline.py). So an update after one run renders that
task's row and joins the others as they were.

The rows outlive the process too: the build cache keeps them (cache.py, rows.pack,
written with the summaries they were rendered from), and a new process adopts a
row for a task whose summary it loaded from summary.pack and has not replaced.
A build without them renders them all: the page is the same either way.
"""

from __future__ import annotations

import jinja2
from markupsafe import Markup

from runwrap.store import siteurls as urls
from sitegen.read.late import public
from sitegen.render import timeline

ROW = "dashboard_row.html"


def _key(record: dict | None, calendar_end: str | None) -> tuple:
    """What a row is rendered from besides its summary (kept by identity): its task's
    lateness as with_lateness() shows it, and the calendar's last day."""
    return (public(record), record["_newest"] if record else None, calendar_end)


class Dashboard:
    """Rendered rows by task (with what each was rendered from), and timeline lanes."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[dict, tuple, Markup]] = {}
        self._lanes: dict = {}
        self.changed = False  # rows were rendered since the last saved()

    def context(
        self,
        env: jinja2.Environment,
        tasks: list[dict],
        sources: dict[str, dict] | None = None,
        late: dict[str, dict] | None = None,
    ) -> dict:
        """The timeline, calendars and `rows` ({task: its row}) for dashboard.html;
        `tasks`: summaries as the dashboard shows them, in its order; `sources`: the
        summaries they were made from, by task, and `late` the lateness records."""
        ctx = timeline.dashboard(tasks, self._lanes)
        row_ctx = {
            "base": urls.base_of((urls.INDEX,)),
            "calendars": ctx["calendars"],
            "calendar_start": ctx["calendar_start"],
            "calendar_end": ctx["calendar_end"],
        }
        sources, late = sources or {}, late or {}
        template = env.get_template(ROW)
        kept, rows = {}, {}
        for t in tasks:
            name = t["name"]
            # Summaries are never changed in place (an update makes new ones: a row kept
            # for one that was would never be rendered again): compared by identity.
            source = sources.get(name, t)
            key = _key(late.get(name), row_ctx["calendar_end"])
            old = self._rows.get(name)
            if old is not None and old[0] is source and old[1] == key:
                kept[name] = old
            else:
                kept[name] = (source, key, Markup(template.render(t=t, **row_ctx)))
                self.changed = True
            rows[name] = kept[name][2]
        self.changed = self.changed or self._rows.keys() != kept.keys()
        self._rows = kept
        return {**ctx, "rows": rows}

    def saved(self) -> dict[str, list]:
        """The rows as the build cache keeps them: {task: [lateness, newest, end, row]}."""
        self.changed = False
        return {name: [*key, str(row)] for name, (_s, key, row) in self._rows.items()}

    def saved_lanes(self) -> dict[str, dict]:
        """The timeline's lanes as the build cache keeps them (timeline.saved_lanes)."""
        return timeline.saved_lanes(self._lanes)

    def adopt(
        self, saved: dict | None, summaries: dict[str, dict], lanes: dict | None = None
    ) -> None:
        """Take rows and lanes the build cache kept (cache.load_rows()), made from
        `summaries` ({task: its summary}, summary.pack's, as loaded from the same save)."""
        for name, rec in (saved or {}).items():
            if name in summaries and name not in self._rows and _row_ok(rec):
                key = (rec[0], rec[1], rec[2])
                self._rows[name] = (summaries[name], key, Markup(rec[3]))
        have = {task for _view, task in self._lanes}
        for name, task_lanes in (lanes or {}).items():
            if name in summaries and name not in have:
                timeline.adopt_lanes(self._lanes, name, summaries[name], task_lanes)


def _row_ok(rec: object) -> bool:
    return (
        type(rec) is list
        and len(rec) == 4
        and (rec[0] is None or type(rec[0]) is dict)
        and all(v is None or type(v) is str for v in rec[1:3])
        and type(rec[3]) is str
    )
