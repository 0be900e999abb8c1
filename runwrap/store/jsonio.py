"""JSON in and out, and atomic replacement of the files others read.

Uses the C accelerator behind the json package directly: `import json`
pulls in `re`, which alone costs more than the rest of runwrap's start-up.
The output is the same JSON; only the import is cheaper.
"""

import errno
import os
import stat

try:
    import _json

    _encode = _json.make_encoder(
        None,  # markers: our data never refers to itself
        None,  # default: unknown types are a bug, let them raise
        _json.encode_basestring_ascii,  # ASCII: a lone surrogate cannot make bad UTF-8
        None,  # indent (the C encoder cannot indent)
        ": ",
        ", ",
        True,  # sort_keys: stable files diff well
        False,
        False,
    )

    class _Context:
        # The attributes the C scanner reads from json.JSONDecoder.
        strict = False
        object_hook = None
        object_pairs_hook = None
        parse_float = float
        parse_int = int
        parse_constant = float
        memo: dict = {}

    _scan = _json.make_scanner(_Context())

    def dumps(value: object) -> str:
        """Serialise to JSON text (sorted keys, one line)."""
        return "".join(_encode(value, 0))

    def loads(text: str) -> object:
        """Parse JSON text; ValueError on anything else."""
        start = len(text) - len(text.lstrip())
        try:
            value, end = _scan(text, start)
        except (StopIteration, SystemError):
            # SystemError: on cut-off text the C scanner fails to build its error
            # (it wants json.decoder, which we never import): the same "not JSON".
            raise ValueError("not JSON") from None
        finally:
            _Context.memo.clear()
        if text[end:].strip():
            raise ValueError("extra data after JSON")
        return value

except (ImportError, AttributeError, TypeError):  # pragma: no cover - other Pythons
    import json as _stdjson

    def dumps(value: object) -> str:
        """Serialise to JSON text (sorted keys, one line)."""
        return _stdjson.dumps(value, sort_keys=True, separators=(", ", ": "))

    def loads(text: str) -> object:
        """Parse JSON text; ValueError on anything else."""
        return _stdjson.loads(text)


def writable(value: object) -> bool:
    """Whether `value` can be written as JSON again: no NaN or infinity anywhere in it.
    Python's json reads them (and 1e400 as infinity), runwrap never writes them.
    Walked without recursion: what was read may be nested as deep as the parser went."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, float):
            if item - item != 0.0:  # inf - inf and NaN - NaN are NaN
                return False
        elif isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return True


def write_atomic(path: str, data: bytes, fsync: bool = True, stamp: bool = False) -> None:
    """Replace `path` with `data` so that a reader sees the old or the new file, never half.

    A unique temp file in the same directory, flushed and fsynced, renamed
    over the target, then the directory fsynced so the rename survives a crash.
    A directory in the way is removed: every path given is a file of runwrap's.
    `stamp`: its mtime set by a utime with no time given, which the storage
    stamps with its own clock, as it does a lease's renewal (store/hosts.py).
    """
    directory = os.path.dirname(path) or "."
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if stamp:
            os.utime(fd)
        if fsync:
            os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(tmp)
        raise
    os.close(fd)
    try:
        try:
            os.replace(tmp, path)
        except IsADirectoryError:
            # A directory where runwrap keeps a file (a job made it, or a person):
            # the name is runwrap's, the file takes its place.
            from runwrap.store.layout import remove_tree

            remove_tree(path)
            os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    if fsync:
        dfd = os.open(directory, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def write_json_atomic(path: str, value: object, fsync: bool = True, stamp: bool = False) -> None:
    """Atomically replace `path` with `value` as JSON (`stamp`: see write_atomic)."""
    write_atomic(path, (dumps(value) + "\n").encode("utf-8", "surrogateescape"), fsync, stamp)


MAX_JSON = 16 * 1024 * 1024  # a manifest or state file larger than this is garbage
# Opens that never follow a link and never block on a FIFO or a device.
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Unreadable(Exception):
    """Something under ROOT that is there but cannot be used; str() says why, in one line."""


def _why(e: OSError) -> str:
    return "a symlink (not followed)" if e.errno == errno.ELOOP else e.strerror or str(e)


def read_fd(fd: int, limit: int = MAX_JSON) -> bytes:
    """All of an open regular file, at most `limit` bytes (more is Unreadable)."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise Unreadable("not a regular file")
    if st.st_size > limit:
        raise Unreadable(f"larger than {limit} bytes")
    # One read of the size fstat gave and a byte more: a regular file's read comes
    # back short only at its end, so most files need no second read to see it.
    first = os.read(fd, st.st_size + 1) if st.st_size < 1 << 20 else b""
    if 0 < len(first) <= st.st_size:
        return first
    chunks, size = [first], len(first)
    while size <= limit and (chunk := os.read(fd, 1 << 20)):
        size += len(chunk)
        chunks.append(chunk)
    if size > limit:  # it grew after fstat
        raise Unreadable(f"larger than {limit} bytes")
    return b"".join(chunks)


def parse(raw: bytes) -> object:
    """JSON from a file's bytes (any bytes: what is not UTF-8 becomes lone surrogates)."""
    try:
        return loads(raw.decode("utf-8", "surrogateescape"))
    except (ValueError, RecursionError):
        raise Unreadable("not valid JSON (cut off, or garbage)") from None


def read_json_at(name: str, dir_fd: int | None = None, limit: int = MAX_JSON) -> object:
    """The one safe reader of a JSON file under ROOT: its value, None if there is no such
    file, Unreadable if it is there but cannot be used (a link, a FIFO, huge, garbage)."""
    raw = read_bytes_at(name, dir_fd, limit)
    return None if raw is None else parse(raw)


def read_bytes_at(name: str, dir_fd: int | None = None, limit: int = MAX_JSON) -> bytes | None:
    """read_json_at()'s bytes, before parsing (for a reader that checks them first)."""
    try:
        fd = os.open(name, _FILE, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise Unreadable(_why(e)) from None
    try:
        return read_fd(fd, limit)
    except OSError as e:
        raise Unreadable(_why(e)) from None
    finally:
        os.close(fd)


def read_regular(path: str, limit: int) -> bytes | None:
    """The bytes of `path` if it is a regular file of at most `limit` bytes, else None."""
    try:
        fd = os.open(path, _FILE)
    except OSError:
        return None
    try:
        return read_fd(fd, limit)
    except (OSError, Unreadable):
        return None
    finally:
        os.close(fd)


def read_json(path: str) -> object | None:
    """read_json_at() for a reader to whom missing and unreadable are the same: "not ready
    yet". Never an exception."""
    try:
        return read_json_at(path)
    except Unreadable:
        return None


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
