"""The test suite's helpers, one module per concept (docs/testing.md says how to use them).

Import plain helpers from their module (`from helpers.runs import Root`); fixtures
are registered once, by `pytest_plugins` in tests/conftest.py, and need no import.
"""
