"""The dashboard's timeline (the last hour, 24 hours, 7 days: the spans its runs call
for; a lane per task) and its calendars (from a task's first run, up to 90 days).

Both come from the run summaries a task's update already has: per task, a bounded
list of bars and of days is folded into its summary (model.task_summary), and the
dashboard draws them. No run is read, and no page is written, for them.

Every coordinate is relative to the anchor, the newest moment any run shows (its
end, or a running run's start), not to the clock: a dashboard built from the same
files is the same file, whenever it is built. The page's script moves the window
on to now (app.js), so that gaps and late runs since the newest run show too.
"""

from __future__ import annotations

import marshal
import math
import time
from collections.abc import Iterator, Mapping, Sequence

from runwrap.store.manifest import RUNNING
from runwrap.timefmt import iso, parse_iso

DAY = 86400
WEEK = 7 * DAY
CALENDAR_DAYS = 90
MAX_BARS = 150  # per task and view: a lane is about 1,000 pixels wide
# Runs of one outcome closer than this merge into one bar in the 24-hour view: a job
# every few minutes would be hundreds of slivers a day in the page, and a gap (a missed
# run) wider than this still shows, as does every change of outcome.
MERGE_GAP_S = {"day": 900}
# The 7-day view draws a slot per 2 hours (84 at most per task): the worst run in it.
SLOT_S = 2 * 3600
SPAN_S = {"day": DAY, "week": WEEK}
HOUR = 3600
# The views the page shows, by how far back the runs go: a young install's runs would
# be a pixel at the right edge of a day, so its timeline is the last hour until its
# runs span more; the week joins the day once they span more than a day. The hour
# view draws the day's bars (merged the same way), over the last hour.
SHOWN_SPAN_S = {"hour": HOUR, "day": DAY, "week": WEEK}
_BARS_OF = {"hour": "day", "day": "day", "week": "week"}
TICKS = {
    "hour": ["60 min ago", "45 min", "30 min", "15 min"],
    "day": ["24 h ago", "18 h", "12 h", "6 h"],
    "week": ["7 days ago", *(f"{n} d" for n in range(6, 0, -1))],
}
MIN_WIDTH = 300  # the narrowest bar, as a fraction of the view: a 1 s run still shows
PLACED = "placed"  # saved_lanes()' key of a task's placed rects (not a view's name)

BAR = {
    "id": (str,),
    "status": (str,),
    "start": (int,),
    "end": (int, type(None)),
    "n": (int,),
    "host": (str, type(None)),
}

# Worst first: the outcome a calendar day shows when it had several.
WORST = ("failed", "timeout", "killed", "lost", "unknown", "running", "success", "skipped")
_RANK = {s: i for i, s in enumerate(WORST)}
FAILED_LIKE = frozenset(WORST[:5])
# Bar heights out of 10 by outcome: a shape beside the colour, for colour-blind readers.
_HEIGHT = {"success": 6, "running": 8, "skipped": 4}


def _span(run: dict) -> tuple[int, int | None] | None:
    """(start, end) of a run in whole seconds; end None while it runs."""
    start = parse_iso(run["started"])
    if start is None:
        return None
    if run["status"] == RUNNING:
        return int(start), None
    end = parse_iso(run["ended"])
    if end is None:
        end = start + (run["duration"] or 0.0)
    return int(start), max(int(start), math.ceil(end))


def _recent(runs: list[dict]) -> list[tuple[dict, tuple[int, int | None]]]:
    """(run, span) of the runs that may show in the week up to the task's newest, by start.

    Runs come oldest first (run ids begin with the start time), so the walk stops a
    day before the week: only a run longer than a day that began before it is missed.
    """
    spans: list[tuple[dict, tuple[int, int | None]]] = []
    floor = None
    for r in reversed(runs):
        span = _span(r)
        if span is None:
            continue
        if floor is None:
            floor = span[0] - WEEK - DAY
        elif span[0] < floor:
            break
        spans.append((r, span))
    spans.reverse()
    spans.sort(key=lambda rs: rs[1][0])
    return spans


def bars(runs: list[dict]) -> dict[str, list[dict]]:
    """A task's bars for each view, oldest first: its runs within a day (a week) of its
    newest. Runs of one outcome on one host closer than MERGE_GAP_S merge, and in the
    week the runs of one SLOT_S on one host: n counts them, status is the worst, id the
    newest run of that outcome. Each bar keeps its host: a task that runs on several
    gets a lane per host (_view)."""
    spans = _recent(runs)
    newest = max((end if end is not None else start for _r, (start, end) in spans), default=0)
    views: dict[str, list[dict]] = {}
    for view in SPAN_S:
        cutoff = newest - SPAN_S[view]
        out: list[dict] = []
        last_of: dict[object, dict] = {}  # each host's newest bar so far
        for run, (start, end) in spans:
            if (end if end is not None else newest) < cutoff:
                continue
            host = run.get("host")
            last = last_of.get(host)
            if (
                last is not None
                and end is not None
                and last["end"] is not None
                and (
                    start - last["end"] <= MERGE_GAP_S["day"] and last["status"] == run["status"]
                    if view == "day"
                    else start // SLOT_S == last["start"] // SLOT_S
                )
            ):
                if _RANK.get(run["status"], 0) <= _RANK.get(last["status"], 0):
                    last.update(id=run["id"], status=run["status"])
                last.update(end=max(last["end"], end), n=last["n"] + 1)
                continue
            bar = {
                "id": run["id"],
                "status": run["status"],
                "start": start,
                "end": end,
                "n": 1,
                "host": host if isinstance(host, str) else None,
            }
            out.append(bar)
            last_of[host] = bar
        views[view] = out[-MAX_BARS:]
    return views


def days(runs: list[dict]) -> list[dict]:
    """A task's days with runs (the last CALENDAR_DAYS up to its newest), each with its
    worst outcome and its number of runs."""
    worst: dict[str, dict] = {}
    first = None
    for r in reversed(runs):  # newest first (by run id): stops a day past the calendar
        if r["started"] is None:
            continue
        day = r["started"][:10]
        if first is None:
            first = _day_before(day, CALENDAR_DAYS)
        elif day < first:
            break
        cur = worst.get(day)
        if cur is None:
            worst[day] = {"day": day, "status": r["status"], "n": 1}
        else:
            cur["n"] += 1
            if _RANK.get(r["status"], 0) < _RANK.get(cur["status"], 0):
                cur["status"] = r["status"]
    if not worst:
        return []
    first = _day_before(max(worst), CALENDAR_DAYS - 1)
    return [worst[d] for d in sorted(worst) if d >= first]


def _day_before(day: str, n: int) -> str:
    return (iso(parse_iso(f"{day}T00:00:00.000Z") - n * DAY) or "")[:10]


def _title(task: str, bar: dict) -> str:
    when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(bar["start"]))
    if bar["end"] is None:
        return f"{task} {bar['id']}: running since {when} UTC"
    end = time.strftime("%H:%M", time.gmtime(bar["end"]))
    if bar["n"] > 1:
        return f"{task}: {bar['n']} runs, {when}-{end} UTC, the worst {bar['status']} ({bar['id']})"
    return f"{task} {bar['id']}: {bar['status']}, {when}-{end} UTC"


def _views_for(summaries: list[dict], anchor: int) -> list[str]:
    """The views worth drawing: the shortest span that holds every task's runs, and
    the week as well once they go back more than a day."""
    oldest = min(
        (s["bars"]["week"][0]["start"] for s in summaries if s["bars"]["week"]), default=anchor
    )
    age = anchor - oldest
    if age <= HOUR:
        return ["hour"]
    if age <= DAY:
        return ["day"]
    return ["day", "week"]


def _view(summaries: list[dict], view: str, anchor: int, memo: dict) -> dict:
    span = SHOWN_SPAN_S[view]
    min_w = span / MIN_WIDTH
    source = _BARS_OF[view]
    lanes = []
    for s in summaries:
        for host, shown in _by_host(s["bars"][source]):
            # A bar's title, link and shape do not depend on the anchor, only where it
            # is: they are kept while the lane's bars stay (an update after one run
            # changes one task's bars, and moves the anchor of every lane).
            key = (view, s["name"], host)
            kept = memo.get(key)
            if kept is None or kept[0] != shown:
                kept = memo[key] = [shown, _prepare(s["name"], source, shown), None, None]
            placed = kept[2]
            if placed is None or not placed.holds(anchor):
                placed = kept[2] = _Placed(_prepared(kept), anchor, span, min_w)
            lanes.append(placed.lane(s["name"], anchor, source == "day", host))
    return {"view": view, "span": span, "lanes": lanes, "ticks": TICKS[view]}


def _by_host(bars: list[dict]) -> list[tuple[str | None, list[dict]]]:
    """A task's lanes: [(None, its bars)] when they come from one host (or none says),
    else (host, its bars) for each host, by name: a task that runs on several hosts
    shows a lane per host."""
    hosts = {b.get("host") for b in bars}
    if len(hosts) <= 1:
        return [(None, bars)]
    return [
        (h, [b for b in bars if b.get("host") == h])
        for h in sorted(hosts, key=lambda h: (h is None, h or ""))
    ]


def saved_lanes(memo: dict) -> dict[str, dict[str, bytes | dict]]:
    """The prepared lanes of a dashboard's memo as the build cache keeps them:
    {task: {view: marshal's bytes of [[markup before x, between x and width, after
    width], ...]}}, one item a bar of the task's summary (what _prepare() costs: most of
    a dashboard), and under "placed" {view: the lane's rects as last placed
    (_Placed.state())}. One blob a lane: a new process unpacks a lane's items only to
    place it again (about 14,000 items on the busy layout, 6 ms to unpack whole), and
    writes an unchanged lane's blob back as it read it."""
    saved: dict[str, dict] = {}
    for (view, task, host), kept in memo.items():
        if host is not None:
            continue  # a task's lane per host (several hosts run it): made again
        if type(kept[3]) is not bytes:  # made once a lane: a watching sitegen saves often
            kept[3] = marshal.dumps([list(item[3:]) for item in _prepared(kept)])
        lanes = saved.setdefault(task, {})
        lanes[view] = kept[3]
        if kept[2] is not None:
            lanes.setdefault(PLACED, {})[view] = kept[2].state()  # type: ignore[index]
    return saved


def adopt_lanes(memo: dict, task: str, summary: dict, saved: object) -> None:
    """Take a task's prepared lanes from the build cache (saved_lanes()), made from the
    bars of `summary`; a lane that does not fit its bars is prepared again (a blob when
    it is unpacked: _prepared). A lane's rects as last placed come too: taken while they
    hold for the window (_view)."""
    if type(saved) is not dict:
        return
    placed = saved.get(PLACED)
    placed = placed if type(placed) is dict else {}
    for view, items in saved.items():
        source = _BARS_OF.get(view)
        bars = summary["bars"][source] if source is not None else None
        if bars is None or not (type(items) is bytes or _items_fit(items, bars)):
            continue
        # Prepared from them when placed (_prepared); the task and its bars' view, to
        # prepare them again if the blob does not hold what fits.
        kept = [bars, None, None, items, (task, source)]
        kept[2] = _Placed.restored(kept, view, placed.get(view))
        memo[(view, task, None)] = kept


def _items_fit(items: object, bars: list[dict]) -> bool:
    """Whether kept items are a lane's for `bars`: three strings a bar."""
    return (
        type(items) is list
        and len(items) == len(bars)
        and all(type(i) is list and len(i) == 3 and all(type(p) is str for p in i) for i in items)
    )


def _prepared(kept: list) -> list[tuple]:
    """A memo entry's prepared bars (_prepare()'s), made from its saved items for a lane
    the build cache kept (adopt_lanes): only when the lane is placed again, or a theme
    reads its bars."""
    if kept[1] is None:
        bars, items = kept[0], kept[3]
        if type(items) is bytes:
            try:
                items = marshal.loads(items)
            except (ValueError, EOFError, TypeError):
                items = None
            if not _items_fit(items, bars):  # not sitegen's (its digest was right): made again
                task, source = kept[4]
                kept[1], kept[3] = _prepare(task, source, bars), None
                return kept[1]
        kept[1] = [(bar, _height(bar["status"]), None, *item) for bar, item in zip(bars, items)]
    return kept[1]


def _height(status: str) -> int:
    return 10 if status in FAILED_LIKE else _HEIGHT.get(status, 6)


def _prepare(task: str, view: str, bars: list[dict]) -> list[tuple]:
    """(bar, height, title, markup before x, between x and width, after width) of each
    bar, every value escaped: a Jinja loop over thousands of bars took most of a
    dashboard's render (each update of a watching sitegen)."""
    from html import escape  # the standard library's: markupsafe's pure-Python one is slow

    from runwrap.store.siteurls import run_page

    link = view == "day"  # the 7-day view's slots: titles only, a lighter page
    out = []
    for bar in bars:
        status = bar["status"]
        height = _height(status)
        title = _title(task, bar)
        head = f'<rect class="bar s-{status if status in _RANK else "unknown"}" x="'
        tail = (
            f'" height="{height}"{" data-running" if bar["end"] is None else ""}>'
            f"<title>{escape(title)}</title></rect>"
        )
        if link:  # the dashboard is OUT's root: a run's page is at its URL as it is
            head = f'<a href="{escape(run_page(task, bar["id"]))}">{head}'
            tail += "</a>"
        out.append((bar, height, title, head, f'" y="{(10 - height) // 2}" width="', tail))
    return out


class _Placed:
    """A lane's rects placed for a window, as markup: x is counted from the lane's own
    origin (its newest bar's start), and a translate moves them to the anchor. So when
    the anchor moves on, an update after one run, the rects stay as they were while
    the same bars show; a lane with a running bar, whose width is up to the anchor, is
    placed again. The rects outlive the process (state(), restored()): a one-shot
    update after one run places again only the lanes whose window no longer holds."""

    def __init__(
        self,
        prepared: list[tuple] | list,
        anchor: int,
        span: int,
        min_w: float,
        state: list | None = None,
    ) -> None:
        # `prepared`: the bars, or for restored rects the memo entry they come from
        self.prepared, self.span, self.min_w = prepared, span, min_w
        self._shown: list | None = None
        self._restored = state is not None
        if state is not None:  # restored(): as an earlier process placed them
            self.origin, self.anchor, self.running, self.hidden_end, self.shown_end = state[:5]
            self.svg, self.count = state[5], state[6]
            return
        self.origin = max((item[0]["start"] for item in prepared), default=0)
        self.anchor = anchor
        self._shown, svg = self._place()
        self.svg, self.count = "".join(svg), len(svg)

    def _place(self) -> tuple[list, list[str]]:
        """(the bars shown, each (item, x, w)), and their rects' markup; sets running and
        the window's bounds."""
        anchor, origin, min_w = self.anchor, self.origin, self.min_w
        cut = anchor - self.span
        self.running = False
        self.hidden_end = -math.inf  # the window's start may move on up to shown_end,
        self.shown_end = math.inf  # and back down past hidden_end: the same bars show
        shown, svg = [], []
        for item in _prepared(self.prepared) if self._restored else self.prepared:
            bar = item[0]
            end = bar["end"]
            if end is None:
                self.running, end = True, anchor
            elif end < cut:
                self.hidden_end = max(self.hidden_end, end)
                continue
            else:
                self.shown_end = min(self.shown_end, end)
            # A short run's bar grows to the left: it ends when the run ended.
            x = round(min(bar["start"], end - min_w) - origin)
            w = round(max(end - bar["start"], min_w))
            shown.append((item, x, w))
            svg.append(f"{item[3]}{x}{item[4]}{w}{item[5]}")
        return shown, svg

    @property
    def shown(self) -> list:
        """The bars shown, each (item, x, w): made again for restored rects when a theme
        reads a lane's bars (the default one counts them: _Bars)."""
        if self._shown is None:
            self._shown = self._place()[0]
        return self._shown

    def state(self) -> list:
        """What restored() takes back: the window's bounds and the markup."""
        return [
            *(self.origin, self.anchor, self.running, self.hidden_end, self.shown_end),
            *(self.svg, self.count),
        ]

    @classmethod
    def restored(cls, kept: list, view: str, state: object) -> _Placed | None:
        """A lane's rects as state() kept them, for the bars of the memo entry `kept`
        (adopt_lanes), or None."""
        if not (
            type(state) is list
            and len(state) == 7
            and all(type(v) is int for v in state[:2])
            and type(state[2]) is bool
            and all(type(v) in (int, float) for v in state[3:5])
            and type(state[5]) is str
            and type(state[6]) is int
            and view in SHOWN_SPAN_S
        ):
            return None
        span = SHOWN_SPAN_S[view]
        if state[0] != max((bar["start"] for bar in kept[0]), default=0):
            return None  # not these bars' origin
        return cls(kept, state[1], span, span / MIN_WIDTH, state)

    def holds(self, anchor: int) -> bool:
        """Whether these rects are the lane's in the window that ends at `anchor`."""
        if self.running:
            return anchor == self.anchor
        return self.hidden_end < anchor - self.span <= self.shown_end

    def lane(self, task: str, anchor: int, link: bool, host: str | None = None) -> dict:
        """The lane's data for the template: `host` when it is one host's of a task run
        on several (None: the task's only lane)."""
        from markupsafe import Markup

        shift = self.origin - anchor
        svg = f'<g transform="translate({shift})">{self.svg}</g>' if self.svg else ""
        bars = _Bars(task, self, link, shift)
        return {"name": task, "host": host, "bars": bars, "svg": Markup(svg)}


class _Bars(Sequence):
    """A lane's bars as data (docs/sitegen.md), made when a theme reads them: the
    default one counts them only, and an update redraws every lane."""

    def __init__(self, task: str, placed: _Placed, link: bool, shift: int = 0) -> None:
        self._task = task
        self._placed = placed  # its bars (item, x, w) made only when read: restored rects
        self._link = link
        self._shift = shift  # x in the list counts from the lane's origin

    def __len__(self) -> int:
        return self._placed.count

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        (bar, height, title, *_markup), x, w = self._placed.shown[i]
        return {
            "id": bar["id"],
            "status": bar["status"],
            "x": x + self._shift,
            "w": w,
            "y": (10 - height) / 2,
            "h": height,
            "running": bar["end"] is None,
            "link": self._link,
            # None: prepared by an earlier process (adopt_lanes), which kept the markup only
            "title": title if title is not None else _title(self._task, bar),
        }

    def __eq__(self, other: object) -> bool:
        return list(self) == (list(other) if isinstance(other, Sequence) else other)


class Cells(list):
    """A task's calendar cells, and the days it spans: `first` (ISO day) and `days`."""

    first: str
    days: int


def _calendar(summary: dict, last_day: str) -> Cells:
    """The cells from the task's first run (at most CALENDAR_DAYS back) up to `last_day`,
    x in cell units from that first day; days without runs are left out.

    A task a day old gets a calendar a day long, not 89 empty days and one tick."""
    first = _day_before(last_day, CALENDAR_DAYS - 1)
    shown = summary["days"]
    # Its first run is in the window when every run is: then the calendar starts there.
    if shown and sum(d["n"] for d in shown) >= summary.get("runs", math.inf):
        first = max(first, min(shown[0]["day"], last_day))
    start = parse_iso(f"{first}T00:00:00.000Z") or 0.0
    cells = Cells()
    cells.first = first
    cells.days = round(((parse_iso(f"{last_day}T00:00:00.000Z") or 0.0) - start) / DAY) + 1
    for d in summary["days"]:
        if first <= d["day"] <= last_day:
            x = round((parse_iso(f"{d['day']}T00:00:00.000Z") - start) / DAY)
            height = 12 if d["status"] in FAILED_LIKE else 8
            cells.append({**d, "x": x * 6, "y": 12 - height, "h": height})
    return cells


class Calendars(Mapping):
    """{task: its calendar's cells}, each made when a page first asks for it: a row
    kept from the last update (sitegen/render/fragments.py) asks for none."""

    def __init__(self, summaries: list[dict], last_day: str) -> None:
        self._summaries = {s["name"]: s for s in summaries}
        self._last_day = last_day
        self._made: dict[str, Cells] = {}

    def __getitem__(self, task: str) -> Cells:
        cells = self._made.get(task)
        if cells is None:
            cells = self._made[task] = _calendar(self._summaries[task], self._last_day)
        return cells

    def __iter__(self) -> Iterator[str]:
        return iter(self._summaries)

    def __len__(self) -> int:
        return len(self._summaries)


def dashboard(summaries: list[dict], memo: dict | None = None) -> dict:
    """What dashboard.html draws the timeline and calendars from (see docs/sitegen.md);
    `memo` keeps lanes between the updates of a long-lived process."""
    memo = {} if memo is None else memo
    ends = [
        b["end"] if b["end"] is not None else b["start"]
        for s in summaries
        for b in s["bars"]["week"]
    ]
    days_seen = [s["days"][-1]["day"] for s in summaries if s["days"]]
    if not ends and not days_seen:
        return {"timeline": None, "calendars": {}, "calendar_end": None, "calendar_start": None}
    anchor = max(ends) if ends else int(parse_iso(f"{max(days_seen)}T00:00:00.000Z") or 0)
    last_day = (iso(anchor) or "")[:10]
    names = {s["name"] for s in summaries}
    views = _views_for(summaries, anchor)
    # A task gone, or a view not drawn now: its lanes were not made again from the bars
    # of now, so they are not kept (the build cache would save them with those bars, and
    # a later process, drawing that view again, would take them).
    for key in [k for k in memo if k[1] not in names or k[0] not in views]:
        del memo[key]
    return {
        "timeline": {
            "anchor": iso(anchor),
            "views": [_view(summaries, v, anchor, memo) for v in views],
        },
        "calendars": Calendars(summaries, last_day),
        "calendar_end": last_day,
        "calendar_start": _day_before(last_day, CALENDAR_DAYS - 1),
    }
