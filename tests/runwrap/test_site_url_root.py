"""The config's `site: {site_url}` links runs of the config's own root only.

The dashboard at site_url is built from one root. A run under `--root X`
(a try-out, a second root) has no page there: its notices carry no link
rather than one that 404s.
"""

from __future__ import annotations

from helpers.receivers import Receiver
from helpers.runs import Runwrap

SITE = "https://jobs.example/dash/"


def _config(rw: Runwrap, receiver: Receiver, **more: object) -> None:
    rw.config(
        {
            "notifiers": {"hook": {"type": "webhook", "url": receiver.url + "/hook"}},
            "site": {"site_url": SITE},
            **more,
        }
    )


def _url_of_failure(rw: Runwrap, receiver: Receiver, *root: str) -> str:
    rw.fail(extra=(*root, "--notify", "hook"))
    [payload] = receiver.json()
    assert payload["event"] == "failure"
    return payload["url"]


def test_a_run_under_another_root_than_the_configs_gets_no_link(rw, receiver, tmp_path) -> None:
    _config(rw, receiver, root=str(rw.root))
    del rw.env["RUNWRAP_ROOT"]
    other = tmp_path / "elsewhere"
    assert _url_of_failure(rw, receiver, "--root", str(other)) is None  # as with no site_url at all


def test_a_run_under_the_configs_root_gets_its_link(rw, receiver) -> None:
    _config(rw, receiver, root=str(rw.root))
    del rw.env["RUNWRAP_ROOT"]
    url = _url_of_failure(rw, receiver, "--root", str(rw.root) + "/")  # the same root, spelled so
    run_id = rw.manifests("job")[0]["run_id"]
    assert url == f"{SITE}tasks/job/runs/{run_id}/"


def test_without_root_in_the_config_the_environments_root_is_its_own(
    rw, receiver, tmp_path
) -> None:
    _config(rw, receiver)  # RUNWRAP_ROOT names the root, as the notify tests' do
    assert _url_of_failure(rw, receiver).startswith(f"{SITE}tasks/job/runs/")
    receiver.requests.clear()
    other = tmp_path / "elsewhere"
    assert _url_of_failure(rw, receiver, "--root", str(other)) is None  # as with no site_url at all
