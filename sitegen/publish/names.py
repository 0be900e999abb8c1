"""Names a job chose (file names, task names, run ids), made safe to publish and to show.

A name on disk is any bytes but '/' and NUL; Python hands the bytes that are
not UTF-8 over as lone surrogates (surrogateescape). OUT only ever holds
UTF-8 names without control characters or a leading dash or dot: a name that
needs it is published percent-encoded ('%' itself always is, so two names
never meet), and shown with backslash escapes.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

NAME_MAX = 255  # bytes in one path component (Linux and most file systems)
PUBLISH_MAX = 3000  # bytes of a published path: OUT's own prefix must still fit in PATH_MAX
_PLAIN = re.compile(r"[ -$&-~]*")  # printable ASCII but '%': published and shown as is
_CUT_ESCAPE = re.compile(r"%[0-9A-F]?$")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters that reorder or hide text: a name must not pose as another one.
_BIDI = frozenset("\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_UNSAFE = frozenset({"Cc", "Cs", "Zl", "Zp"})  # controls, lone surrogates, line separators


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE or ch in _BIDI


def _byte_of(ch: str) -> int | None:
    """The undecodable byte a lone surrogate stands for (surrogateescape), if it is one."""
    code = ord(ch)
    return code - 0xDC00 if 0xDC80 <= code <= 0xDCFF else None


def _percent(ch: str) -> str:
    byte = _byte_of(ch)
    if byte is not None:
        return f"%{byte:02X}"
    return "".join(f"%{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))


def _publish_part(part: str) -> str:
    if _PLAIN.fullmatch(part):
        text = part
    else:
        text = "".join(_percent(c) if c == "%" or _unsafe(c) else c for c in part)
    if text[:1] in ("-", "."):
        # `rm *` in OUT must not read a file as an option; dot files are not served.
        text = _percent(text[0]) + text[1:]
    raw = text.encode()
    if len(raw) > NAME_MAX:
        # Escaping can triple a name. '%~' never comes out of the escaping above
        # ('%' is always followed by two hex digits), so a shortened name cannot
        # meet a name published whole; the digest keeps shortened names apart.
        digest = hashlib.sha256(raw).hexdigest()[:32]
        head = _CUT_ESCAPE.sub("", raw[: NAME_MAX - 34].decode("utf-8", "ignore"))
        text = f"{head}%~{digest}"
    return text


def publish_name(rel: str) -> str | None:
    """The path (below a run's files/) that a job's file `rel` is published under.

    UTF-8, printable, no component starting with '-' or '.', each at most
    NAME_MAX bytes, one name per file; None when the whole is too long to publish.
    """
    name = "/".join(_publish_part(p) for p in rel.split("/"))
    return name if len(name.encode()) <= PUBLISH_MAX else None


def _shown_char(ch: str) -> str:
    byte = _byte_of(ch)
    if byte is not None:
        return f"\\x{byte:02x}"
    if ch in _SHORT:
        return _SHORT[ch]
    if _unsafe(ch):
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return ch


def shown(name: str, limit: int = 1000) -> str:
    """A name as a person should read it: bytes that are not UTF-8, controls and
    direction marks written as backslash escapes; cut at `limit` characters."""
    text = name if _PLAIN.fullmatch(name) else "".join(_shown_char(c) for c in name)
    return text if len(text) <= limit else text[: limit - 1] + "…"
