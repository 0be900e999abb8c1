"""`runwrap ls --host H`: on a ROOT several hosts share, the tasks whose newest run ran there."""

from __future__ import annotations

import json
import subprocess

from helpers.hosts import fleet_env, on_host, require_namespaces
from helpers.runs import RUNWRAP


def test_ls_keeps_the_tasks_of_the_hosts_asked_for(tmp_path):
    require_namespaces()
    env, _notices = fleet_env(tmp_path)
    assert on_host("db1", [RUNWRAP, "-n", "backup", "--", "true"], env).returncode == 0
    assert on_host("web1", [RUNWRAP, "-n", "deploy", "--", "true"], env).returncode == 0
    assert on_host("web2", [RUNWRAP, "-n", "logs", "--", "false"], env).returncode == 1

    def ls(*args: str) -> dict:
        done = subprocess.run(
            [RUNWRAP, "ls", "--json", *args], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return {v["task"]: v["host"] for v in json.loads(done.stdout)}

    assert ls() == {"backup": "db1", "deploy": "web1", "logs": "web2"}
    assert ls("--host", "db1") == {"backup": "db1"}
    assert ls("--host", "web1,web2") == {"deploy": "web1", "logs": "web2"}
    assert ls("--host", "web1", "--host", "db1") == {"backup": "db1", "deploy": "web1"}
    table = subprocess.run(
        [RUNWRAP, "ls", "--host", "nowhere"], env=env, capture_output=True, text=True, timeout=60
    )
    assert table.returncode == 0 and table.stdout.strip() == "no such tasks", table
