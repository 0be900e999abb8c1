"""sitegen's loggers (sitegen/logs.py): a message below the command line's level is
dropped without importing logging; one at it sets logging up first, every time the
command line is set up again (a second in-process main() with another level)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
from sitegen import logs
log = logs.getLogger("sitegen.x")
said = []
logs.configure(logs.WARNING, lambda: said.append("set up"))
log.info("quiet %s", 1)
log.debug("quiet")
assert "logging" not in sys.modules and said == [], (said, "logging" in sys.modules)
log.warning("first %s", "w")
assert said == ["set up"] and "logging" in sys.modules
log.warning("second")
assert said == ["set up"]  # once
import logging
logging.basicConfig(level=logging.DEBUG, format="%(name)s %(levelname)s %(message)s")
logs.configure(logs.DEBUG, lambda: said.append("again"))
log.debug("loud %d", 2)
assert said == ["set up", "again"]
"""


def test_a_dropped_message_imports_no_logging_and_each_set_up_is_applied() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "sitegen.x WARNING first w" not in result.stderr  # before basicConfig: lastResort
    assert "first w" in result.stderr
    assert "sitegen.x DEBUG loud 2" in result.stderr
    assert "quiet" not in result.stderr
