"""Accessibility (issue 11): axe-core, run in headless Chromium on pages the real sitegen built
from real runwrap runs and the real nginx serves, finds nothing serious or critical on the
dashboard (desktop and phone), a task page, a failed run's page and a running run's page, in
the light and the dark colour scheme.

axe-core is the npm package at the version the Makefile pins, installed into the venv by
`make test` (PyPI's copies are years old, and axe 4.4 cannot read the colours color-mix()
gives). Every violation, of any impact, is written to test-artifacts/sitegen/axe/ beside a
screenshot; only serious and critical ones fail a test, and so does a rule that could not run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urljoin

import pytest

from runwrap.store import siteurls

from helpers.clock import LIBFAKETIME, shifted
from helpers.polling import wait_for
from helpers.runs import BIN
from helpers.serving import nginx_serving
from helpers.sites import ENV, runwrap, sitegen, start_runwrap, write_run

AXE_JS = Path(sys.prefix) / "npm" / "node_modules" / "axe-core" / "axe.min.js"
FAILING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_js() -> str:
    if not AXE_JS.is_file():
        pytest.fail(f"no axe-core at {AXE_JS}: `make test` installs it (npm)")
    return AXE_JS.read_text("utf-8")


@pytest.fixture(scope="module")
def site():
    """A site with every kind of row the pages draw: successes with labels and feedback, a
    failure with stderr, a job left running (until the module ends), and older runs of every
    finished status (timed out, killed, lost, skipped) for the strips, calendars and timeline,
    and a task that is late; every page with the stale banner."""
    base = Path(tempfile.mkdtemp(prefix="sitegen-a11y-"))
    base.chmod(0o755)
    root, out, gate = base / "root", base / "site", base / "gate"
    (root / "tasks").mkdir(parents=True)
    gate.mkdir()
    ok = "echo saved; echo '[progress]100' >> $RUNWRAP_FEEDBACK; echo '[info]all done' >> $RUNWRAP_FEEDBACK"
    assert runwrap(root, "backup", ok, "-l", "env=prod").returncode == 0
    assert runwrap(root, "report", "echo partial; echo 'disk full' >&2; exit 2").returncode == 2
    for n, status in enumerate(("success", "timeout", "killed", "lost", "skipped", "failed")):
        write_run(root, "history", n * 600, status)
    if LIBFAKETIME:  # a task late for a day (the state's colours, its banner)
        late = ["--root", str(root), "-n", "sync", "--schedule", "*/5 * * * *", "--", "true"]
        ran = subprocess.run([str(BIN / "runwrap"), *late], env=shifted(ENV, "-1d"), timeout=60)
        assert ran.returncode == 0
    script = (
        "echo started; echo '[progress]40' >> \"$RUNWRAP_FEEDBACK\";"
        f" while [ ! -e {gate}/done ]; do sleep 0.05; done"
    )
    job = start_runwrap(root, "etl", script, "-l", "env=prod")
    try:
        running = root / "tasks" / "etl" / "runs"
        wait_for(lambda: _running_with_progress(running), what="the running job's progress")
        built = sitegen("--root", str(root), "--out", str(out))
        assert built.returncode == 0, built.stderr
        status = json.loads((out / siteurls.STATUS).read_text())
        # The heartbeat a `sitegen --watch` leaves when it stops: every page shows the stale
        # banner (test_sitegen_dashboard_views.py stops a real watch for it).
        stopped = {"watching": True, "alive_at": status["generated_at"], "every_s": 60}
        (out / "watch.json").write_text(json.dumps({**stopped, "stopped_at": stopped["alive_at"]}))
        with nginx_serving(out, base / "nginx") as url:
            yield {
                "dashboard": url,
                "task": urljoin(url, siteurls.task_page("report")),
                "failed run": urljoin(url, status["tasks"]["report"]["last_run"]["url"]),
                # A running run is not the task's last (finished) run: status.json's `live`.
                "running run": urljoin(
                    url, siteurls.run_page("etl", status["tasks"]["etl"]["live"]["run_id"])
                ),
            }
    finally:
        (gate / "done").touch()
        job.wait(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


def _running_with_progress(runs: Path) -> bool:
    for manifest in runs.glob("*/manifest.json") if runs.is_dir() else ():
        try:
            data = json.loads(manifest.read_text())
        except (OSError, ValueError):
            continue
        if data.get("status") == "running" and data.get("feedback", {}).get("progress"):
            return True
    return False


def _open(browser, url: str) -> None:
    """Load a page and wait for app.js to have finished with it: axe must see what a reader
    sees (the dashboard's filters are shown by the script, the stale banner too)."""
    browser.get(url)
    wait_for(
        lambda: browser.execute_script("return document.getElementById('stale').dataset.checked"),
        what="the page's script to look at watch.json",
    )
    assert browser.execute_script("return !document.getElementById('stale').hidden")
    if url.endswith("/"):
        wait_for(
            lambda: browser.execute_script("return !document.getElementById('filters').hidden"),
            what="the dashboard's script",
        )


def _axe(browser, axe_js: str) -> dict:
    """axe-core's results for the page loaded. WebDriver's scripts run outside the page's CSP
    (script-src 'self' forbids inline script), so the page itself is checked as served."""
    browser.execute_script(axe_js)
    return browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations', 'incomplete']})"
        ".then(r => done(r), e => done({error: String(e)}))"
    )


def _lines(violations: list[dict]) -> list[str]:
    """One line per violation: its rule, impact and help, and the nodes it was found on."""
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:8])
        + (f" and {len(v['nodes']) - 8} more" if len(v["nodes"]) > 8 else "")
        for v in violations
    ]


def _check(browser, axe_js: str, name: str, artifacts_dir: Path) -> None:
    results = _axe(browser, axe_js)
    assert "error" not in results, results
    # A rule that threw (axe 4.4 on a color-mix() colour) is "incomplete", not a pass.
    broken = [
        f"{r['id']}: {r['error'].get('message')}" for r in results["incomplete"] if r.get("error")
    ]
    assert not broken, f"{name}: rules that could not run: {broken}"
    assert results["passes"], results  # it checked something (resultTypes trims passes' nodes)
    violations = results["violations"]
    folder = artifacts_dir / "axe"
    folder.mkdir(exist_ok=True)
    browser.save_screenshot(str(folder / f"{name}.png"))  # what was checked, for a look
    review = [r for r in results["incomplete"] if r["nodes"]]  # what axe could not decide
    (folder / f"{name}.json").write_text(
        json.dumps({"violations": violations, "needs review": review}, indent=1)
    )
    failing = [v for v in violations if v["impact"] in FAILING]
    assert not failing, f"{name}:\n" + "\n".join(_lines(failing))


@pytest.fixture
def scheme(browser, request):
    """The colour scheme Chromium reports to the page (prefers-color-scheme), reset after."""
    value = request.param
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": value}]},
    )
    yield value
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    browser.set_window_size(1280, 900)


@pytest.mark.parametrize("scheme", ["light", "dark"], indirect=True)
@pytest.mark.parametrize("page", ["dashboard", "task", "failed run", "running run"])
def test_axe_finds_nothing_serious_or_critical(site, browser, axe_js, scheme, page, artifacts_dir):
    browser.set_window_size(1280, 900)
    _open(browser, site[page])
    dark = browser.execute_script("return matchMedia('(prefers-color-scheme: dark)').matches")
    assert dark == (scheme == "dark")
    _check(browser, axe_js, f"{page.replace(' ', '-')}-{scheme}", artifacts_dir)


@pytest.mark.parametrize("scheme", ["light", "dark"], indirect=True)
def test_axe_finds_nothing_serious_or_critical_on_a_phone(
    site, browser, axe_js, scheme, artifacts_dir
):
    browser.set_window_size(400, 900)
    _open(browser, site["dashboard"])
    assert browser.execute_script("return innerWidth") <= 400
    _check(browser, axe_js, f"dashboard-phone-{scheme}", artifacts_dir)


def test_the_check_sees_what_it_must_fail_on(site, browser, axe_js):
    """Planted faults are found, under the page's CSP: an unlabelled control, faint text,
    an image without a text alternative."""
    browser.set_window_size(1280, 900)
    _open(browser, site["dashboard"])
    browser.execute_script(
        "const m = document.getElementById('main');"
        "m.insertAdjacentHTML('beforeend', '<input type=text id=planted-input>"
        "<p id=planted-faint>faint</p><img id=planted-img src=static/favicon.svg>');"
        # Through the CSSOM: the CSP forbids style attributes in markup.
        "document.getElementById('planted-faint').style.color = '#ccc';"
    )
    found = {
        v["id"]: [" ".join(n["target"]) for n in v["nodes"]]
        for v in _axe(browser, axe_js)["violations"]
        if v["impact"] in FAILING
    }
    assert "#planted-input" in found.get("label", []), found
    assert "#planted-faint" in found.get("color-contrast", []), found
    assert "#planted-img" in found.get("image-alt", []), found
