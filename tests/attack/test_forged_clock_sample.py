"""A job cannot make a host look skewed, nor hide a host's skew, by writing its manifest.

The clock samples (store/hosts.py) are `written.at - mtime` of each manifest; for
a run still going, query.clock_samples reads `written` from the run's own
manifest.json, in the run directory the job is given ($RUNWRAP_RUN_DIR) and can
write (docs/reliability.md's forgery matrix rewrites it). DESIGN: readers distrust
everything in ROOT a job could have made. Here a running job on this host rewrites
its manifest to say another host "db1" wrote it a day ago: `ls` then blames db1's
clock, which no run of db1 ever showed, and the dashboard flags db1's line.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from helpers.polling import wait_for
from helpers.runs import RUNWRAP
from helpers.sites import ENV, sitegen, start_runwrap

FORGE = """
import json, os, time
path = os.path.join(os.environ["RUNWRAP_RUN_DIR"], "manifest.json")
m = json.load(open(path))
m["written"] = {"host": "db1", "at": time.time() - 86400}
m["host"] = "db1"
open(path + ".x", "w").write(json.dumps(m))
os.rename(path + ".x", path)
open(os.path.join(os.environ["RUNWRAP_RUN_DIR"], "forged"), "w").close()
time.sleep(60)
"""


def test_a_job_cannot_forge_another_hosts_clock_skew(run_root: Path, out: Path, tmp_path: Path):
    script = tmp_path / "forge.py"
    script.write_text(FORGE)
    job = start_runwrap(run_root, "victim", f"exec python3 {script}")
    try:
        runs = run_root / "tasks" / "victim" / "runs"
        wait_for(lambda: runs.is_dir() and any(runs.glob("*/forged")), timeout=30)
        env = {**ENV, "RUNWRAP_ROOT": str(run_root)}
        table = subprocess.run([RUNWRAP, "ls"], env=env, capture_output=True, text=True, timeout=60)
        assert table.returncode == 0, table.stderr
        assert "clock?" not in table.stdout, table.stdout
        listed = subprocess.run(
            [RUNWRAP, "ls", "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        [view] = json.loads(listed.stdout)
        assert view["clock_skew_s"] is None

        built = sitegen("--root", str(run_root), "--out", str(out))
        assert built.returncode == 0, built.stderr
        status = json.loads((out / "status.json").read_text())
        flagged = [h for h in status.get("hosts", []) if (h.get("clock") or {}).get("skewed")]
        assert flagged == [], flagged
    finally:
        job.terminate()
        job.wait(timeout=30)
