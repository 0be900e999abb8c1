"""The feedback format against a reference model, and the incremental reader."""

from __future__ import annotations

import os
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runwrap.store.feedbacklog import MAX_LINE, FeedbackReader, parse_bytes, parse_text

KEY_START = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
KEY_REST = KEY_START + "0123456789-"


def reference(text: str) -> dict[str, str]:
    """The format as DESIGN section 4 states it, written as plainly as possible."""
    values: dict[str, str] = {}
    for line in text.split("\n"):
        if not line.startswith("[") or "]" not in line:
            continue
        key, value = line[1:].split("]", 1)
        value = value.rstrip("\r")
        if key == "":
            values = {}
        elif key[0] in KEY_START and all(c in KEY_REST for c in key):
            if value == "":
                values.pop(key, None)
            else:
                values[key] = value
    return values


keys = st.sampled_from(["progress", "info", "status", "a-b", "_x", "1bad", "bad key", ""])
values = st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=12)
lines = st.one_of(
    st.builds(lambda k, v: f"[{k}]{v}", keys, values),
    st.builds(lambda k: f"[{k}]", keys),
    st.just("[]"),
    st.just("# comment [progress]99"),
    st.just(""),
    st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=10),
)


@given(st.lists(lines, max_size=30))
def test_parser_matches_the_reference_model(doc: list[str]) -> None:
    text = "\n".join(doc)
    assert parse_text(text) == reference(text)


@settings(max_examples=60, deadline=None)
@given(st.lists(lines, max_size=20), st.lists(st.integers(1, 40), max_size=8))
def test_incremental_reading_equals_one_parse(doc: list[str], cuts: list[int]) -> None:
    import tempfile

    data = ("\n".join(doc) + "\n").encode("utf-8", "surrogatepass")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "feedback.log"
        path.write_bytes(b"")
        reader = FeedbackReader(str(path))
        pos = 0
        with open(path, "ab") as f:
            for cut in cuts:
                f.write(data[pos : pos + cut])
                f.flush()
                pos += cut
                reader.poll()
            f.write(data[pos:])
        reader.poll()
        assert reader.values == parse_bytes(data)


def test_taskwatcher_style_examples() -> None:
    text = (
        "# written by a backup script\n"
        "[progress]10\n"
        "[info]copying /home\n"
        "[progress]40\n"
        "[info]copying /srv\n"
        "[info]\n"  # removes info
        "not a feedback line\n"
        "[status]ok\n"
    )
    assert parse_text(text) == {"progress": "40", "status": "ok"}
    report = "[progress]99\n[]\n[result]3 files\n[errors]0\n"
    assert parse_text(report) == {"result": "3 files", "errors": "0"}


def test_values_keep_spaces_and_brackets() -> None:
    assert parse_text("[info]  a [b] c\n") == {"info": "  a [b] c"}
    assert parse_text("[info]x\r\n") == {"info": "x"}


def test_a_partial_last_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "fb"
    path.write_bytes(b"[progress]1\n[progress]4")
    reader = FeedbackReader(str(path))
    reader.poll()
    assert reader.values == {"progress": "1"}
    with open(path, "ab") as f:
        f.write(b"2\n")
    reader.poll()
    assert reader.values == {"progress": "42"}


def test_truncation_and_replacement_start_over(tmp_path: Path) -> None:
    path = tmp_path / "fb"
    path.write_text("[progress]10\n[info]first\n")
    reader = FeedbackReader(str(path))
    reader.poll()
    assert reader.values == {"progress": "10", "info": "first"}
    path.write_text("[progress]5\n")  # truncated and rewritten, shorter
    reader.poll()
    assert reader.values == {"progress": "5"}
    other = tmp_path / "fb.new"
    other.write_text("[info]replaced and much longer than before, so the size grows\n")
    os.replace(other, path)
    reader.poll()
    assert reader.values == {"info": "replaced and much longer than before, so the size grows"}


def test_only_new_bytes_are_read(tmp_path: Path) -> None:
    path = tmp_path / "fb"
    path.write_text("[a]1\n" * 1000)
    reader = FeedbackReader(str(path))
    reader.poll()
    with open(path, "a") as f:
        f.write("[b]2\n")
    reader.poll()
    assert reader._offset == path.stat().st_size
    assert reader.values == {"a": "1", "b": "2"}


def test_junk_never_breaks_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "fb"
    junk = bytes(range(256)) * 4
    huge = b"[big]" + b"x" * (10 * 1024 * 1024) + b"\n"
    path.write_bytes(
        b"[progress]1\n" + junk + b"\n" + huge + b"[bad\xffutf]v\n[info]\xff\xfeok\n[progress]2\n"
    )
    reader = FeedbackReader(str(path))
    reader.poll()
    assert reader.values["progress"] == "2"
    assert reader.values["info"].endswith("ok")
    assert "big" not in reader.values  # a 10 MB line is skipped, not held
    assert len(reader._pending) <= MAX_LINE


def test_missing_file_is_not_an_error(tmp_path: Path) -> None:
    reader = FeedbackReader(str(tmp_path / "none"))
    assert reader.poll() is False and reader.values == {}
