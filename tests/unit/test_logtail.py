"""A log's tail read once (runwrap/store/logtail.py) gives each reader what its own read
of fewer last bytes would have: what changed, the search index and a run page share it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runwrap.store import logtail


@pytest.mark.parametrize("size", [0, 5, 4095, 4096, 4097, 70_000, 300_000])
def test_a_shorter_tail_is_the_read_of_fewer_bytes(tmp_path: Path, size: int):
    log = tmp_path / "stderr.log"
    log.write_bytes(bytes(i % 251 for i in range(size)))
    big = logtail.read_path(str(log), 256 * 1024)
    assert big is not None and big.size == size
    for limit in (1, 4096, 64 * 1024, 256 * 1024):
        short = big.last(limit)
        assert short == logtail.read_path(str(log), limit), limit
        assert short is not None and short.start == max(0, size - limit)
    assert big.last(256 * 1024 + 1) is (None if size > 256 * 1024 else big)


def test_a_read_is_of_just_the_bytes_there_are(tmp_path: Path):
    log = tmp_path / "stderr.log"
    log.write_bytes(b"boom\n")
    fd = os.open(log, os.O_RDONLY)
    try:
        assert logtail.read_fd(fd, 256 * 1024) == (5, 0, b"boom\n")
    finally:
        os.close(fd)
    assert logtail.read_path(str(tmp_path / "missing.log"), 4096) is None
    os.symlink(log, tmp_path / "link.log")
    assert logtail.read_path(str(tmp_path / "link.log"), 4096) is None  # never followed


def test_tails_read_the_last_success_once(tmp_path: Path):
    ok, other = tmp_path / "ok.log", tmp_path / "other.log"
    ok.write_bytes(b"warming up\n")
    other.write_bytes(b"other\n")
    tails = logtail.Tails()
    first = tails.get(str(ok), 4096)
    ok.write_bytes(b"changed since\n")  # the build's view stays the one it read
    assert tails.get(str(ok), 4096) == first == (11, 0, b"warming up\n")
    assert tails.get(str(other), 4096) == (6, 0, b"other\n")
    assert tails.get(str(ok), 4096) == (14, 0, b"changed since\n")  # one kept: read again
    tails.put(str(other), logtail.Tail(3, 0, b"put"))
    assert tails.get(str(other), 2) == (3, 1, b"ut")
