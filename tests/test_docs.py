"""Every option and subcommand is documented, and the README keeps its promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwrap.cli import SUBCOMMANDS
from runwrap.runform import RUN_HELP
from runwrap.settings import OPTIONS

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


@pytest.mark.parametrize("key", sorted(OPTIONS))
def test_every_run_option_is_documented(key: str) -> None:
    flag = "--label" if key == "labels" else f"--{key.replace('_', '-')}"
    assert flag in (DOCS / "configuration.md").read_text()
    assert flag in RUN_HELP


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_is_documented(name: str) -> None:
    assert f"runwrap {name}" in (DOCS / "cli.md").read_text()


def test_readme_gives_the_two_commands() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "crontab" in readme.lower()


def test_docs_links_resolve() -> None:
    import re

    for page in [REPO / "README.md", *DOCS.glob("*.md")]:
        for target in re.findall(r"\]\(([^)#]+)", page.read_text()):
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
