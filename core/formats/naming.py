"""File names in exports: one unique, deterministic stem per image.

Two images called ``IM0001.dcm`` in different folders must not overwrite each other. A
stem used by a single image is kept as is; stems shared by several images (compared
case-insensitively, since Windows and macOS file systems are) get ``_`` plus the first 8
hex digits of the image's content hash. That suffix depends only on the image itself, so
adding an image never renames another image's files in the next export... except the
first image that starts to share its stem.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePath

_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f]')


def safe_stem(name: str) -> str:
    """A file stem valid on Windows, macOS and Linux (unsafe characters become ``_``)."""
    stem = _UNSAFE.sub("_", PurePath(name.replace("\\", "/")).stem).strip().rstrip(".")
    return stem or "image"


def unique_stems(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Stems for ``(stored path or file name, stable unique key such as sha256)`` entries."""
    stems = [safe_stem(path) for path, _ in entries]
    counts = Counter(s.lower() for s in stems)
    out: list[str] = []
    for stem, (_, key) in zip(stems, entries, strict=True):
        out.append(stem if counts[stem.lower()] == 1 else f"{stem}_{_key8(key)}")
    # A suffixed stem could (absurdly) equal another image's own stem; settle by full key.
    final = Counter(s.lower() for s in out)
    return [
        s if final[s.lower()] == 1 else f"{stems[i]}_{_safe_key(entries[i][1])}"
        for i, s in enumerate(out)
    ]


def _key8(key: str) -> str:
    return _safe_key(key)[:8]


def _safe_key(key: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", key) or "x"
