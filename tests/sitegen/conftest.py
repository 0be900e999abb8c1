"""Fixtures for sitegen tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """An empty run root."""
    path = tmp_path / "root"
    (path / "tasks").mkdir(parents=True)
    return path


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """The output directory."""
    return tmp_path / "site"
