"""docs/notifications.md documents every notifier type, event, setting, variable and payload key."""

from __future__ import annotations

from pathlib import Path

import pytest

from runwrap.notify import message, notifiers

DOC = (Path(__file__).parents[2] / "docs" / "notifications.md").read_text()
PAYLOAD_KEYS = list(message.payload(dict(message.VARIABLES), "s", "b"))
SETTINGS = sorted(notifiers._COMMON.union(*notifiers._KEYS.values()))


@pytest.mark.parametrize(
    "word",
    [
        *notifiers.TYPES,
        *notifiers.EVENTS,
        *notifiers.WEBHOOK_FORMATS,
        *notifiers.SECURITY,
        *SETTINGS,
    ],
)
def test_every_type_event_and_setting_is_documented(word):
    assert f"`{word}`" in DOC


@pytest.mark.parametrize("name", sorted(message.VARIABLES))
def test_every_template_variable_is_documented(name):
    assert f"`{name}`" in DOC


@pytest.mark.parametrize("key", PAYLOAD_KEYS)
def test_every_payload_key_is_in_the_example(key):
    assert f'"{key}":' in DOC
