"""The theme's templates compile without Jinja's optimizer pass, to the same code."""

from __future__ import annotations

from sitegen.config import find_theme
from sitegen.render.templating import make_env


def test_templates_compile_without_the_optimizer_to_the_same_code():
    """Compiling into an empty OUT is part of every full build: the optimizer's pass was a
    seventh of it, and for the shipped theme it changes nothing the code generator does
    not fold by itself (so the pages are the same byte for byte)."""
    env = make_env(find_theme("default"))
    assert env.optimized is False
    names = env.list_templates()
    assert {"run.html", "base.html", "dashboard.html", "task.html"} <= set(names)
    for name in names:
        source, filename, _ = env.loader.get_source(env, name)
        plain = env.compile(source, name, filename, raw=True)
        env.optimized = True
        try:
            optimized = env.compile(source, name, filename, raw=True)
        finally:
            env.optimized = False
        assert plain == optimized, name
