"""Building the site from run directories written per the contract."""

from __future__ import annotations

import json
import os
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sitegen.build.site import Site

from helpers.sites import crawl, site_config, snapshot, write_run


# The fixtures (run_root, out, ...) come from one plugin module, for every sitegen test.
def build(run_root: Path, out: Path, **kw: object) -> Site:
    site = Site(site_config(run_root, out, **kw))
    site.update()
    return site


def test_dashboard_shows_every_task_failing_first_with_text_status(run_root, out):
    write_run(run_root, "alpha", 1, "success")
    write_run(run_root, "zulu", 1, "failed", reason="exited with 3")
    write_run(run_root, "mike", 1, "running", feedback={"progress": "42", "info": "copying"})
    build(run_root, out)
    html = (out / "index.html").read_text()
    assert html.index("zulu") < html.index("mike") < html.index("alpha")
    assert "failing" in html and "✗" in html
    assert '<progress max="100" value="42">' in html and "copying" in html
    assert "3</strong> tasks" in html
    assert 'http-equiv="refresh"' in html


def test_run_page_shows_fields_logs_artifacts_and_report(run_root, out):
    rid = write_run(
        run_root,
        "job",
        1,
        "failed",
        stdout=b"x" * 70_000 + b"\nlast line\n",
        stderr=b"oops\n",
        feedback={"progress": "100", "status": "done"},
        labels={"info1": "nightly"},
        files={
            "report.md": b"# Totals\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
            "out/data.csv": b"1,2\n",
        },
        reason="exited with status 1",
    )
    build(run_root, out)
    run = out / "tasks" / "job" / "runs" / rid
    html = (run / "index.html").read_text()
    for text in ("exited with status 1", "nightly", "done", "last line", "oops", "Exit code"):
        assert text in html
    assert "last 64.0 KiB shown" in html
    assert '<a href="stdout.log">whole file</a>' in html
    assert (run / "stdout.log").read_bytes().endswith(b"last line\n")
    assert (run / "files" / "out" / "data.csv").read_bytes() == b"1,2\n"
    assert "<table>" in html and "<h1>Totals</h1>" in html


def test_logs_are_published_as_hard_links_not_copies(run_root, out):
    rid = write_run(run_root, "job", 1, stdout=b"big\n" * 1000)
    build(run_root, out)
    src = run_root / "tasks" / "job" / "runs" / rid / "stdout.log"
    dest = out / "tasks" / "job" / "runs" / rid / "stdout.log"
    assert os.stat(src).st_ino == os.stat(dest).st_ino


def test_a_link_left_half_done_by_a_crashed_build_does_not_block_the_next(run_root, out):
    rid = write_run(run_root, "job", 1, stdout=b"first\n")
    build(run_root, out)
    src = run_root / "tasks" / "job" / "runs" / rid / "stdout.log"
    dest = out / "tasks" / "job" / "runs" / rid / "stdout.log"
    (src.parent / "new.log").write_bytes(b"second\n")
    os.replace(src.parent / "new.log", src)  # a new file: the published link must follow
    stale = Path(f"{dest}.{os.getpid()}.lnk")
    stale.write_bytes(b"left by a crash")
    Site(site_config(run_root, out)).update(full=True)
    assert os.stat(dest).st_ino == os.stat(src).st_ino
    assert not stale.exists()


def test_copy_mode_copies_files(run_root, out):
    rid = write_run(run_root, "job", 1, stdout=b"data\n")
    build(run_root, out, publish="copy")
    dest = out / "tasks" / "job" / "runs" / rid / "stdout.log"
    assert dest.read_bytes() == b"data\n"
    assert (
        os.stat(dest).st_ino
        != os.stat(run_root / "tasks" / "job" / "runs" / rid / "stdout.log").st_ino
    )


def test_symlinks_in_a_run_directory_are_never_followed(run_root, out, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    rid = write_run(run_root, "job", 1, files={"ok.txt": b"fine"})
    run = run_root / "tasks" / "job" / "runs" / rid
    (run / "stdout.log").unlink()
    (run / "stdout.log").symlink_to(secret)
    (run / "leak.txt").symlink_to(secret)
    (run / "report.md").symlink_to(secret)
    (run / "dir").symlink_to(tmp_path)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["artifacts"] = [
        {"name": "ok.txt", "size": 4},
        {"name": "leak.txt", "size": 10},
        {"name": "dir/secret.txt", "size": 10},
        {"name": "../../../../secret.txt", "size": 10},
        {"name": "/etc/passwd", "size": 10},
    ]
    (run / "manifest.json").write_text(json.dumps(manifest))
    build(run_root, out)
    for path in out.rglob("*"):
        if path.is_file():
            assert b"TOP SECRET" not in path.read_bytes(), path
        assert not path.is_symlink(), path
    page = (out / "tasks" / "job" / "runs" / rid / "index.html").read_text()
    assert '<a href="files/ok.txt">ok.txt</a>' in page
    assert "not published" in page


def test_symlinked_run_and_task_directories_are_ignored(run_root, out, tmp_path):
    write_run(run_root, "job", 1)
    elsewhere = tmp_path / "elsewhere"
    write_run(elsewhere, "hidden", 1)
    os.symlink(elsewhere / "tasks" / "hidden", run_root / "tasks" / "hidden")
    hidden_run = next((elsewhere / "tasks" / "hidden" / "runs").iterdir())
    os.symlink(hidden_run, run_root / "tasks" / "job" / "runs" / "20991231T000000.000Z-dead")
    build(run_root, out)
    assert not (out / "tasks" / "hidden").exists()
    assert not (out / "tasks" / "job" / "runs" / "20991231T000000.000Z-dead").exists()


def test_history_pages_are_numbered_from_the_oldest_and_old_pages_never_change(run_root, out):
    for n in range(7):
        write_run(run_root, "job", n)
    site = Site(site_config(run_root, out, page_size=3))
    site.update()
    task = out / "tasks" / "job"
    assert sorted(p.name for p in task.glob("page-*.html")) == [
        "page-1.html",
        "page-2.html",
        "page-3.html",
    ]
    page1 = (task / "page-1.html").read_bytes()
    page2 = (task / "page-2.html").read_bytes()
    for n in range(7, 10):
        write_run(run_root, "job", n)
        site.update()
    assert (task / "page-1.html").read_bytes() == page1
    assert (task / "page-2.html").read_bytes() == page2
    assert (task / "page-4.html").exists()


def test_a_new_history_page_leaves_the_full_ones_alone(run_root, out, tmp_path):
    for n in range(7):
        write_run(run_root, "job", n)
    site = Site(site_config(run_root, out, page_size=3))
    site.update()
    task = out / "tasks" / "job"
    page1 = (task / "page-1.html").read_bytes()
    for n in range(7, 14):  # pages 3 and 4 fill up, page 5 begins
        write_run(run_root, "job", n)
        site.update()
    assert (task / "page-1.html").read_bytes() == page1
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh, page_size=3)).update()
    assert snapshot(out) == snapshot(fresh)


def test_numbered_runs_keep_their_history_page_when_old_runs_are_pruned(run_root, out, tmp_path):
    ids = [write_run(run_root, "job", n, seq=n + 1) for n in range(10)]
    site = Site(site_config(run_root, out, page_size=3))
    site.update()
    task = out / "tasks" / "job"
    page3 = (task / "page-3.html").read_bytes()
    # Retention: each new run removes the oldest one.
    for n in range(10, 13):
        write_run(run_root, "job", n, seq=n + 1)
        shutil.rmtree(run_root / "tasks" / "job" / "runs" / ids[n - 10])
        site.update()
    assert not (task / "page-1.html").exists()  # runs 1 to 3 are gone
    assert (task / "page-3.html").read_bytes() == page3  # runs 7 to 9 never moved
    assert sorted(p.name for p in task.glob("page-*.html")) == [
        "page-2.html",
        "page-3.html",
        "page-4.html",
        "page-5.html",
    ]
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh, page_size=3)).update()
    assert snapshot(out) == snapshot(fresh)


def test_a_run_directory_without_a_manifest_keeps_no_rescan_going_and_shows_once_mended(
    run_root, out
):
    write_run(run_root, "job", 1)
    run_id = write_run(run_root, "job", 2)
    manifest = run_root / "tasks" / "job" / "runs" / run_id / "manifest.json"
    whole = manifest.read_bytes()
    manifest.unlink()  # not runwrap's doing (a run is born with its manifest): someone else's
    site = build(run_root, out)
    assert not site.busy()  # nothing runs: no short rescans
    assert not (out / "tasks" / "job" / "runs" / run_id).exists()
    manifest.write_bytes(whole)
    site.update()  # no file event needed
    assert (out / "tasks" / "job" / "runs" / run_id / "index.html").exists()


def _open_marker(run_root: Path, task: str, run_id: str) -> Path:
    """The marker runwrap keeps while it records a run (tasks/<task>/open/<run_id>)."""
    marker = run_root / "tasks" / task / "open" / run_id
    marker.parent.mkdir(exist_ok=True)
    marker.write_text(json.dumps({"owner": None}))
    return marker


def test_notifications_that_come_after_the_final_manifest_reach_the_run_page(run_root, out):
    run_id = write_run(run_root, "job", 1, "failed")
    marker = _open_marker(run_root, "job", run_id)  # runwrap still recording the run
    site = build(run_root, out)
    assert not site.busy()  # a finished run keeps no short rescans going, recorded or not
    page = out / "tasks" / "job" / "runs" / run_id / "index.html"
    assert "Notifications" not in page.read_text()
    attempts = [
        {"notifier": "mail", "type": "email", "event": "failure", "run_id": run_id,
         "ok": False, "error": "[Errno 111] Connection refused", "at": "2026-11-22T04:35:41.402Z"},
        {"notifier": "hook", "type": "webhook", "event": "failure",
         "run_id": "20261121T043500.012Z-3f9a", "ok": True, "error": None,
         "at": "2026-11-22T04:35:41.503Z"},
    ]  # fmt: skip
    notifications = run_root / "tasks" / "job" / "runs" / run_id / "notifications.json"
    notifications.write_text(json.dumps(attempts))
    site.update()  # no file event needed either
    html = page.read_text()
    assert "Notifications" in html and "Connection refused" in html
    assert "hook" in html and "20261121T043500.012Z-3f9a" in html
    assert "notifications.json" not in html  # runwrap's file, not an artifact
    marker.unlink()  # recorded: the run is final for good, never read again
    site.update()
    notifications.write_text(json.dumps(attempts[:1]))  # (runwrap never does this)
    site.update()
    assert "hook" in page.read_text()


def test_a_final_recorded_run_is_never_read_again(run_root, out, caplog):
    run_id = write_run(run_root, "job", 1)
    site = build(run_root, out)
    manifest = run_root / "tasks" / "job" / "runs" / run_id / "manifest.json"
    manifest.write_text("{not json")  # a final manifest is never rewritten: not looked at
    site.update()
    site.update()
    assert "unreadable" not in caplog.text
    assert (out / "tasks" / "job" / "runs" / run_id / "index.html").exists()


def test_untrusted_text_is_escaped_everywhere(run_root, out):
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    rid = write_run(
        run_root,
        "evil<b>",
        1,
        "failed",
        stdout=payload.encode(),
        feedback={"info": payload, "progress": payload},
        labels={payload: payload},
        files={"x<script>.txt": b"a", "report.md": payload.encode()},
        reason=payload,
    )
    build(run_root, out)
    for path in out.rglob("*.html"):
        text = path.read_text()
        assert "<script>alert" not in text, path
        assert "<img src=x" not in text, path
    page = out / "tasks" / "evil<b>" / "runs" / rid / "index.html"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.read_text()


def test_markdown_keeps_no_raw_html_and_no_script_links():
    from sitegen.render.templating import render_markdown

    html = render_markdown(
        "<div onclick=x>hi</div>\n\n[a](javascript:alert(1)) [b](https://ok.example/) "
        "<span>inline</span> ![i](data:text/html,x)"
    )
    assert "<div" not in html and "<span>" not in html
    assert "javascript:" not in html and "data:" not in html
    assert 'href="https://ok.example/"' in html


@pytest.mark.parametrize(
    "link",
    [
        "[a](&#106;avascript:alert(1))",
        "[a](javascript&#58;alert(1))",
        "[a](java&#x73;cript:alert(1))",
        "[a](java&Tab;script:alert(1))",
        "![i](&#100;ata:text/html,x)",
    ],
)
def test_markdown_links_hidden_behind_entities_are_dropped(link):
    from sitegen.render.templating import render_markdown

    html = render_markdown(link)
    assert "href=" not in html and "src=" not in html, html


def test_markdown_with_a_malformed_url_still_renders():
    from sitegen.render.templating import render_markdown

    html = render_markdown("[a](http://[oops/) and [b](https://ok.example/)")
    assert 'href="https://ok.example/"' in html


def test_task_names_are_percent_encoded_in_links(run_root, out):
    for name in ("a b", "100%", "q?x#y", "ünï"):
        write_run(run_root, name, 1)
    build(run_root, out)
    html = (out / "index.html").read_text()
    assert 'href="tasks/a%20b/index.html"' in html
    assert 'href="tasks/100%25/index.html"' in html
    assert 'href="tasks/q%3Fx%23y/index.html"' in html
    _, broken = crawl(out)
    assert broken == []


def test_every_link_and_asset_resolves(run_root, out):
    for n in range(60):
        write_run(
            run_root, "many", n, "failed" if n % 5 == 0 else "success", files={"a/b.txt": b"x"}
        )
    write_run(run_root, "running", 1, "running", feedback={"progress": "10"})
    write_run(run_root, "skipper", 1, "skipped")
    build(run_root, out)
    reached, broken = crawl(out)
    assert broken == []
    names = {p.name for p in reached}
    assert {"style.css", "app.js", "badge.svg", "stdout.log", "b.txt", "page-1.html"} <= names


def test_machine_readable_files(run_root, out):
    write_run(run_root, "job", 1, "success")
    write_run(run_root, "job", 2, "failed", reason="boom")
    write_run(run_root, "job", 3, "success")
    build(run_root, out, site_url="https://jobs.example/")
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["job"]["state"] == "ok"
    assert status["tasks"]["job"]["runs"] == 3
    assert status["tasks"]["job"]["last_run"]["url"].startswith("tasks/job/runs/")
    ET.fromstring((out / "tasks" / "job" / "badge.svg").read_bytes())
    feed = ET.fromstring((out / "feed.atom").read_bytes())
    titles = [e.text for e in feed.iter("{http://www.w3.org/2005/Atom}title")]
    assert any("recovered" in t for t in titles) and any("failing" in t for t in titles)
    links = [e.get("href") for e in feed.iter("{http://www.w3.org/2005/Atom}link")]
    assert all(link.startswith("https://jobs.example/") for link in links)


def test_a_malformed_manifest_is_skipped_then_picked_up_when_whole(run_root, out, caplog):
    write_run(run_root, "job", 1)
    rid = write_run(run_root, "job", 2, "failed")
    manifest = run_root / "tasks" / "job" / "runs" / rid / "manifest.json"
    good = manifest.read_bytes()
    manifest.write_bytes(good[: len(good) // 2])
    site = build(run_root, out)
    assert caplog.text.count("manifest is unreadable") == 1
    assert not (out / "tasks" / "job" / "runs" / rid / "index.html").exists()
    site.update()
    site.update()
    assert caplog.text.count("manifest is unreadable") == 1  # warned once, not every update
    manifest.write_bytes(good)
    site.update()
    assert (out / "tasks" / "job" / "runs" / rid / "index.html").exists()


def test_wrong_types_in_a_manifest_make_it_unreadable_and_the_rest_builds(run_root, out):
    write_run(run_root, "job", 0)
    rid = write_run(run_root, "job", 1)
    path = run_root / "tasks" / "job" / "runs" / rid / "manifest.json"
    weird = {
        "status": ["x"],
        "started_at": 5,
        "duration_s": "long",
        "feedback": "nope",
        "labels": [1],
        "artifacts": {"a": 1},
        "command": "not a list",
        "exit_code": "zero",
        "attempts": [1, {"a": None}],
    }
    path.write_text(json.dumps(weird))
    build(run_root, out)
    assert not (out / "tasks" / "job" / "runs" / rid).exists()
    assert json.loads((out / "status.json").read_text())["tasks"]["job"]["runs"] == 1
    _, broken = crawl(out)
    assert broken == []


def test_full_build_equals_any_sequence_of_incremental_updates(run_root, out, tmp_path):
    site = Site(site_config(run_root, out, page_size=4))
    site.update()
    ids = []
    for n in range(6):
        ids.append(write_run(run_root, "a", n, "failed" if n == 2 else "success"))
        site.update()
    running = write_run(run_root, "b", 1, "running", feedback={"progress": "5"})
    site.update()
    write_run(run_root, "b", 1, "running", feedback={"progress": "60"})
    site.update()
    write_run(run_root, "b", 1, "success")
    site.update()
    # Retention prunes the oldest runs; a task disappears; a new one appears.
    shutil.rmtree(run_root / "tasks" / "a" / "runs" / ids[0])
    shutil.rmtree(run_root / "tasks" / "a" / "runs" / ids[1])
    site.update()
    write_run(run_root, "c", 1, "timeout")
    site.update()
    shutil.rmtree(run_root / "tasks" / "c")
    site.update()
    # A second process picks up from the cache on disk.
    Site(site_config(run_root, out, page_size=4)).update()
    fresh = tmp_path / "fresh"
    Site(site_config(run_root, fresh, page_size=4)).update()
    assert snapshot(out) == snapshot(fresh)
    assert running in "".join(snapshot(out))


def test_a_missing_or_stale_cache_rebuilds_the_same_site(run_root, out, tmp_path):
    for n in range(5):
        write_run(run_root, "job", n)
    build(run_root, out)
    before = snapshot(out)
    shutil.rmtree(out / ".sitegen")
    build(run_root, out)
    assert snapshot(out) == before
    (out / ".sitegen" / "summary.pack").write_text("{not json")
    (out / "tasks" / "job" / "junk.html").write_text("stale")
    (out / "tasks" / "ghost").mkdir()
    build(run_root, out)
    assert snapshot(out) == {**before, "tasks/job/junk.html": b"stale"}
    assert not (out / "tasks" / "ghost").exists()


def test_a_user_theme_overrides_single_templates(run_root, out, tmp_path):
    theme = tmp_path / "mytheme"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "templates" / "dashboard.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>MY DASHBOARD {{ totals.tasks }}</h1>'
        "{% endblock %}"
    )
    (theme / "static" / "extra.css").write_text("body{}")
    write_run(run_root, "job", 1)
    build(run_root, out, theme=str(theme))
    assert "MY DASHBOARD 1" in (out / "index.html").read_text()
    assert (out / "static" / "extra.css").exists() and (out / "static" / "style.css").exists()
    rid = next((out / "tasks" / "job" / "runs").iterdir())
    assert "Record" in (rid / "index.html").read_text()


def test_a_running_run_whose_runwrap_died_shows_as_lost(run_root, out):
    rid = write_run(run_root, "job", 1, "running", feedback={"progress": "20"})
    path = run_root / "tasks" / "job" / "runs" / rid / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["owner"]["pid"] = 2**22 + 12345  # no such process
    path.write_text(json.dumps(manifest))
    build(run_root, out)
    status = json.loads((out / "status.json").read_text())
    assert status["tasks"]["job"]["state"] == "failing"
    assert status["tasks"]["job"]["last_status"] == "lost"
    assert "lost" in (out / "tasks" / "job" / "runs" / rid / "index.html").read_text()


def test_pages_of_running_runs_refresh_themselves_and_finished_ones_do_not(run_root, out):
    done = write_run(run_root, "job", 1)
    live = write_run(run_root, "job", 2, "running")
    build(run_root, out)
    runs = out / "tasks" / "job" / "runs"
    assert 'http-equiv="refresh"' in (runs / live / "index.html").read_text()
    assert 'http-equiv="refresh"' not in (runs / done / "index.html").read_text()
    assert 'http-equiv="refresh"' in (out / "tasks" / "job" / "index.html").read_text()
