"""Text helpers for messages that echo what a user's file said.

An error message repeats a value from the file (a label, a class name, a field) so the
user can find it. The file is untrusted: the value can be a megabyte long, hold newlines
that split the CLI's one error line in two, or carry terminal escapes and bidi controls
that make the message lie about what it names. ``shorten`` makes any such value safe to
put between quotes in a one-line message.
"""

from __future__ import annotations

import unicodedata

MAX_ECHO = 120  # characters of a user value repeated in a message
ELLIPSIS = "…"

# Characters that would break or disguise the one line: C0/C1 controls (newline, CR, ESC),
# format characters (bidi overrides, zero-width marks), lone surrogates (from
# surrogateescape), and the Unicode line/paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_AS_SPACE = frozenset("\t\n\r\v\f\x85\u2028\u2029")


def _safe_char(ch: str) -> str:
    if ch in _AS_SPACE:
        return " "  # keeps the words apart, as the user saw them
    if unicodedata.category(ch) in _UNSAFE_CATEGORIES:
        return "\ufffd"  # visible: the user can tell something odd is there
    return ch


def shorten(value: object, limit: int = MAX_ECHO) -> str:
    """``value`` as one line of at most ``limit`` characters, then ``…`` if it was longer.

    Line breaks and tabs become spaces, other control and format characters become
    U+FFFD; nothing else changes, so a short ordinary value reads exactly as written.
    """
    try:
        text = value if isinstance(value, str) else str(value)
    except ValueError:  # an int too long to print (sys.int_info.str_digits_check_threshold)
        return f"<a {type(value).__name__} too long to show>"
    # Only the part that will be shown is examined: a 1 MB value costs no more than 120 chars.
    head = "".join(_safe_char(ch) for ch in text[:limit])
    return head + ELLIPSIS if len(text) > limit else head


def printable_path(path: object) -> str:
    """A path as text that can be printed, stored and shown: a POSIX name that is not UTF-8
    keeps its odd bytes as ``\\udcXX`` escapes instead of breaking the output."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")
