"""The site's URL layout: where sitegen puts each page and file in OUT, so every link to one.

sitegen writes by it, its pages and feeds link by it, `sitegen --serve` tells a
job's files by it, and runwrap's notices link a run's page by it. URLs here are
relative to OUT, '/'-separated, each name (task, run id, file) percent-encoded;
paths() gives the same places as path parts for the file system. Only the
standard library's smallest parts: runwrap's notices import it (no urllib, no re).
"""

from __future__ import annotations

from runwrap.store.layout import STDERR, STDOUT

TASKS = "tasks"
RUNS = "runs"
FILES = "files"  # a run's artifacts, under the names sitegen publishes them by
INDEX = "index.html"  # the page of the dashboard, a task, a run
STATUS = "status.json"
FEED = "feed.atom"  # the site's, and each task's
BADGE = "badge.svg"
SEARCH = "search.json"  # each task's search index (sitegen/publish/search.py)
STATIC = "static"
LOGS = (STDOUT, STDERR)  # published beside the run's page under the names they have in ROOT

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def quote(name: str) -> str:
    """One name as a URL path part: every byte but letters, digits and -._~ as %XX.

    A byte that is not UTF-8 (a lone surrogate from the file system) is encoded as itself.
    """
    if _SAFE.issuperset(name):
        return name  # run ids and most task names
    raw = name.encode("utf-8", "surrogateescape")
    return "".join(chr(b) if chr(b) in _SAFE else f"%{b:02X}" for b in raw)


def url(*parts: str) -> str:
    """A relative URL from raw path parts, each percent-encoded (a '/' inside a part too)."""
    return "/".join(map(quote, parts))  # a page links a dozen: no generator


def url_path(rel: str) -> str:
    """A relative URL from a '/'-separated path (an artifact's published name)."""
    return url(*rel.split("/"))


def history_name(page: int) -> str:
    """The file of a task's history page n (numbered from the oldest run)."""
    return f"page-{page}.html"


# Where things are, as path parts below OUT.


def task_parts(task: str) -> tuple[str, ...]:
    """A task's directory: its page, history pages, badge and feed, and its runs."""
    return (TASKS, task)


def run_parts(task: str, run_id: str) -> tuple[str, ...]:
    """A run's directory: its page, its logs and its artifacts (files/)."""
    return (TASKS, task, RUNS, run_id)


# Links, relative to OUT (a page prefixes the way up to OUT: base_of()).


def task_page(task: str) -> str:
    """The task's page."""
    return url(*task_parts(task), INDEX)


def history_page(task: str, page: int) -> str:
    """The task's history page n."""
    return url(*task_parts(task), history_name(page))


def badge(task: str) -> str:
    """The task's badge."""
    return url(*task_parts(task), BADGE)


def task_feed(task: str) -> str:
    """The task's Atom feed of failures and recoveries."""
    return url(*task_parts(task), FEED)


def run_dir(task: str, run_id: str) -> str:
    """The run's directory (served as its page): tasks/<task>/runs/<run_id>/."""
    return url(*run_parts(task, run_id)) + "/"


def run_page(task: str, run_id: str) -> str:
    """The run's page."""
    return run_dir(task, run_id) + INDEX


def in_run(name: str) -> str:
    """A log, relative to its run's page."""
    return quote(name)


def artifact(published: str) -> str:
    """An artifact, relative to its run's page, by its published name."""
    return f"{FILES}/{url_path(published)}"


def base_of(parts: tuple[str, ...]) -> str:
    """The way up from the file at `parts` (below OUT) to OUT: '', '../../', ..."""
    return "../" * (len(parts) - 1)


def absolute(site_url: str, rel: str) -> str:
    """A link relative to OUT made absolute with the site's public URL."""
    return f"{site_url.rstrip('/')}/{rel}"


def is_job_file(path: str) -> bool:
    """Whether a URL path (decoded) names a file a job wrote: a run's logs or artifacts."""
    parts = [p for p in path.split("/") if p]
    return (
        len(parts) >= 5
        and parts[0] == TASKS
        and parts[2] == RUNS
        and ((parts[4] == FILES and len(parts) > 5) or (len(parts) == 5 and parts[4] in LOGS))
    )
