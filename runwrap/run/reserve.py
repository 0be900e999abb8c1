"""Room for the final record when the disk fills up: a reserve file in the run directory.

Taken when the run starts (as much as there is, down to what a typical final
record takes), given back just before the final manifest is written.
"""

import os

from runwrap.store.manifest import write_manifest

RESERVE = ".runwrap-reserve"
# Room for the final manifest and state when the disk fills up: as much as there
# is, down to what a typical final record takes (a disk almost full already).
RESERVE_SIZES = (256 * 1024, 64 * 1024, 16 * 1024)


def reserve_space(run_path: str) -> None:
    """Take the reserve (best effort)."""
    try:
        fd = os.open(
            os.path.join(run_path, RESERVE), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        try:
            for size in RESERVE_SIZES:
                try:
                    os.posix_fallocate(fd, 0, size)
                    break
                except OSError:
                    continue
        finally:
            os.close(fd)
    except OSError:
        pass  # best effort: without it a full disk may still stop the final write


def release_reserve(run_path: str) -> None:
    """Give the reserve back (already gone is fine)."""
    try:
        os.unlink(os.path.join(run_path, RESERVE))
    except OSError:
        pass


def write_final(run_path: str, manifest: dict) -> None:
    """Write the final manifest; on a full disk, give back the reserve and try again."""
    try:
        write_manifest(run_path, manifest)
    except OSError:
        release_reserve(run_path)
        write_manifest(run_path, manifest)
    release_reserve(run_path)
