"""The dashboard's parts kept between the updates of a long-lived sitegen.

A row (dashboard_row.html) shows one task's summary (with its lateness) and its
calendar, which ends on the calendar's last day: it is rendered again only when
one of those changed. A timeline lane's rects are kept as markup while its
task's bars stay, and only placed again when the anchor moves
(sitegen/timeline.py). So an update after one run renders that task's row and
joins the others as they were. A one-shot build starts with none kept and
renders them all: the page is the same either way.
"""

from __future__ import annotations

import jinja2
from markupsafe import Markup

from runwrap.store import siteurls as urls
from sitegen import timeline

ROW = "dashboard_row.html"


class Dashboard:
    """Rendered rows by task (with what each was rendered from), and timeline lanes."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[tuple, Markup]] = {}
        self._lanes: dict = {}

    def context(self, env: jinja2.Environment, tasks: list[dict]) -> dict:
        """The timeline, calendars and `rows` ({task: its row}) for dashboard.html;
        `tasks`: summaries as the dashboard shows them, in its order."""
        ctx = timeline.dashboard(tasks, self._lanes)
        row_ctx = {
            "base": urls.base_of((urls.INDEX,)),
            "calendars": ctx["calendars"],
            "calendar_start": ctx["calendar_start"],
            "calendar_end": ctx["calendar_end"],
        }
        template = env.get_template(ROW)
        kept, rows = {}, {}
        for t in tasks:
            # Summaries are never changed in place (an update makes new ones: a row kept
            # for one that was would never be rendered again), so an unchanged task's
            # compare is mostly by identity: cheap.
            key = (t, row_ctx["calendar_end"])
            old = self._rows.get(t["name"])
            row = old[1] if old is not None and old[0] == key else None
            if row is None:
                row = Markup(template.render(t=t, **row_ctx))
            kept[t["name"]] = (key, row)
            rows[t["name"]] = row
        self._rows = kept
        return {**ctx, "rows": rows}
