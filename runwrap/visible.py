"""Text from a job made inert for a terminal: every control character shown, none obeyed.

A job's output reaches terminals through `runwrap tail`, `show`'s log tail
and the console notice (which cron mails, often read in a terminal). Raw, an
escape sequence there sets the window title, writes the clipboard (OSC 52),
moves the cursor or rewrites what was printed before it (CR, backspace).
Newlines and tabs stay as they are; everything else that is not printable
(C0 and C1 controls, DEL, bidi overrides and other format characters) is
written as its escape, `\\x1b` or `\\u202e`, so that a reader sees it was there.
"""

from __future__ import annotations

_KEPT = "\n\t"


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """`text` with every control character but newline and tab written as its escape.

    A CR right before a newline is dropped (a CRLF line ending cannot overwrite
    anything); any other CR is shown, since it would let a line hide the one before.
    """
    if text.replace("\n", "").replace("\t", "").isprintable():
        return text  # the common case: one pass, no copy
    text = text.replace("\r\n", "\n")
    return "".join(c if c.isprintable() or c in _KEPT else _escape(c) for c in text)


class Stream:
    """visible() over a byte stream read in pieces: a UTF-8 character split between
    two reads is decoded whole; invalid bytes become U+FFFD."""

    def __init__(self) -> None:
        import codecs

        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._cr = False  # the last piece ended in CR: it may be half of a CRLF

    def feed(self, data: bytes, final: bool = False) -> str:
        """The visible text of `data` (and of what earlier pieces left pending)."""
        text = self._decoder.decode(data, final)
        if self._cr:
            text = "\r" + text
        self._cr = not final and text.endswith("\r")
        if self._cr:
            text = text[:-1]
        return visible(text)
