"""The suite shares code one way (docs/testing.md): plain helpers imported from
`helpers.<module>`, fixtures registered once by tests/conftest.py's `pytest_plugins`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
HELPERS = TESTS / "helpers"
# Adding to sys.path by hand: the one path the tests need is pyproject's `pythonpath`.
PATH_HACK = re.compile(r"\bsys\.path\s*(?:\.\s*(?:insert|append|extend)\b|=[^=]|\+=)")


def _python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def _test_modules() -> list[Path]:
    return [p for p in _python_files() if p.name.startswith("test_")]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(level, module) of every `from X import` and `import X` in a file, nested ones too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
    return found


def _assigns(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(), str(path))
    return any(
        isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets)
        for node in tree.body
    )


def _fixtures(path: Path) -> set[str]:
    """The names of the fixtures a file defines (its own function names)."""
    names = set()
    for node in ast.parse(path.read_text(), str(path)).body:
        if isinstance(node, ast.FunctionDef):
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if ast.unparse(target) == "pytest.fixture":
                    names.add(node.name)
    return names


def _defines_fixture(path: Path) -> bool:
    return bool(_fixtures(path))


def test_the_only_conftest_is_the_suite_s_own() -> None:
    conftests = [p.relative_to(TESTS).as_posix() for p in TESTS.rglob("conftest.py")]
    assert conftests == ["conftest.py"]


def test_fixtures_are_registered_only_by_the_root_conftest() -> None:
    registering = [
        p.relative_to(TESTS).as_posix()
        for p in _python_files()
        if _assigns(p, "pytest_plugins") and p != TESTS / "conftest.py"
    ]
    assert registering == []


def test_every_helper_module_with_fixtures_is_registered_once() -> None:
    tree = ast.parse((TESTS / "conftest.py").read_text())
    registered = next(
        ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "pytest_plugins"
    )
    with_fixtures = sorted(f"helpers.{p.stem}" for p in HELPERS.glob("*.py") if _defines_fixture(p))
    assert sorted(registered) == with_fixtures
    assert len(set(registered)) == len(registered)


def test_no_test_module_redefines_a_shared_fixture() -> None:
    """A copy of `rw` or `receiver` in a test file hides the shared one and drifts from it."""
    shared = set().union(*(_fixtures(p) for p in HELPERS.glob("*.py")))
    again = {
        p.relative_to(TESTS).as_posix(): sorted(_fixtures(p) & shared) for p in _test_modules()
    }
    assert {path: names for path, names in again.items() if names} == {}


def test_tests_import_shared_code_from_helpers_only() -> None:
    """Never `from conftest import`, a relative import, another test module, or a path hack."""
    wrong = []
    for path in _python_files():
        rel = path.relative_to(TESTS).as_posix()
        for level, module in _imports(path):
            last = module.rsplit(".", 1)[-1]
            if level or module == "conftest" or last.startswith("test_"):
                wrong.append(f"{rel}: {'.' * level}{module}")
        if PATH_HACK.search(path.read_text()):
            wrong.append(f"{rel}: changes sys.path")
    assert wrong == []


def test_test_directories_are_plain_directories_with_unique_module_names() -> None:
    """pytest imports each test module by its file name (tests/ has no packages but
    helpers/): two test files of one name would collide."""
    packages = [
        p.parent.relative_to(TESTS).as_posix()
        for p in TESTS.rglob("__init__.py")
        if p.parent != HELPERS
    ]
    assert packages == []
    names = [p.name for p in _test_modules()]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_docs_testing_md_names_every_helper_module() -> None:
    text = (TESTS.parent / "docs" / "testing.md").read_text()
    unnamed = [
        f"helpers.{p.stem}"
        for p in sorted(HELPERS.glob("*.py"))
        if p.stem != "__init__" and f"`helpers.{p.stem}`" not in text
    ]
    assert unnamed == []
