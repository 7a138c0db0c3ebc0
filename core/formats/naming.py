"""File names in exports: one unique, deterministic stem per image.

Two images called ``IM0001.dcm`` in different folders must not overwrite each other. A
stem used by a single image is kept as is; stems shared by several images (compared
case-insensitively, since Windows and macOS file systems are) get ``_`` plus the first 8
hex digits of the image's content hash. That suffix depends only on the image itself, so
adding an image never renames another image's files in the next export... except the
first image that starts to share its stem.

Pseudonymised exports use ``pseudonym_ids`` instead: a file name can carry a patient's
name (``DOE_JANE_chest.dcm``), so each image is named by an opaque id made from its
content hash alone (``img-`` + 12 hex digits), which no export folder can be traced back
from without the project.
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


PSEUDONYM_PREFIX = "img-"
PSEUDONYM_HEX = 12  # 48 bits: a chance collision needs ~16 million images, and is handled
_HEX = re.compile(rf"[0-9a-f]{{{PSEUDONYM_HEX},}}")


def pseudonym_ids(images: Sequence[tuple[int, str | None]]) -> dict[int, str]:
    """``{image id: "img-<hex>"}`` for ``(image id, sha256 or None)`` pairs.

    The id is ``img-`` + the first 12 hex digits of the content hash, lengthened (4 digits
    at a time) only when another image already holds it, and ``img-<12 hex>-<image id>``
    for a second copy of the same content; ``img-id<image id>`` when no hash was recorded.
    Images are settled in image-id order, so an image added later never takes an id an
    earlier image had: pass every image of the project (not a filtered page) and the ids
    stay the same from one export to the next.
    """
    out: dict[int, str] = {}
    taken: set[str] = set()
    digests: set[str] = set()
    for image_id, sha in sorted(images, key=lambda e: int(e[0])):
        digest = (sha or "").strip().lower()
        if _HEX.fullmatch(digest):
            # A longer prefix only helps against another hash; a copy gets the row id.
            lengths = range(PSEUDONYM_HEX, len(digest) + 1, 4) if digest not in digests else ()
            digests.add(digest)
            name = next(
                (c for c in (f"{PSEUDONYM_PREFIX}{digest[:n]}" for n in lengths) if c not in taken),
                f"{PSEUDONYM_PREFIX}{digest[:PSEUDONYM_HEX]}-{int(image_id)}",
            )
        else:
            # "id" is not hex, so these can never meet a hash-based id.
            name = f"{PSEUDONYM_PREFIX}id{int(image_id)}"
        taken.add(name)
        out[int(image_id)] = name
    return out


def _key8(key: str) -> str:
    return _safe_key(key)[:8]


def _safe_key(key: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", key) or "x"
