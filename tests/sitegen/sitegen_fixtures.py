"""Fixtures for sitegen tests: a pytest plugin, named in each test module's `pytest_plugins`.

Not a conftest.py: one here would shadow the project's tests/conftest.py, which
other tests import by name. A plugin's fixtures rank below tests/conftest.py's,
so the empty run root is `run_root` (tests/conftest.py's `root` is runwrap's).
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from pathlib import Path

import pytest
from sitegen_helpers import nginx_serving, real_root, runwrap, sitegen


@pytest.fixture
def run_root(tmp_path: Path) -> Path:
    """An empty run root."""
    path = tmp_path / "root"
    (path / "tasks").mkdir(parents=True)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The output directory."""
    return tmp_path / "site"


PAYLOAD = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="session")
def served(tmp_path_factory) -> dict:
    """One site built by the real sitegen from real runwrap runs, with payloads planted.

    Lives in a world-readable directory: nginx's workers (nobody, under root) read it.
    """
    base = Path(tempfile.mkdtemp(prefix="sitegen-served-"))
    base.chmod(0o755)
    root, out = base / "root", base / "site"
    real_root(root)
    quoted = shlex.quote(PAYLOAD)
    script = (
        f"printf '%s\\n' {quoted}; printf '%s\\n' {quoted} >&2;"
        f' echo "[info]"{quoted} >> "$RUNWRAP_FEEDBACK";'
        f" printf '%s\\n' {quoted} > report.md; echo data > {shlex.quote('<img src=x onerror=alert(1)>.txt')};"
        " printf '<script>window.__xss=3</script>' > page.html; exit 1"
    )
    result = runwrap(root, "evil task", script, "-l", f"info1={PAYLOAD}", "-l", f"{PAYLOAD}=x")
    assert result.returncode == 1, result.stderr
    built = sitegen("--root", str(root), "--out", str(out))
    assert built.returncode == 0, built.stderr
    yield {"root": root, "out": out, "base": base}
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def nginx(served) -> str:
    """A real nginx serving the site with the config shipped in docs/; yields its base URL."""
    with nginx_serving(served["out"], served["base"] / "nginx") as url:
        yield url


@pytest.fixture(scope="session")
def browser(served):
    """One headless Debian Chromium for the session, driven by Selenium without downloads."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1280,900",
        f"--user-data-dir={served['base'] / 'chromium-profile'}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(service=service, options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots go (test-artifacts/sitegen, ignored by git)."""
    path = Path(__file__).parents[2] / "test-artifacts" / "sitegen"
    path.mkdir(parents=True, exist_ok=True)
    return path
