"""Everything a job or a user wrote is escaped on every page, by stock Jinja's autoescape:
each field of a hostile ROOT, built by the installed jinja2 and MarkupSafe and by the
oldest ones pyproject.toml allows (installed here into a throwaway venv from the index)."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import venv
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import jinja2.compiler
import jinja2.runtime
import pytest
from markupsafe import Markup
from packaging.version import Version

from runwrap.store.layout import NOTIFICATIONS
from runwrap.store.manifest import write_manifest
from sitegen.config import find_theme
from sitegen.render.templating import make_env

from helpers.runs import BIN
from helpers.sites import ENV, snapshot, write_run

REPO = Path(__file__).resolve().parents[2]
TAG = "x-pwn"  # the element a hostile string tries to plant


def hostile(field: str) -> str:
    """A string that breaks out of text, of a quoted attribute of either kind and of a
    comment if it is written unescaped; it starts with `field`, the name of where it was
    put, so that each field's string can be found (escaped) on a page, even cut short."""
    return f"{field}<{TAG} data-pwn=1>\"'&<!--</{TAG}><script>pwn()</script>"


ARTIFACT = f"<{TAG}>ARTIFACT\"'&.txt"  # a file name (no "/")
TASK = f"TASK<{TAG}>\"'&"  # a directory's name


def write_hostile_root(root: Path) -> dict[str, str]:
    """A ROOT whose every job-written field is hostile; returns the config (as YAML, in
    its JSON form) whose title, site URL and task description are hostile too."""
    task = TASK
    files = {ARTIFACT: b"data\n", "report.md": hostile("REPORT").encode()}
    for n, status in enumerate(["success", "failed", "timeout", "failed"]):
        write_run(
            root,
            task,
            n,
            status,
            stdout=hostile("STDOUT").encode(),
            stderr=hostile("STDERR").encode(),
            feedback={hostile("FBKEY"): hostile("FBVALUE"), "info": hostile("INFO")},
            labels={hostile("LABELKEY"): hostile("LABELVALUE")},
            files=files,
            reason=hostile("REASON"),
        )
    run_id = write_run(
        root, task, 9, "running", stdout=hostile("LIVEOUT").encode(),
        feedback={"info": hostile("RUNINFO"), "progress": "42"},
        labels={hostile("LABELKEY"): hostile("LABELVALUE")},
    )  # fmt: skip
    runs = root / "tasks" / task / "runs"
    for path in sorted(runs.iterdir()):
        manifest = json.loads((path / "manifest.json").read_text())
        manifest.update(
            host=hostile("HOST"),
            user=hostile("USER"),
            command=["sh", "-c", hostile("COMMAND")],
            signal=hostile("SIGNAL"),
        )
        if path.name == run_id:
            manifest["liveness"] = hostile("LIVENESS")
        else:
            attempt = {"notifier": hostile("NOTIFIER"), "type": hostile("NTYPE")}
            attempt |= {"event": hostile("EVENT"), "ok": False, "error": hostile("NERROR")}
            attempt |= {"at": hostile("NAT"), "run_id": hostile("ABOUT")}
            (path / NOTIFICATIONS).write_text(json.dumps([attempt]))
        write_manifest(str(path), manifest, durable=False)
    return {
        "site": {"title": hostile("TITLE"), "site_url": f"https://x.example/{hostile('URL')}"},
        "tasks": {task: {"description": hostile("DESCRIPTION")}},
    }


# Each field's marker, and the kind of page that must show it.
FIELDS = {
    "index.html": ["TITLE", "TASK", "RUNINFO", "LABELKEY", "LABELVALUE"],
    "tasks/*/index.html": ["DESCRIPTION", "COMMAND", "REASON"],
    "tasks/*/runs/*/index.html": [
        "STDOUT", "STDERR", "LIVEOUT", "FBKEY", "FBVALUE", "INFO", "REPORT", "REASON", "HOST",
        "USER", "COMMAND", "SIGNAL", "LIVENESS", "NOTIFIER", "NTYPE", "EVENT", "NERROR",
        "NAT", "ABOUT", "ARTIFACT", "TASK",
    ],
    "feed.atom": ["TITLE", "TASK", "REASON", "URL"],
}  # fmt: skip


def _matches(rel: str, pattern: str) -> bool:
    parts, wanted = rel.split("/"), pattern.split("/")
    return len(parts) == len(wanted) and all(map(fnmatch.fnmatchcase, parts, wanted))


# What a page shows of a field whose text sitegen cuts short: its first so many characters.
CUT = {"LIVENESS": 20, "NTYPE": 50, "EVENT": 50, "NAT": 40}


def shown_as(field: str) -> str:
    """A field's hostile string as a page shows it (as text, once unescaped)."""
    if field == "COMMAND":
        return shlex.join(["sh", "-c", hostile(field)])  # the command as a shell line
    if field in ("ARTIFACT", "TASK"):
        return {"ARTIFACT": ARTIFACT, "TASK": TASK}[field]
    return hostile(field)[: CUT.get(field)]


class _Page(HTMLParser):
    """A page's elements, attributes, and its text and attribute values as a browser reads them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[str] = []
        self.scripts: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += [name for name, _ in attrs]
        self.text += [value or "" for _, value in attrs]
        if tag == "script":
            self.scripts.append(dict(attrs).get("src") or "")

    def handle_comment(self, data: str) -> None:
        self.tags.append("!--")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check_escaped(out: Path) -> None:
    """No page of the site holds a planted element, attribute, script or comment, every XML
    file parses, and each field's string is shown (escaped) where FIELDS says."""
    shown: dict[str, str] = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if rel.startswith((".sitegen", "static/")) or path.suffix not in (".html", ".atom", ".svg"):
            continue
        text = path.read_text()
        if path.suffix != ".html":
            ET.fromstring(text.encode())  # well-formed: nothing broke out of its element
        page = _Page()
        page.feed(text)
        page.close()
        assert TAG not in page.tags and "!--" not in page.tags, rel
        assert "data-pwn" not in page.attrs, rel
        assert all(src.endswith("/app.js") for src in page.scripts), rel
        shown[rel] = "".join(page.text)
    for pattern, fields in FIELDS.items():
        texts = [t for rel, t in shown.items() if _matches(rel, pattern)]
        assert texts, pattern
        # Shown as a person wrote it: the whole string, as text (markdown's HTML kept
        # as text too, its quotes left as they were).
        missing = [f for f in fields if not any(shown_as(f) in t for t in texts)]
        assert not missing, (pattern, missing)


def build(sitegen_bin: Path, root: Path, out: Path, config: Path, *extra: str) -> None:
    """One real build by the sitegen command at `sitegen_bin`."""
    cmd = [str(sitegen_bin), "--root", str(root), "--out", str(out), "--config", str(config)]
    result = subprocess.run(
        [*cmd, *extra], env=ENV, capture_output=True, text=True, timeout=120
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" or "Traceback" not in result.stderr


@pytest.fixture
def hostile_root(run_root: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A hostile ROOT and its hostile config file."""
    config = tmp_path / "runwrap.yaml"
    config.write_text(json.dumps(write_hostile_root(run_root)))  # YAML reads JSON
    return run_root, config


def test_hostile_strings_are_escaped_in_every_field(hostile_root, out):
    root, config = hostile_root
    build(BIN / "sitegen", root, out, config)
    check_escaped(out)


def test_the_check_sees_a_string_written_unescaped(hostile_root, out):
    # The check above can fail: a theme that writes one field with |safe is caught.
    root, config = hostile_root
    theme = out.parent / "unsafe-theme"
    (theme / "templates").mkdir(parents=True)
    run_html = (find_theme("default")[0] / "templates" / "run.html").read_text()
    assert "{{ run.reason or run.status }}" in run_html
    unsafe = run_html.replace("{{ run.reason or run.status }}", "{{ run.reason|safe }}")
    (theme / "templates" / "run.html").write_text(unsafe)
    build(BIN / "sitegen", root, out, config, "--theme", str(theme))
    with pytest.raises(AssertionError):
        check_escaped(out)


def test_the_environment_is_jinjas_own():
    # Stock autoescape: Jinja's own environment, code generator and context.
    env = make_env(find_theme("default"))
    assert type(env) is jinja2.Environment
    assert env.code_generator_class is jinja2.compiler.CodeGenerator
    assert env.context_class is jinja2.runtime.Context
    assert env.autoescape is True
    template = env.from_string("{{ v }}{{ m }}")
    assert template.render(v="<a>", m=Markup("<b>")) == "&lt;a&gt;<b>"


def test_sitegen_reaches_into_no_internals_of_jinja_or_markupsafe():
    private = re.compile(r"(jinja2|markupsafe)(\.\w+)*\._\w|from (jinja2|markupsafe)\S* import _")
    internal = re.compile(r"jinja2\.(compiler|runtime|nodes|lexer|parser|idtracking|optimizer)\b")
    for path in sorted((REPO / "sitegen").rglob("*.py")):
        source = path.read_text()
        assert not private.search(source), path
        assert not internal.search(source), path


# -- the oldest jinja2 and MarkupSafe pyproject.toml allows, against the installed ones --


def lowest_allowed() -> tuple[dict[str, str], list[str]]:
    """pyproject.toml's lower bounds of jinja2 and markupsafe, and its other dependencies."""
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M)
    assert block is not None
    deps = re.findall(r'^\s*"([^"]+)"', block.group(1), re.M)
    floors, others = {}, []
    for dep in deps:
        m = re.fullmatch(r"(jinja2|markupsafe)>=([\w.]+)", dep.replace(" ", "").lower())
        if m:
            floors[m.group(1)] = m.group(2)
        else:
            others.append(dep)
    # Each with a floor, and no ceiling: the newest release is always allowed.
    assert set(floors) == {"jinja2", "markupsafe"}, deps
    return floors, others


@pytest.fixture(scope="session")
def oldest_sitegen(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """sitegen installed with the oldest jinja2 and MarkupSafe allowed: one venv a session."""
    floors, others = lowest_allowed()
    env_dir = tmp_path_factory.mktemp("oldest-jinja") / "venv"
    venv.create(env_dir, with_pip=True)
    pip = [str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q"]
    pins = [f"{name}=={version}" for name, version in floors.items()]
    for args in ([*pins, *others], ["--no-deps", str(REPO)]):
        result = subprocess.run(
            [*pip, "--disable-pip-version-check", *args], capture_output=True, text=True,
            timeout=600,
        )  # fmt: skip
        if result.returncode != 0:
            if os.environ.get("CI") == "true":
                pytest.fail(f"pip install {args}: {result.stderr[-2000:]}")
            pytest.skip(f"cannot install {args} (no package index?): {result.stderr[-500:]}")
    probe = "import jinja2, markupsafe; print(jinja2.__version__, markupsafe.__version__)"
    got = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", probe], capture_output=True, text=True, check=True
    ).stdout.split()
    assert list(map(Version, got)) == [Version(floors["jinja2"]), Version(floors["markupsafe"])]
    return env_dir / "bin" / "sitegen", floors


@pytest.mark.timeout(600)
def test_oldest_and_installed_jinja_build_the_same_escaped_site(
    oldest_sitegen, hostile_root, tmp_path
):
    old_bin, floors = oldest_sitegen
    root, config = hostile_root
    old_out, new_out = tmp_path / "old", tmp_path / "new"
    build(old_bin, root, old_out, config)
    build(BIN / "sitegen", root, new_out, config)
    check_escaped(old_out)
    check_escaped(new_out)
    assert snapshot(old_out) == snapshot(new_out), f"jinja2 {floors} against {jinja2.__version__}"
    # OUT outlives an upgrade or a downgrade: each builds over the other's OUT (its
    # compiled templates there too) and writes the same site.
    build(BIN / "sitegen", root, old_out, config, "--full")
    build(old_bin, root, new_out, config, "--full")
    assert snapshot(old_out) == snapshot(new_out)
    check_escaped(new_out)
