"""History pages after an update: a page is written again only when its rows, their
`clock?` marks or its links changed (writer.render_history), and then the site is
what a full build makes."""

from __future__ import annotations

import shutil

from runwrap.store.layout import run_dir
from sitegen.build.site import Site

from helpers.sites import site_config, snapshot, write_run


def test_a_run_removed_clears_the_clock_marks_of_runs_on_other_pages(run_root, out, tmp_path):
    # The first run's clock was far ahead: every later run started "before" it.
    ahead = write_run(run_root, "job", 500, seq=1)
    for n in range(1, 7):
        write_run(run_root, "job", n, seq=n + 1)
    site = Site(site_config(run_root, out, page_size=2))
    site.update()
    assert "clock?" in (out / "tasks" / "job" / "page-3.html").read_text()
    shutil.rmtree(run_dir(str(run_root), "job", ahead))  # retention, say
    write_run(run_root, "job", 7, seq=8)
    site.update()
    full = tmp_path / "full"
    Site(site_config(run_root, full, page_size=2)).update()
    assert snapshot(out) == snapshot(full)
    assert "clock?" not in (out / "tasks" / "job" / "page-3.html").read_text()


def test_a_new_run_rewrites_the_newest_page_only(run_root, out):
    for n in range(9):
        write_run(run_root, "job", n, seq=n + 1)
    site = Site(site_config(run_root, out, page_size=4))
    site.update()
    write_run(run_root, "job", 9, seq=10)  # on page 3, with run 9
    stats = site.update()
    assert stats.history_pages == 1
