"""The build cache's packed files (OUT/.sitegen: summary.pack, rows.pack, metrics.pack).

What every update reads and writes whole, a one-shot update after one run too,
is packed with marshal rather than written as JSON: about 3 MB on a dashboard
of 100 tasks run every 5 minutes, which marshal loads two to three times
faster and writes ten times faster.
"""

from __future__ import annotations

import hashlib
import marshal
import sys

from runwrap.store.jsonio import Unreadable, parse

# A packed cache file: this header (the Python version whose marshal wrote it), the
# SHA-1 of the payload, and the payload, marshal's dump of plain data (dicts, lists,
# strings, numbers). Only sitegen writes OUT/.sitegen (as Jinja's compiled templates
# there, which are marshal too); the digest keeps a file cut short or damaged from
# being taken, and another Python's file is rebuilt, not read.
_PACKED = b"\0sitegen packed cache, python %d.%d\n" % sys.version_info[:2]
_PACKED_HEAD = b"\0sitegen packed cache"


def pack(value: object) -> tuple[bytes, bytes]:
    """A cache file's bytes for `value` (unpack() reads them back), as its head and its
    payload, to be written one after the other: at 20,000 runs the payload is MBs,
    written at the end of a full build (its peak memory), and never copied to join it."""
    payload = marshal.dumps(value)
    return _PACKED + hashlib.sha1(payload).digest(), payload


def unpack(raw: bytes) -> tuple[object, bool]:
    """(value, True) from pack()'s bytes; (value, False) from JSON (a cache file written
    by hand: its records are checked); (None, False) for another Python's packed file.
    Unreadable for anything else."""
    if not raw.startswith(_PACKED_HEAD):
        return parse(raw), False
    if not raw.startswith(_PACKED):
        return None, False  # packed by another Python's marshal: rebuilt
    at = len(_PACKED) + 20
    payload = raw[at:]
    if len(raw) < at or hashlib.sha1(payload).digest() != raw[len(_PACKED) : at]:
        raise Unreadable("its digest does not match (cut off, or changed)")
    try:
        return marshal.loads(payload), True
    except (ValueError, EOFError, TypeError):
        raise Unreadable("not what sitegen packed") from None
