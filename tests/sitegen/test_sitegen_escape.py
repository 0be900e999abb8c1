"""The theme's templates write values through sitegen's quicker escape: the same text as
Jinja's own autoescaping, whatever the value, in blocks, loops, macros and set blocks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import jinja2
import markupsafe
import pytest
from sitegen_helpers import BIN, ENV, sitegen, write_run

from sitegen.config import find_theme
from sitegen.templating import make_env

pytest_plugins = ["sitegen_fixtures"]

TEMPLATE = (
    "{% macro m(x) %}<i>{{ x }}</i>{% endmacro %}"
    "{% set kept %}<b>{{ v }}</b>{% endset %}"
    "{{ v }}|{{ m(v) }}|{{ kept }}|{% for i in [v, v] %}{{ i }}{% endfor %}|{{ v|e }}"
)


class _Html:
    def __html__(self) -> str:
        return "<em>as it says</em>"


VALUES = [
    "<script>alert('x' & \"y\")</script>",
    "plain",
    "",
    "\udcff lone surrogate <",
    markupsafe.Markup("<b>already safe</b>"),
    42,
    3.5,
    None,
    True,
    ["<a>", "b"],
    {"<k>": "v&"},
    _Html(),
]


@pytest.mark.parametrize(
    "value", VALUES, ids=[type(v).__name__ + str(i) for i, v in enumerate(VALUES)]
)
def test_templates_escape_what_they_write_as_jinja_does(value):
    ours = make_env(find_theme("default")).from_string(TEMPLATE)
    jinja = jinja2.Environment(autoescape=True).from_string(TEMPLATE)
    assert ours.render(v=value) == jinja.render(v=value)


def test_the_quicker_escape_is_the_one_templates_use():
    # Without it the test above passes too: this says the quicker path is really taken.
    template = make_env(find_theme("default")).from_string("{{ v }}")
    escape = template.root_render_func.__globals__["escape"]
    if getattr(markupsafe, "_escape_inner", None) is None:
        pytest.skip("this markupsafe has no str-only escape: Jinja's is used")
    assert escape is not markupsafe.escape
    assert type(escape("<")) is str and escape("<") == "&lt;"


def _plain(a, b="-"):
    return f"{a}<{b}>"


@jinja2.pass_context
def _with_context(context, a):
    return f"{a}:{context['v']}"


def _stops():
    raise StopIteration


def test_template_calls_do_as_jinja_does():
    # sitegen's context calls a plain function directly; one marked for the context
    # still gets it, and one that raises StopIteration still gives an undefined value.
    source = (
        "{{ plain(v) }}|{{ plain(v, b=v) }}|{{ ctx(v) }}|{{ stops() is undefined }}|"
        "{% for i in [1] %}{{ plain(i) }}{{ ctx(i) }}{% endfor %}|{{ d.items()|list }}"
    )
    values = {"v": "<x>", "plain": _plain, "ctx": _with_context, "stops": _stops, "d": {"k": 1}}
    ours = make_env(find_theme("default")).from_string(source)
    jinja = jinja2.Environment(autoescape=True).from_string(source)
    assert ours.render(**values) == jinja.render(**values)


# A MarkupSafe older than 3.0 (no _escape_inner) that this machine has, if any: Debian's
# Google Cloud SDK ships 2.1. OUT's compiled templates outlive an upgrade or a downgrade.
_OLD_MARKUPSAFE = [
    os.environ.get("SITEGEN_TEST_OLD_MARKUPSAFE", ""),
    "/usr/lib/google-cloud-sdk/lib/third_party",
]


def _old_markupsafe() -> str | None:
    for path in filter(None, _OLD_MARKUPSAFE):
        init = os.path.join(path, "markupsafe", "__init__.py")
        if os.path.isfile(init) and "_escape_inner" not in Path(init).read_text():
            return path
    return None


def test_templates_compiled_with_one_markupsafe_render_with_another(run_root, out, tmp_path):
    old = _old_markupsafe()
    if old is None:
        pytest.skip("no MarkupSafe older than 3.0 on this machine")
    shadow = tmp_path / "old-markupsafe"  # that package alone, ahead of the venv's
    shadow.mkdir()
    (shadow / "markupsafe").symlink_to(os.path.join(old, "markupsafe"))
    write_run(run_root, "a<b", 0)
    assert sitegen("--root", str(run_root), "--out", str(out)).returncode == 0
    write_run(run_root, "a<b", 1)
    older = {**ENV, "PYTHONPATH": str(shadow)}
    result = subprocess.run(
        [sys.executable, str(BIN / "sitegen"), "--root", str(run_root), "--out", str(out)],
        env=older, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "a&lt;b" in (out / "index.html").read_text()
