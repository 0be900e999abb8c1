"""The theme's templates write values through sitegen's quicker escape: the same text as
Jinja's own autoescaping, whatever the value, in blocks, loops, macros and set blocks."""

from __future__ import annotations

import jinja2
import markupsafe
import pytest

from sitegen.config import find_theme
from sitegen.templating import make_env

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
