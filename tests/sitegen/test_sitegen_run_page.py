"""The run page leads with what went wrong; durations read well at every scale; the chart."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from runwrap.store.layout import run_ids_in
from runwrap.units import count, format_duration
from sitegen.build.site import Site
from sitegen.render.chart import chart

from helpers.polling import wait_for
from helpers.serving import nginx_serving
from helpers.sites import runwrap, site_config, sitegen, start_runwrap, write_run


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "-"),
        (0, "0 ms"),
        (0.0004, "0 ms"),
        (0.045, "45 ms"),
        (0.9994, "999 ms"),
        (0.9996, "1 s"),
        (1.2, "1.2 s"),
        (9.96, "10 s"),
        (45.4, "45 s"),
        (59.6, "1 min"),
        (192, "3 min 12 s"),
        (3599.4, "59 min 59 s"),
        (3599.6, "1 h"),
        (7500, "2 h 5 min"),
        (7559, "2 h 6 min"),
        (86399, "1 d"),
        (3 * 86400 + 4 * 3600, "3 d 4 h"),
        (-5, "-5 s"),
        (float("nan"), "-"),
        (float("inf"), "-"),
    ],
)
def test_durations_read_well_at_every_scale(seconds, text):
    assert format_duration(seconds) == text


def test_counts_say_one_thing_or_many():
    assert [count(n, "run page") for n in (0, 1, 2)] == ["0 run pages", "1 run page", "2 run pages"]


# -- the run page, built from real runwrap runs ------------------------------------------

LOUD = (
    'for i in $(seq 1 200); do echo "copying file $i of 200"; done;'
    ' for i in $(seq 1 40); do echo "warning $i: retrying a slow read, and saying so at'
    ' some length so that a phone has to wrap this line" >&2; done;'
    " echo 'FATAL: disk full on /backup' >&2; exit 2"
)


@pytest.fixture(scope="module")
def site():
    """A site from real runs: a loud failure, a failure that only wrote stdout, successes.

    World-readable, for nginx's workers.
    """
    base = Path(tempfile.mkdtemp(prefix="sitegen-run-page-"))
    base.chmod(0o755)
    root, out = base / "root", base / "site"
    for script in ("echo ok", "sleep 0.2; echo ok", LOUD, "echo 'boom on stdout'; exit 1"):
        runwrap(root, "nightly", script)
    built = sitegen("--root", str(root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    ids = run_ids_in(str(root / "tasks" / "nightly" / "runs"))
    yield {"base": base, "root": root, "out": out, "ids": ids}
    shutil.rmtree(base, ignore_errors=True)


def run_page(site: dict, n: int) -> str:
    return (site["out"] / "tasks" / "nightly" / "runs" / site["ids"][n] / "index.html").read_text()


def main_of(page: str) -> str:
    return page[page.index("<main") : page.index("</main>")]


def test_a_failed_run_opens_with_its_reason_and_the_last_lines_of_stderr(site):
    main = main_of(run_page(site, 2))
    reason = main.index('<p class="reason callout">exited with status 2</p>')
    tail = main.index('id="log-tail"')
    assert main.index("</h1>") < reason < tail < main.index("<h2>Record</h2>")
    shown = main[tail : main.index("</pre>", tail)]
    assert shown.rstrip().endswith("FATAL: disk full on /backup")
    assert "warning 40:" in shown and "warning 1:" not in shown and "copying" not in shown
    # Among the logs, stderr comes first for a failure.
    assert main.index('<h2 id="stderr.log">') < main.index('<h2 id="stdout.log">')


def test_a_failure_that_wrote_only_stdout_opens_with_stdout(site):
    main = main_of(run_page(site, 3))
    tail = main.index('id="log-tail"')
    assert "Last lines of stdout.log" in main[:tail]
    assert "boom on stdout" in main[tail : main.index("</pre>", tail)]


def test_a_success_opens_with_its_record_not_a_tail(site):
    main = main_of(run_page(site, 0))
    assert 'id="log-tail"' not in main and "callout" not in main
    assert main.index('<h2 id="stdout.log">') < main.index('<h2 id="stderr.log">')


def test_the_record_shows_what_has_a_value_and_folds_the_rest(site):
    main = main_of(run_page(site, 2))
    record = main[main.index("<h2>Record</h2>") : main.index("<details")]
    folded = main[main.index("<details") : main.index("</details>")]
    for shown in ("Exit code</dt><dd>2<", "Duration</dt><dd>", "Command", "Stderr size"):
        assert shown in record
    for label in ("Signal", "PID", "Process group", "Owner", "Schema", "Timeout"):
        assert label not in record and label in folded
    assert "<dd>-</dd>" not in main  # no field is shown empty
    assert "No value: Signal, " in folded


def test_durations_on_the_pages_read_as_durations(site):
    for n in range(4):
        duration = re.search(r"Duration</dt><dd>([^<]*)<", run_page(site, n))[1]
        assert re.fullmatch(r"\d+ ms|\d+(\.\d)? s", duration), duration
    task = (site["out"] / "tasks" / "nightly" / "index.html").read_text()
    assert "0.0s" not in task and re.search(r'<td class="dur">\d+ ms</td>', task)


def test_the_chart_has_a_readable_scale_and_links_each_bar_to_its_run(site):
    page = site["out"] / "tasks" / "nightly" / "index.html"
    html = page.read_text()
    figure = html[html.index('<figure class="chart">') : html.index("</figure>")]
    assert re.search(r'<svg class="durations" width="100%"', figure)
    assert re.search(r'<svg viewBox="0 0 \d+ \d+" preserveAspectRatio="none" width="100%"', figure)
    labels = re.findall(r'<text class="tick"[^>]*>([^<]*)</text>', figure)
    assert labels and all(re.fullmatch(r"\d+ ms|\d+(\.\d)? s", label) for label in labels)
    links = re.findall(r'<a href="([^"]+)"><title>([^<]*)</title>', figure)
    assert len(links) == 4
    for (href, title), run_id in zip(links, site["ids"]):
        assert (page.parent / href).resolve() == (
            site["out"] / "tasks" / "nightly" / "runs" / run_id / "index.html"
        ).resolve()
        assert title.startswith(f"{run_id}: ")
    assert figure.count('<text class="mark"') == 2  # the two failures


def test_the_scale_is_round_durations_covering_the_longest_run():
    runs = [{"id": f"r{i}", "status": "success", "duration": d} for i, d in enumerate((40, 95))]
    drawn = chart(runs)
    assert [t["label"] for t in drawn["ticks"]] == ["30 s", "1 min", "1 min 30 s", "2 min"]
    tallest = drawn["bars"][1]
    assert 0 < tallest["y"] < drawn["ticks"][-2]["y"]  # 95 s is above the 1 min 30 s line


def test_counts_and_the_pager_read_naturally(run_root, out):
    write_run(run_root, "once", 1)
    Site(site_config(run_root, out)).update()
    html = (out / "tasks" / "once" / "index.html").read_text()
    assert "1 run kept." in html and "1 runs" not in html
    assert "(the latest), newest runs first" in html and "numbered from" not in html
    dashboard = (out / "index.html").read_text()
    assert "<strong>1</strong> task:" in dashboard and "1 tasks" not in dashboard


# -- a running run ------------------------------------------------------------------------


def test_a_running_run_shows_elapsed_time_log_sizes_and_one_liveness_word(run_root, out):
    job = start_runwrap(run_root, "live", "echo hello; echo oops >&2; sleep 60")
    try:
        runs = run_root / "tasks" / "live" / "runs"

        def logs_written() -> bool:
            ids = run_ids_in(str(runs)) if runs.is_dir() else []
            return bool(ids) and all(
                (runs / ids[0] / name).exists() and (runs / ids[0] / name).stat().st_size > 0
                for name in ("stdout.log", "stderr.log")
            )

        wait_for(logs_written, what="the job's output")
        run_id = run_ids_in(str(runs))[0]
        manifest = json.loads((runs / run_id / "manifest.json").read_text())
        assert manifest["status"] == "running" and manifest["stdout_bytes"] is None
        Site(site_config(run_root, out)).update()
        main = main_of((out / "tasks" / "live" / "runs" / run_id / "index.html").read_text())
    finally:
        job.terminate()
        job.wait(timeout=30)
    assert re.search(r'id="live-elapsed" data-started="' + re.escape(manifest["started_at"]), main)
    elapsed = re.search(r'id="live-elapsed"[^>]*>([^<]*)<', main)[1]
    assert re.fullmatch(r"\d+ ms|\d+(\.\d)? s", elapsed), elapsed
    assert 'data-run-json="../../../../status.json"' in main
    assert '<span id="live-stdout-size" data-bytes="6">6 B</span>' in main
    assert '<span id="live-stderr-size" data-bytes="5">5 B</span>' in main
    assert "Stdout size</dt><dd>6 B<" in main and "Duration" not in main.split("<details")[0]
    assert '<progress id="live-progress" max="100" hidden>' in main
    text = re.sub(r"<[^>]+>", " ", main)
    assert len(re.findall(r"\brunning\b", text)) == 1, text  # the heading's status only


# -- in a browser, at a desk and on a phone -------------------------------------------------


@pytest.fixture(scope="module")
def site_url(site):
    with nginx_serving(site["out"], site["base"] / "nginx") as url:
        yield url


@pytest.mark.parametrize(("width", "height"), [(1400, 1000), (400, 900)])
def test_the_stderr_tail_is_in_the_first_screenful(
    site, site_url, browser, artifacts_dir, width, height
):
    browser.set_window_size(width, height)
    try:
        url = f"{site_url}tasks/nightly/runs/{site['ids'][2]}/index.html"
        browser.get(url)
        inner = browser.execute_script("return [innerWidth, innerHeight]")
        if inner != [width, height]:  # a window's frame, if any, is not the page's
            browser.set_window_size(2 * width - inner[0], 2 * height - inner[1])
            browser.get(url)
        view = browser.execute_script("return innerHeight")
        reason = browser.find_element("css selector", "p.reason").rect
        box = browser.find_element("css selector", ".tail-box").rect
        text = browser.find_element("id", "log-tail").rect
        assert reason["y"] + reason["height"] <= box["y"]
        assert box["y"] >= 0 and box["y"] + box["height"] <= view, (box, view)
        # The box opens scrolled to its end: the last line, not the first, is what shows.
        assert abs((text["y"] + text["height"]) - (box["y"] + box["height"])) <= 2, (text, box)
        assert browser.execute_script(
            "return scrollY === 0 && document.documentElement.scrollWidth <= innerWidth"
        )
        browser.save_screenshot(str(artifacts_dir / f"run-failed-{width}x{height}.png"))
    finally:
        browser.set_window_size(1280, 900)
