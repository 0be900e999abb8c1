"""Fixtures of the notification tests (the helpers live in notify_helpers)."""

from .notify_helpers import mailbox, receiver, rw

__all__ = ["mailbox", "receiver", "rw"]
