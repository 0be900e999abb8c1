"""sitegen's main() turns the cyclic collector off for cron's one-shot update, and gives
it back as it found it to a caller in the same process (a test, a script)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from sitegen.cli import main

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("was", [True, False], ids=["on", "off"])
def test_main_leaves_the_collector_as_it_found_it(tmp_path: Path, capsys, was: bool) -> None:
    root, out = tmp_path / "root", tmp_path / "out"
    (root / "tasks").mkdir(parents=True)
    (gc.enable if was else gc.disable)()
    try:
        assert main(["--version"]) == 0
        assert gc.isenabled() is was
        assert main(["--root", str(root), "--out", str(out), "-q"]) == 0  # a real update
        assert gc.isenabled() is was
        with pytest.raises(SystemExit):  # argparse's refusal
            main(["--root", str(root), "--out", str(out / "x"), "--no-such"])
        assert gc.isenabled() is was
    finally:
        gc.enable()
    capsys.readouterr()
