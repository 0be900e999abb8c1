"""Writing the site into OUT: pages through the theme, published files, removals.

Every file is replaced atomically (a temp file renamed over it), so a web
server never serves half a page. The temp files a killed build left are swept
from the directories a build writes whole: OUT's root, static/, a task
rebuilt in full, and a run directory whose page is rendered again.
"""

from __future__ import annotations

import hashlib
import operator
import os
import shutil
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import jinja2

from runwrap.store import findtext
from runwrap.store import siteurls as urls
from runwrap.store.durations import WINDOW, baseline, push
from runwrap.store.jsonio import dumps
from runwrap.store.layout import STDERR
from runwrap.store.logtail import Tail, Tails
from runwrap.store.manifest import FAILING, RUNNING, SUCCESS
from runwrap.store.query import rank
from runwrap.store.wallclock import clock_doubts
from runwrap.timefmt import iso
from sitegen import logs
from sitegen.config import SiteConfig
from sitegen.errors import one_line
from sitegen.publish import prune
from sitegen.publish.names import shown
from sitegen.publish.scratch import Scratch, sweep, unlink
from sitegen.read.files import RunsDir
from sitegen.read.late import silent, silent_pushes, with_lateness
from sitegen.read.sigs import tree_files
from sitegen.render import pages
from sitegen.render.fragments import Dashboard
from sitegen.render.model import EPOCH, summarize

log = logs.getLogger(__name__)

FEED_SIZE = 50


@dataclass
class BuildStats:
    """What one update did."""

    full: bool = False
    tasks: int = 0
    run_pages: int = 0
    history_pages: int = 0
    seconds: float = 0.0
    changed_tasks: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # tasks a bug stopped (warned about)
    warned: set[str] = field(default_factory=set)  # warnings given (by a worker)
    # Tasks built fresh: (runs by status, run number counted through), for the metrics.
    counted: dict[str, tuple] = field(default_factory=dict)


@dataclass
class TaskRuns:
    """One task's runs as an update found them: what its run pages are rendered from."""

    task: str
    runs: RunsDir  # the task's runs/ directory, open
    order: list[str]  # the runs shown, oldest first
    old_order: list[str]  # the same, as the last build showed them
    changed: set[str]  # runs whose page content changed
    manifests: dict[str, dict]  # manifests the update has read already (no second read)
    sums: dict[str, dict]  # each shown run's summary (model.summarize), made once
    fresh: bool = False  # the task is built whole: every page is rendered
    # Failed runs' stderr as their pages read it: the search index's tails, not read again.
    stderr: dict[str, Tail] = field(default_factory=dict)
    # The status of each run that went since the last build (retention): only a success
    # that went changes what the failed runs after it say; one not here counts as one.
    gone: dict[str, object] = field(default_factory=dict)
    # Failed runs' what changed (pages.what_changed), as the build cache keeps it.
    changes: dict[str, dict] = field(default_factory=dict)

    def neighbours(self, i: int) -> tuple[str | None, str | None]:
        """The runs before and after order[i] (a run page links both)."""
        order = self.order
        return (order[i - 1] if i else None), (order[i + 1] if i + 1 < len(order) else None)


class Ticker(Protocol):
    """Something that counts rendered pages (a progress bar)."""

    def tick(self, n: int = 1) -> None:
        """Count n more pages."""


class SiteValues(dict):
    """`site` as templates see it: the mapping a theme always had (`site["title"]`,
    `site.get("site_url")`), whose values are attributes too. Jinja reads `site.title` as
    an attribute first: on a plain dict each read raised and caught an AttributeError
    (twice on every page), here the class answers it."""

    __slots__ = ()
    title = property(operator.itemgetter("title"))
    site_url = property(operator.itemgetter("site_url"))


class Writer:
    """Renders pages and publishes files into OUT."""

    def __init__(
        self,
        cfg: SiteConfig,
        env: jinja2.Environment,
        theme_dirs: list,
        scratch: Scratch,
        check_stop: Callable[[], None] | None = None,
    ) -> None:
        self.cfg = cfg
        self.env = env
        self.theme_dirs = theme_dirs
        self.scratch = scratch
        self.site = SiteValues(title=cfg.title, site_url=cfg.site_url)
        self.dashboard = Dashboard()  # its rows, kept between updates
        # Raises to give the build up (the Site's stop, a SIGTERM), checked between pages.
        self.check_stop: Callable[[], None] = check_stop or (lambda: None)

    def write(self, parts: tuple[str, ...], text: str) -> None:
        """Atomically replace the file at `parts` (below OUT) with text."""
        # "replace": a lone surrogate that slipped through becomes "?", never bad UTF-8.
        self.scratch.write(os.path.join(self.cfg.out, *parts), text.encode("utf-8", "replace"))

    def render(
        self, parts: tuple[str, ...], template: str, refresh: int = 0, **ctx: object
    ) -> None:
        """Render a template into the file at `parts`; its links go up to OUT by `base`."""
        ctx.setdefault("built", iso(time.time()))  # the footer's build time
        html = self.env.get_template(template).render(
            site=self.site, base=urls.base_of(parts), refresh=refresh, **ctx
        )
        self.write(parts, html)

    def copy_static(self) -> None:
        """Copy the theme's static files into OUT/static (a user theme's files win)."""
        files = {}
        # The least specific theme first, so a user theme's files win.
        for theme in reversed(self.theme_dirs):
            src = os.path.join(theme, urls.STATIC)
            # Through linked directories, as the stamp and the cache's fingerprint see them.
            for path, st in tree_files(src):
                if stat.S_ISREG(st.st_mode):
                    files[os.path.relpath(path, src)] = path
        dest = os.path.join(self.cfg.out, urls.STATIC)
        for rel, path in files.items():
            with open(path, "rb") as f:
                self.scratch.write(os.path.join(dest, rel), f.read())
        for directory in {os.path.dirname(os.path.join(dest, rel)) for rel in files}:
            sweep(directory)

    # -- pages -----------------------------------------------------------------

    def out_task(self, task: str) -> str:
        """The task's directory in OUT."""
        return os.path.join(self.cfg.out, *urls.task_parts(task))

    def out_run(self, task: str, run_id: str) -> str:
        """The run's directory in OUT."""
        return os.path.join(self.cfg.out, *urls.run_parts(task, run_id))

    def render_runs(self, batch: TaskRuns, stats: BuildStats, counter: Ticker | None) -> None:
        """Render the run pages that changed, and those whose neighbours changed."""
        task, runs, old_order = batch.task, batch.runs, batch.old_order
        old_pos = {run_id: i for i, run_id in enumerate(old_order)}
        behind = _behind_a_change(batch)
        todo = []
        for i, run_id in enumerate(batch.order):
            prev, nxt = batch.neighbours(i)
            j = old_pos.get(run_id)
            same_neighbours = j is not None and (
                (old_order[j - 1] if j else None) == prev
                and (old_order[j + 1] if j + 1 < len(old_order) else None) == nxt
            )
            if (
                not batch.fresh
                and run_id not in batch.changed
                and same_neighbours
                and run_id not in behind
            ):
                continue
            todo.append((i, run_id, prev, nxt))
        if batch.fresh:  # every page: one pass over the history
            last_ok = _last_success_before(batch.order, batch.sums)  # a failed run's
            compared = {against for against, _ in last_ok.values()}
        else:  # a few pages of a history of any length: looked up around each
            last_ok, compared = _last_success_around(batch.order, batch.sums, todo)
        tails = Tails()  # a failing streak's last success: its stderr read once
        for _i, run_id, prev, nxt in todo:
            self.check_stop()  # a task of thousands of pages: a stop is seen between pages
            manifest = batch.manifests.get(run_id) or runs.manifest(run_id)
            if manifest is None:
                continue
            try:
                run_sum = batch.sums.get(run_id)
                status = run_sum["status"] if run_sum is not None else None
                against, base = last_ok.get(run_id, (None, None))
                self.render_run(
                    task,
                    run_id,
                    manifest,
                    runs,
                    prev,
                    nxt,
                    status,
                    against,
                    base,
                    batch.manifests.get(against) if against is not None else None,
                    tails,
                    batch.stderr,
                    run_id in compared,
                    batch.changes,
                )
            except OSError:
                raise  # OUT cannot be written: the build stops, with one line
            except Exception as e:  # a bug a job's files set off: this page only
                where = shown(os.path.join(runs.path, run_id))
                log.warning("cannot build the page of %s: %s", where, one_line(e))
                log.debug("run page %s failed", where, exc_info=True)
                continue
            stats.run_pages += 1
            if counter is not None:
                counter.tick()
        for run_id in [r for r in batch.changes if r not in batch.sums]:
            del batch.changes[run_id]  # a run gone: its what changed with it

    def render_run(
        self,
        task: str,
        run_id: str,
        manifest: dict,
        runs: RunsDir,
        prev: str | None,
        nxt: str | None,
        status: str | None = None,
        against: str | None = None,
        base: dict | None = None,
        against_manifest: dict | None = None,
        tails: Tails | None = None,
        stderr: dict[str, Tail] | None = None,
        compared: bool = False,
        changes: dict[str, dict] | None = None,
    ) -> None:
        """Render one run page and publish its logs and artifacts (`against`: the last
        success before it, which a failed run's page says what changed since; `base`: the
        task's duration baseline then; `against_manifest`: against's, if read already;
        `tails`: logs read already; `stderr`: where to leave a failed run's stderr tail
        for the search index; `compared`: a failed run after it is compared with it;
        `changes`: the task's what changed by run id, kept in the build cache)."""
        out_run = self.out_run(task, run_id)
        try:
            os.mkdir(out_run)
            existed = False
        except FileExistsError:
            existed = True
        except FileNotFoundError:
            os.makedirs(out_run)
            existed = False
        if status is None:
            status = summarize(run_id, manifest)["status"]
        with runs.run(run_id, self.cfg.publish, self.scratch) as rf:
            run, keep = pages.run_context(
                task, run_id, manifest, status, rf, out_run, not existed, compared
            )
            if compared and tails is not None and STDERR in rf.tails:
                # The failed runs after it read this stderr from the build, not again.
                tails.put(os.path.join(runs.path, run_id, STDERR), rf.tails[STDERR])
            if run.failed:
                now = rf.tails.get(STDERR)
                run.changes = pages.what_changed(
                    runs,
                    run_id,
                    manifest,
                    against,
                    {} if changes is None else changes,
                    base,
                    against_manifest,
                    tails=(now, tails),
                )
                if stderr is not None and now is not None:
                    kept = now.last(findtext.TAIL_BYTES)  # all the index reads: small
                    if kept is not None:
                        stderr[run_id] = kept
            elif changes is not None:
                changes.pop(run_id, None)
        self.render(
            (*urls.run_parts(task, run_id), urls.INDEX),
            "run.html",
            # A running run's page reloads itself, like the dashboard.
            refresh=self.cfg.refresh_s if status == RUNNING else 0,
            run=run,
            prev=prev,
            next=nxt,
        )
        if existed:
            prune.prune_run_dir(out_run, keep)

    def render_history(
        self,
        task: str,
        runs: list[dict],
        old_sigs: dict[str, str],
        fresh: bool,
        stats: BuildStats,
        touched: set[str] | None = None,
    ) -> dict[str, str]:
        """Render the history pages whose content changed; remove pages that are gone.

        A page is rendered from its rows and its newer/older links only, so
        comparing a digest of those with the last build's says exactly which
        pages a full build would write differently. Returns the new digests.
        `touched`: the runs whose summary may differ from the last build's (None:
        any); a page without one of them, holding the same runs with the same
        marks and links, keeps its digest without serialising its rows again.
        """
        # Runs whose start disagrees with their order are marked "clock?" (order is not time).
        doubted = clock_doubts((r["id"], r.get("seq"), r.get("started")) for r in runs)
        if doubted:
            runs = [{**r, "clock": True} if r["id"] in doubted else r for r in runs]
        paged = pages.paginate(runs, self.cfg.page_size)
        numbers = sorted(paged)
        summary = {"name": task}
        sigs: dict[str, str] = {}
        for i, page in enumerate(numbers):
            newer = numbers[i + 1] if i + 1 < len(numbers) else None
            older = numbers[i - 1] if i else None
            rows = paged[page]
            # Which runs, marked how, between which pages: cheap, and with `touched` all
            # that can change a page's rows (a digest per page was linear in the history).
            shape = [f"{r['id']}{'?' if r.get('clock') else ''}" for r in rows]
            light = _sha1(repr([shape, newer, older]))[:16]
            old = old_sigs.get(str(page))
            if (
                fresh
                or touched is None
                or old is None
                or old[:16] != light
                or any(r["id"] in touched for r in rows)
            ):
                sig = light + _sha1(dumps([rows, newer, older]))
            else:
                sig = old
            sigs[str(page)] = sig
            if fresh or old_sigs.get(str(page)) != sig:
                self.render(
                    (*urls.task_parts(task), urls.history_name(page)),
                    "history.html",
                    task=summary,
                    rows=rows,
                    page=page,
                    newer=newer,
                    older=older,
                )
                stats.history_pages += 1
        for page in set(old_sigs) - set(sigs):
            unlink(os.path.join(self.out_task(task), urls.history_name(int(page))))
        if fresh:
            pages_now = {urls.history_name(int(page)) for page in sigs}
            for name in prune.listdir(self.out_task(task)):
                if name not in pages_now and name == urls.history_name(prune.page_number(name)):
                    unlink(os.path.join(self.out_task(task), name))
        return sigs

    def render_task(
        self,
        task: str,
        runs: RunsDir,
        task_sum: dict,
        run_sums: list[dict],
        order: list[str],
        manifests: dict,
        late: dict | None = None,
    ) -> None:
        """Render the task page, its badge and its feed (`late`: its lateness now)."""
        task_sum = with_lateness(task_sum, late)
        latest = None
        if order:
            latest = manifests.get(order[-1]) or runs.manifest(order[-1])
        ctx = pages.task_context(self.cfg, task_sum, run_sums, latest)
        task_parts = urls.task_parts(task)
        refresh = self.cfg.refresh_s if task_sum["running"] else 0
        self.render((*task_parts, urls.INDEX), "task.html", refresh, **ctx)
        self.write((*task_parts, urls.BADGE), pages.badge(self.env, task, task_sum["state"]))
        changes = task_sum["changes"]
        self.render_feed((*task_parts, urls.FEED), urls.task_feed(task), task, changes, [task_sum])

    def render_feed(
        self, parts: tuple[str, ...], rel: str, title: str, changes: list[dict], sums: list[dict]
    ) -> None:
        """Render an Atom feed of state changes into the file at `parts` (URL `rel`);
        it was updated when the newest of the tasks' (`sums`) runs ended."""
        entries = sorted(changes, key=lambda c: (c["at"] or "", c["task"], c["id"]), reverse=True)
        entries = [dict(e) for e in entries[:FEED_SIZE]]
        site_url = self.cfg.site_url

        def link(to: str) -> str:
            return urls.absolute(site_url, to) if site_url else urls.base_of(parts) + to

        for e in entries:
            e["link"] = link(urls.run_page(e["task"], e["id"]))
            e["at"] = e["at"] or EPOCH
        feed_id = link(rel) if site_url else f"urn:runwrap:{urls.quote(self.cfg.title)}:{rel}"
        text = self.env.get_template("feed.atom").render(
            site=self.site,
            feed_title=f"state changes of {title}",
            feed_id=feed_id,
            updated=max([e["at"] for e in entries[:1]] + _ends(sums), default=EPOCH),
            self_url=link(rel),
            site_link=link(urls.INDEX) if site_url else None,
            entries=entries,
        )
        self.write(parts, text)

    def render_site(self, summaries: list[dict], late: dict[str, dict] | None = None) -> None:
        """Render the dashboard, status.json and the site feed (`late`: lateness now)."""
        late = late or {}
        sources = {s["name"]: s for s in summaries}  # what rows are kept by (fragments.py)
        summaries = [with_lateness(s, late.get(s["name"])) for s in summaries]
        hosts = silent(late) + silent_pushes(self.cfg.root)
        host_facts = pages.host_lines(summaries, hosts)
        ordered = sorted(summaries, key=lambda s: (rank(s["state"]), s["name"]))
        now = iso(time.time())
        self.render(
            (urls.INDEX,),
            "dashboard.html",
            self.cfg.refresh_s,
            tasks=ordered,
            totals=pages.counts(summaries),
            silent_hosts=hosts,
            hosts=host_facts,
            built=now,
            **self.dashboard.context(self.env, ordered, sources, late),
        )
        status = pages.status_json(self.cfg, ordered, hosts, now, host_facts)
        self.write((urls.STATUS,), dumps(status) + "\n")
        changes = [c for s in summaries for c in s["changes"]]
        self.render_feed((urls.FEED,), urls.FEED, "all tasks", changes, summaries)
        sweep(self.cfg.out)

    # -- removal ---------------------------------------------------------------

    def remove_task(self, task: str) -> None:
        """Remove a task's pages (what sitegen made there: nothing else)."""
        prune.remove_own(self.out_task(task))

    def remove_stale_tasks(self, tasks: set[str]) -> None:
        """Remove the task directories sitegen made in OUT for tasks ROOT no longer has
        (prune.py: a person's directory there stays)."""
        prune.remove_stale_tasks(os.path.join(self.cfg.out, urls.TASKS), tasks)

    def remove_run(self, task: str, run_id: str) -> None:
        """Remove a run's page and files; runs/ too with the last run (a full build makes
        no empty runs/)."""
        shutil.rmtree(self.out_run(task, run_id), ignore_errors=True)
        prune.rmdir_if_empty(os.path.join(self.out_task(task), urls.RUNS))

    def remove_stale_runs(self, task: str, keep: set[str]) -> None:
        """Remove run directories in OUT that the task no longer has, and the temp
        files a killed build left in the task's directory."""
        sweep(self.out_task(task))
        prune.remove_stale_runs(os.path.join(self.out_task(task), urls.RUNS), keep)


def _behind_a_change(batch: TaskRuns) -> set[str]:
    """The failed runs whose page may say another "what changed" since the last build:
    the last success before a failed run and its duration baseline (the WINDOW successes
    before it) change when a run before it came, went (retention) or changed, not only
    when its neighbours did. A failed run with WINDOW successes between such a change and
    itself is not touched by it."""
    old, new = batch.old_order, batch.order
    if batch.fresh or not old:
        return set()
    pos = {run_id: i for i, run_id in enumerate(new)}
    kept = set(old)
    first = len(new)
    # Only successes make a failed run's last success and baseline: a success that came,
    # a run that changed (it may have been one) or a success that went. A failed run that
    # came or went (retention in a failing streak) changes its neighbours' pages only.
    for i, run_id in enumerate(new):
        if run_id in batch.changed if run_id in kept else _is_success(batch.sums, run_id):
            first = i
            break
    gone = False
    for run_id in old:  # from the first run after it
        if run_id not in pos:
            gone = gone or batch.gone.get(run_id, SUCCESS) == SUCCESS
        elif gone:
            first = min(first, pos[run_id])
            break
    found, successes = set(), 0
    for run_id in new[first:]:
        status = (batch.sums.get(run_id) or {}).get("status")
        if status == SUCCESS:
            successes += 1
            if successes > WINDOW:
                break
        elif status in FAILING:
            found.add(run_id)
    return found


def _is_success(sums: dict[str, dict], run_id: str) -> bool:
    return (sums.get(run_id) or {}).get("status") == SUCCESS


def _last_success_before(
    order: list[str], sums: dict[str, dict] | None
) -> dict[str, tuple[str, dict | None]]:
    """{run id: (the last successful run before it, the duration baseline of the
    successes before it)} for the failed runs, in one pass."""
    found: dict[str, tuple[str, dict | None]] = {}
    last = None
    window: list[float] = []  # pushed to in place: one check a run, not one a window
    base: tuple[str, dict | None] | None = None  # a failing streak's: worked out once
    for run_id in order:
        summary = (sums or {}).get(run_id) or {}
        status = summary.get("status")
        if status == SUCCESS:
            last = run_id
            push(window, summary.get("job", summary.get("duration")))
        elif last is not None and status in FAILING:
            if base is None or base[0] != last:
                base = (last, baseline(window))
            found[run_id] = base
    return found


def _last_success_around(
    order: list[str], sums: dict[str, dict], todo: list[tuple]
) -> tuple[dict[str, tuple[str, dict | None]], set[str]]:
    """_last_success_before's entries for the runs in `todo` ((position, run id, ...)),
    and which of those runs a failed run after it is compared with: an update renders a
    few pages, and each walks back only to WINDOW successes (forward to the next success
    or failure), not over the whole history (issue 24: flat in the task's history)."""

    def status(i: int) -> object:
        return (sums.get(order[i]) or {}).get("status")

    found: dict[str, tuple[str, dict | None]] = {}
    compared: set[str] = set()
    # A failed run's answer by position (None: no success before it), todo being in
    # order: a failed run after one of them, with no success between, has the same. A
    # failing streak rendered whole (its oldest run pruned) is then one walk, not one a
    # page over the whole streak (quadratic: 5 s at 10,000 runs).
    known: dict[int, tuple[str, dict | None] | None] = {}
    for at, run_id, *_ in todo:
        here = status(at)
        if here == SUCCESS:
            for k in range(at + 1, len(order)):  # the failed runs after it compare with it
                if status(k) == SUCCESS:
                    break
                if status(k) in FAILING:
                    compared.add(run_id)
                    break
        elif here in FAILING:
            last, durations, counted, inherited = None, [], 0, None
            for k in range(at - 1, -1, -1):
                if last is None and k in known:
                    inherited = known[k]  # a failed run before it, no success between
                    break
                if status(k) != SUCCESS:
                    continue
                summary = sums.get(order[k]) or {}
                last = last or order[k]
                value = summary.get("job", summary.get("duration"))
                probe: list[float] = []
                push(probe, value)
                durations.append(value)
                counted += len(probe)  # push() drops what is not a duration
                if counted >= WINDOW:
                    break
            answer = inherited
            if last is not None:
                window: list[float] = []
                for value in reversed(durations):
                    push(window, value)
                answer = (last, baseline(window))
            known[at] = answer
            if answer is not None:
                found[run_id] = answer
    return found, compared


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogateescape")).hexdigest()


def _ends(sums: list[dict]) -> list[str]:
    """When each task's last run ended (or started, while it runs)."""
    last = (s["last"] for s in sums if s["last"] is not None)
    return [t for run in last if (t := run["ended"] or run["started"])]
