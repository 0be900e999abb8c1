"""docs/architecture.md names every module, and the rooms it describes hold.

Imports are read with `ast` from the source, every one of them: one inside
a function (a lazy import) or under TYPE_CHECKING ties two rooms together
all the same.
"""

from __future__ import annotations

import ast
import os
import re
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ARCHITECTURE = REPO / "docs" / "architecture.md"
PACKAGES = ("runwrap", "sitegen")

# (room, rooms it must never import): lower rooms never reach up.
FORBIDDEN = [
    ("runwrap.store", ("runwrap.run", "runwrap.commands", "runwrap.notify")),
    ("sitegen", ("runwrap.run", "runwrap.commands")),
    ("runwrap.run", ("runwrap.commands",)),
    # sitegen's rooms, in the order its data goes through them (docs/architecture.md).
    ("sitegen.publish", ("sitegen.read", "sitegen.render", "sitegen.build", "sitegen.live")),
    ("sitegen.read", ("sitegen.render", "sitegen.build", "sitegen.live")),
    ("sitegen.render", ("sitegen.build", "sitegen.live")),
    ("sitegen.build", ("sitegen.live",)),
]
# sitegen reaches runwrap.notify from one module only: `sitegen --watch` is the process
# that runs all the time, so it sends the `late` notices (runwrap.notify.check_late, with
# the same nospam memory as `runwrap check`); nothing else of sitegen notifies.
NOTIFY_FROM_SITEGEN = "sitegen.live.notices"


def module_files() -> list[Path]:
    """Every .py file of runwrap/ and sitegen/, by path."""
    return sorted(
        path
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
        if "__pycache__" not in path.parts
    )


def dotted(path: Path) -> str:
    """runwrap/store/state.py -> runwrap.store.state; runwrap/store/__init__.py -> runwrap.store."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def slash(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@cache
def modules() -> dict[str, Path]:
    return {dotted(path): path for path in module_files()}


def imports_of(path: Path) -> set[str]:
    """The modules `path` imports, relative imports resolved, `from pkg import mod` as pkg.mod."""
    name = dotted(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules() else base)
    return found


def within(module: str, room: str) -> bool:
    return module == room or module.startswith(room + ".")


def architecture() -> str:
    if not ARCHITECTURE.is_file():
        pytest.fail(f"{ARCHITECTURE.relative_to(REPO)} is missing: it must describe every module")
    return ARCHITECTURE.read_text()


def mentioned(path: Path, text: str) -> bool:
    """True if `text` names the module by its slash path or its dotted name.

    Inside a package's room the package may be left out (`store/state.py`
    for runwrap/store/state.py), never the directory: a bare `state.py` is
    not a name. A package's __init__.py is named by its directory too.
    """
    names = [slash(path), dotted(path)]
    inner = path.relative_to(REPO / path.relative_to(REPO).parts[0]).as_posix()
    if "/" in inner:
        names.append(inner)
    if path.name == "__init__.py":
        names.append(slash(path.parent) + "/")
    # Not part of a longer name: runwrap/run.py is not named by runwrap/run.pyc, nor
    # runwrap.run by runwrap.run.sig (a sentence may still end with a full stop).
    return any(re.search(rf"(?<![\w./]){re.escape(name)}(?![\w/]|\.\w)", text) for name in names)


def test_every_module_is_named_in_the_architecture_page() -> None:
    text = architecture()
    missing = [slash(path) for path in module_files() if not mentioned(path, text)]
    assert not missing, f"docs/architecture.md does not name: {', '.join(missing)}"


@pytest.mark.parametrize(("room", "forbidden"), FORBIDDEN, ids=[room for room, _ in FORBIDDEN])
def test_a_room_never_imports_a_room_above_it(room: str, forbidden: tuple[str, ...]) -> None:
    breaches = sorted(
        f"{slash(path)} imports {imported}"
        for name, path in modules().items()
        if within(name, room)
        for imported in imports_of(path)
        if any(within(imported, above) for above in forbidden)
    )
    assert not breaches, "\n".join(breaches)


# A module's file name says its concept, so it appears once in runwrap/ and sitegen/; the
# exceptions are one concept seen from each command, each justified in docs/architecture.md.
SHARED_NAMES = {"cli.py", "errors.py"}


def test_module_names_say_their_concept_once() -> None:
    names = [path.name for path in module_files() if path.name != "__init__.py"]
    twice = {name for name in names if names.count(name) > 1}
    assert twice == SHARED_NAMES, f"one name, two modules: {sorted(twice - SHARED_NAMES)}"
    text = ARCHITECTURE.read_text()
    names_section = text[text.index("## Names") :]
    unjustified = [name for name in SHARED_NAMES if f"`{name}`" not in names_section]
    assert unjustified == [], "docs/architecture.md's Names section must say why"


# One owner per fact (docs/architecture.md, "Who answers what"): each question is answered
# by one function, and no other module defines a function of that name.
OWNERS = {
    "health": "runwrap/store/fold.py",  # a status's health: ok, failing, or nothing
    "next_state": "runwrap/store/fold.py",  # the fold: state, since, streaks
    "fold": "runwrap/store/fold.py",
    "periods": "runwrap/store/fold.py",  # the runs that began a health period (feeds)
    "order_key": "runwrap/store/fold.py",  # a run's place in its task's history: seq
    "unfinished_runs": "runwrap/store/query.py",  # what is running or lost now
    "task_record": "runwrap/store/query.py",  # a task's state with its unfinished runs
    "view": "runwrap/store/query.py",  # what every surface shows of a task
    "totals": "runwrap/store/query.py",  # buckets and flags over tasks
    "shown_state": "runwrap/store/query.py",  # the one word a list shows
    "find_run": "runwrap/store/query.py",  # a run id or a task's latest real run
    "effective_status": "runwrap/store/manifest.py",  # running, or lost when the owner is gone
    "lateness": "runwrap/store/schedule.py",
}


def _defined(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def test_each_fact_has_one_owner() -> None:
    found: dict[str, list[str]] = {name: [] for name in OWNERS}
    for path in module_files():
        for name in _defined(path) & OWNERS.keys():
            found[name].append(slash(path))
    wrong = {name: where for name, where in found.items() if where != [OWNERS[name]]}
    assert not wrong, f"defined elsewhere than by their owner: {wrong}"
    text = ARCHITECTURE.read_text()
    unnamed = sorted(f"{name} ({owner})" for name, owner in OWNERS.items() if name not in text)
    assert not unnamed, f"docs/architecture.md does not name these owners: {unnamed}"


# Private names of the standard library that are its documented face (os._exit is how a
# forked child ends without running the parent's clean-up); and the C accelerators that
# runwrap's start-up path uses by measurement, each with its figure in a comment where it is
# imported (store/jsonio.py: _json; run/contain.py: _ctypes; run/sig.py: _signal).
PUBLIC_PRIVATES = {"os._exit", "_json", "_ctypes", "_signal"}


def _private_uses(path: Path) -> list[str]:
    """`from m import _x` and `name._x` (name not self/cls) in a module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"from {node.module} import {alias.name}")
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("_")]
        elif (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
            and isinstance(node.value, ast.Name)
            and node.value.id not in ("self", "cls")
        ):
            found.append(f"{node.value.id}.{node.attr}")
    return [f"{slash(path)}: {use}" for use in found if use not in PUBLIC_PRIVATES]


def test_no_module_reads_another_modules_private_names() -> None:
    """Libraries by their public face, our modules too (issue 19): a private name is
    the owner's to change."""
    breaches = [use for path in module_files() for use in _private_uses(path)]
    # sitegen/render/templating.py is being moved to stock Jinja (its own test follows it).
    breaches = [b for b in breaches if not b.startswith("sitegen/render/templating.py")]
    assert not breaches, "\n".join(breaches)


def test_only_sitegen_notices_imports_runwrap_notify() -> None:
    breaches = sorted(
        f"{slash(path)} imports {imported}"
        for name, path in modules().items()
        if within(name, "sitegen") and name != NOTIFY_FROM_SITEGEN
        for imported in imports_of(path)
        if within(imported, "runwrap.notify")
    )
    assert not breaches, "\n".join(breaches)
    assert any(
        within(imported, "runwrap.notify")
        for imported in imports_of(modules()[NOTIFY_FROM_SITEGEN])
    ), f"{NOTIFY_FROM_SITEGEN} no longer sends notices: drop the exception"


def test_no_test_starts_the_faketime_wrapper() -> None:
    """libfaketime is preloaded through helpers.clock (shifted, Clock): the `faketime`
    wrapper leaks a named semaphore whenever it is killed, and fails at random once a pid
    is reused (one CI run lost this way)."""
    tests = Path(__file__).resolve().parent
    starting = re.compile(r"""\[\s*["']faketime["']""")
    users = [p.name for p in tests.rglob("*.py") if starting.search(p.read_text())]
    assert users == []


# Methods a library calls by name (Markdown's extension hook, http.server's listing).
CALLED_BY_LIBRARIES = {"extendMarkdown", "list_directory"}


def project_files(top: Path) -> Iterator[Path]:
    """The files the project holds under top. A walk that prunes benchmarks/.work (the
    benchmarks' generated roots: millions of files) and caches, where rglob would list
    everything under them before any filter could drop it."""
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if d not in (".work", "__pycache__")]
        yield from (Path(folder, name) for name in files)


def test_no_public_function_or_class_is_dead() -> None:
    """Every public function, method and class is named somewhere besides its own
    definition (code, tests, benchmarks, templates): one named nowhere else is dead."""
    words = Counter(
        word
        for folder in ("runwrap", "sitegen", "tests", "benchmarks", "launchers", "themes")
        for path in project_files(REPO / folder)
        if path.suffix in ("", ".py", ".html", ".js", ".j2", ".txt")
        for word in re.findall(r"\w+", path.read_text(errors="replace"))
    )
    dead = []
    for path in module_files():
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = node.name
                if name.startswith("_") or name in CALLED_BY_LIBRARIES:
                    continue
                if words[name] <= 1:
                    dead.append(f"{slash(path)}: {name}")
    assert dead == []


def test_sitegen_writes_out_through_its_scratch_only() -> None:
    """Every file of OUT is written by publish/scratch.py: its temp names are the ones a
    build sweeps after a killed sitegen (jsonio's own temp files would stay for good)."""
    writers = {"write_atomic", "write_json_atomic"}
    breaches = []
    for path in module_files():
        if not dotted(path).startswith("sitegen"):
            continue
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module == "runwrap.store.jsonio":
                breaches += [f"{slash(path)}: {a.name}" for a in node.names if a.name in writers]
    assert breaches == []
