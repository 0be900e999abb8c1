"""sitegen's command line (placeholder until the sitegen issue lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("sitegen: not built yet", file=sys.stderr)
    return 1
