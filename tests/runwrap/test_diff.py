"""runwrap diff and the failure notice: what changed since the last success (issue 22)."""

from __future__ import annotations

import json

from helpers.runs import Root, assert_one_line_error

NOISE = 'for i in 1 2 3 4 5; do echo "copied $((i * {k})) files in {k}.$i s at 0x{k}f$i" >&2; done'


def job(root: Root, tmp, text: str, *opts: str):
    script = tmp / "job.sh"
    script.write_text(text + "\n")
    return root.run("-n", "sync", *opts, "--", "sh", str(script))


def test_diff_and_notice_say_what_changed(root: Root, tmp_path) -> None:
    ok = job(
        root, tmp_path, NOISE.format(k=2) + "; echo x > a.txt; echo '[rows]10' >> $RUNWRAP_FEEDBACK"
    )
    assert ok.returncode == 0
    good = root.manifests("sync")[-1]["run_id"]
    failed = job(
        root,
        tmp_path,
        NOISE.format(k=9) + "; echo 'rsync: connection unexpectedly closed' >&2; "
        "echo y > b.txt; echo '[rows]0' >> $RUNWRAP_FEEDBACK; exit 12",
        "-l",
        "dc=west",
    )
    assert failed.returncode == 12
    # The default console's failure notice (cron's mail) says it.
    notice = failed.stdout
    assert "What changed:" in notice
    assert f"compared with run {good}, the last success" in notice
    block = notice.split("What changed:")[1].split("Last lines of")[0]
    assert "  rsync: connection unexpectedly closed" in block
    assert "copied" not in block
    shown = root.run("diff", "sync")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert "ended: exit 12 (was exit 0)" in lines
    assert "label dc: west (was (none))" in lines
    assert "feedback rows: 0 (was 10)" in lines
    assert "new files: b.txt" in lines and "missing files: a.txt" in lines
    assert "  rsync: connection unexpectedly closed" in lines
    assert not any("copied" in line for line in lines)
    data = json.loads(root.run("diff", "sync", "--json").stdout)
    assert data["against"] == good and data["stderr"]["lines"] == [
        "rsync: connection unexpectedly closed"
    ]
    # Against a run given by id, and a run given by id.
    bad = root.manifests("sync")[-1]["run_id"]
    again = json.loads(root.run("diff", "sync", bad, "--against", bad, "--json").stdout)
    assert again["against"] == bad and again["stderr"]["lines"] == []
    assert_one_line_error(root.run("diff", "sync", "nosuchrun-x"), "nosuchrun", code=1)


def test_diff_without_a_success(root: Root) -> None:
    root.run("-n", "new", "--", "sh", "-c", "exit 1")
    shown = root.run("diff", "new")
    assert shown.returncode == 0
    assert "no successful run to compare with" in shown.stdout
