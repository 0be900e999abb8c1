"""Gathered copies (store/gathered.py): names, where they live, and their leases judged as
of their host's push, not the reader's clock."""

from __future__ import annotations

import json
import os

import pytest

from runwrap.errors import NotFoundError, RunwrapError
from runwrap.store.gathered import DEFAULT_EVERY_S, as_of, copy_age, gathered_hosts, next_silence
from runwrap.store.layout import is_gathered_copy, run_dir, split_gathered, task_dir
from runwrap.store.lookup import find_run_id, task_names
from runwrap.store.manifest import lease_age
from runwrap.store.openruns import markers
from runwrap.store.tasknames import check_read_name, check_task_name

RUN = "20261205T100000.123Z-3f9a"


def copy(root, host="web01", task="backup", pushed=None, every="60"):
    """A host's copy under root/hosts/<host>, its run RUN open; `pushed`: the stamp's mtime."""
    path = root / "hosts" / host / "tasks" / task
    (path / "runs" / RUN).mkdir(parents=True)
    (path / "runs" / RUN / "manifest.json").write_text(json.dumps({"status": "running"}))
    (path / "open").mkdir()
    (path / "open" / RUN).write_text("{}")
    if pushed is not None:
        stamp = root / "hosts" / host / "pushed"
        stamp.write_text(every)
        os.utime(stamp, (pushed, pushed))
    return path


def test_a_gathered_name_lives_in_its_host_s_copy(tmp_path):
    assert task_dir(str(tmp_path), "backup@web01") == str(
        tmp_path / "hosts" / "web01" / "tasks" / "backup"
    )
    assert run_dir(str(tmp_path), "backup@web01", RUN).endswith(
        "hosts/web01/tasks/backup/runs/" + RUN
    )
    assert task_dir(str(tmp_path), "backup") == str(tmp_path / "tasks" / "backup")
    assert split_gathered("backup@web01") == ("backup", "web01")
    assert split_gathered("backup") is None
    assert is_gathered_copy(task_dir(str(tmp_path), "backup@web01"))
    assert not is_gathered_copy(task_dir(str(tmp_path), "backup"))


def test_at_is_kept_for_gathered_names():
    with pytest.raises(RunwrapError, match="'@'"):
        check_task_name("backup@web01")  # runwrap never writes a run into a copy
    assert check_read_name("backup@web01") == "backup@web01"
    for bad in ("backup@", "@web01", "backup@../x", "a@b@c"):
        with pytest.raises(RunwrapError):
            check_read_name(bad)


def test_readers_list_every_host_s_tasks_by_host(tmp_path):
    copy(tmp_path, "web02", "backup")
    copy(tmp_path, "web01", "report")
    copy(tmp_path, ".~tmp~", "junk")  # rsync's names are no hosts
    (tmp_path / "tasks" / "local").mkdir(parents=True)
    assert task_names(str(tmp_path)) == ["local", "report@web01", "backup@web02"]


def test_a_copy_s_lease_is_its_age_at_the_push_plus_the_time_since_beyond_an_interval(
    tmp_path,
):
    pushed = 1_000_000.0
    path = copy(tmp_path, pushed=pushed, every="60")
    renewed = pushed - 5
    # A reader whose clock is an hour off the host's sees the same age at the push.
    assert copy_age(str(path), renewed, pushed + 30) == 5
    assert copy_age(str(path), renewed, pushed + 60) == 5
    assert copy_age(str(path), renewed, pushed + 100) == 45  # pushes stopped: it grows
    assert copy_age(str(path), pushed + 3, pushed + 30) == 0  # renewed after the stamp
    os.utime(path / "open" / RUN, (renewed, renewed))
    assert lease_age(str(path), RUN, pushed + 100) == 45


def test_without_a_stamp_a_copy_is_judged_by_the_reader_s_clock(tmp_path):
    path = copy(tmp_path)
    assert copy_age(str(path), 1000.0, 1100.0) == 100


def test_a_host_is_silent_after_two_intervals_without_a_push(tmp_path):
    copy(tmp_path, "web01", pushed=1000.0, every="10")
    copy(tmp_path, "web02", pushed=1000.0, every="garbage")
    copy(tmp_path, "web03")  # pushes no stamp: never called silent
    hosts = {h["host"]: h for h in gathered_hosts(str(tmp_path), 1019.0)}
    assert not hosts["web01"]["silent"] and hosts["web01"]["silent_at"] == 1020.0
    assert hosts["web02"]["every"] == DEFAULT_EVERY_S
    assert hosts["web03"]["pushed_at"] is None and not hosts["web03"]["silent"]
    assert next_silence(list(hosts.values())) == 1020.0
    assert {h["host"] for h in gathered_hosts(str(tmp_path), 1021.0) if h["silent"]} == {"web01"}


def test_a_copy_that_holds_a_marker_and_its_claim_counts_the_run_once(tmp_path):
    path = copy(tmp_path)
    (path / "open" / f"{RUN}~abc.1.2").write_text("{}")  # the claim came, the marker not gone
    assert markers(str(path)) == [(RUN, f"{RUN}~abc.1.2")]


def test_a_run_id_two_hosts_carry_is_refused_by_name_not_guessed(tmp_path):
    copy(tmp_path, "web01")
    copy(tmp_path, "web02")
    with pytest.raises(NotFoundError, match="backup@web01, backup@web02"):
        find_run_id(str(tmp_path), RUN)
    (tmp_path / "hosts" / "web02" / "tasks" / "backup" / "runs" / RUN / "manifest.json").unlink()
    os.rmdir(tmp_path / "hosts" / "web02" / "tasks" / "backup" / "runs" / RUN)
    assert find_run_id(str(tmp_path), RUN) == ("backup@web01", RUN)


def test_a_copy_s_lateness_is_judged_as_of_its_push_while_pushes_come(tmp_path):
    """A task due every minute is not late because its copy is up to a push old; once the
    pushes stop, the clock runs on from the last one (then it is late, and its host silent)."""
    copy(tmp_path, pushed=1000.0, every="60")
    assert as_of(str(tmp_path), "backup@web01", 1050.0) == 1000.0
    assert as_of(str(tmp_path), "backup@web01", 1060.0) == 1000.0
    assert as_of(str(tmp_path), "backup@web01", 1090.0) == 1030.0
    assert as_of(str(tmp_path), "backup", 1090.0) == 1090.0  # ROOT's own task
    assert as_of(str(tmp_path), "backup@web09", 1090.0) == 1090.0  # no stamp
