"""Attack on issue 18's fold by seq, through the notices: under `--overlap allow`, run
1 (slow) fails after run 2 (quick, started later) succeeded. By seq the story is
"failed, then recovered", so the state never turns failing when run 1 is recorded
(state.update_state rebuilds: ok before, ok after) and its runwrap tells nobody: with
the console notifier, cron mails nothing. Before this change (4b552b8) the same
sequence printed "[runwrap] FAILED". A failed run must reach a person once.
"""

from __future__ import annotations

from helpers.polling import wait_for
from helpers.runs import Root


def test_a_failure_that_ends_after_a_later_success_is_told(root: Root) -> None:
    assert root.run("-n", "t", "--", "true").returncode == 0
    slow = root.start("-n", "t", "--overlap", "allow", "--", "sh", "-c", "sleep 2; exit 1")
    wait_for(lambda: len(root.manifests_so_far("t")) == 2, what="the slow run")
    quick = root.run("-n", "t", "--overlap", "allow", "--", "true")
    assert quick.returncode == 0
    assert "RECOVERED" not in quick.stdout  # nobody was told of a failure yet
    out, err = slow.communicate(timeout=60)
    assert slow.returncode == 1
    told = out + err + quick.stdout + quick.stderr
    assert "FAILED" in told, "the failed run told nobody (cron mails nothing)"
