"""Fixtures of the notification tests; the helpers live in notify_helpers.

(Not in this file: `import conftest` would find the top-level tests/conftest.py.)
"""

from notify_helpers import mailbox, receiver, rw

__all__ = ["mailbox", "receiver", "rw"]
