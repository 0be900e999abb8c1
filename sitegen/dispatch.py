"""What a sitegen command does, in one function: build once, then serve OUT, watch ROOT, or both,
until stopped."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from runwrap.units import count
from sitegen import logs
from sitegen.build.site import Progress, Site, Stopped
from sitegen.config import SiteConfig

log = logs.getLogger(__name__)


def run(
    cfg: SiteConfig,
    full: bool = False,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> Site | None:
    """Build OUT once; with cfg.serve serve it, with cfg.watch keep it up to date until stopped."""
    stop = stop or threading.Event()
    if cfg.watch and not _root_appeared(cfg.root, stop):
        return None
    site = Site(cfg, stop)
    try:
        stats = site.update(full=full, progress=progress)
    except Stopped:
        log.info("stopped before the build was complete")
        return site
    log.info(
        "%s build: %s, %s, %s in %.2f s",
        "full" if stats.full else "incremental",
        count(stats.tasks, "task"),
        count(stats.run_pages, "run page"),
        count(stats.history_pages, "history page"),
        stats.seconds,
    )
    if not cfg.watch:
        from sitegen.live import watchbeat

        watchbeat.built_once(cfg.out, site.scratch)  # OUT/watch.json: no watch expected
    if not cfg.watch and cfg.serve is None:
        return site
    server = None
    if cfg.serve is not None:
        from sitegen.live.serve import start_server

        server, url = start_server(cfg.out, *cfg.serve)
        if announce is not None:
            announce(url)
    try:
        if cfg.watch:
            from sitegen.live import watchbeat
            from sitegen.live.watch import watch

            watchbeat.start(cfg.out, site.scratch, stop)  # OUT/watch.json: the stale banner's
            watch(site, stop)
        else:
            while not stop.wait(0.5):
                pass
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()  # shutdown() stops the loop; this frees the port
    return site


def _root_appeared(root: str, stop: threading.Event) -> bool:
    """Wait until ROOT exists (True), or until stopped (False); say so once.

    On a fresh machine `sitegen --watch` starts at boot, before cron's first
    tick: runwrap makes ROOT on its first run. Waiting is better than exiting
    (the systemd unit would restart it in a loop) or making ROOT ourselves
    (with sitegen's owner and mode, not those runwrap's user needs). A stat a
    second costs nothing; watching the nearest existing parent would add a
    second watcher for a wait that ends once.
    """
    if os.path.isdir(root):
        return True
    log.warning(
        "run root %s does not exist yet: waiting for it (runwrap makes it on its first run)", root
    )
    while not stop.wait(1.0):
        if os.path.isdir(root):
            log.warning("run root %s appeared: building the site", root)
            return True
    return False
