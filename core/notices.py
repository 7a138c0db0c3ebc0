"""Third-party notices: every installed distribution's name, version, licence and licence
texts, collected from its metadata (``importlib.metadata``).

The build writes them once into the bundle (``THIRD_PARTY_NOTICES.txt`` beside the
executable's modules), because a frozen app keeps metadata only for the distributions its
spec copies; Help ▸ About shows :func:`notices_text`, which reads that file in a frozen
app and collects afresh from source.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
from pathlib import Path
from typing import Any

NOTICES_NAME = "THIRD_PARTY_NOTICES.txt"
VERSION_NAME = "CLINLENS_VERSION"  # written into the bundle by packaging/build.py
_LICENCE_FILE_WORDS = ("license", "licence", "copying", "notice", "authors")
_MAX_TEXT = 200_000  # one licence file; a larger one is named, not copied


_META_CACHE: dict[int, Any] = {}


def _meta(dist: md.Distribution) -> Any:
    """The parsed metadata (an email Message); ``dist.metadata`` re-parses on every access."""
    key = id(dist)
    if key not in _META_CACHE:
        _META_CACHE[key] = dist.metadata
    return _META_CACHE[key]


def licence_of(dist: md.Distribution) -> str:
    """The licence in a few words: License-Expression, else License, else classifiers."""
    meta = _meta(dist)
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    field = (meta.get("License") or "").strip()
    if field and len(field) < 120 and "\n" not in field:
        return field
    classifiers = [
        c.split("::")[-1].strip()
        for c in (meta.get_all("Classifier") or [])
        if c.startswith("License ::")
    ]
    if classifiers:
        return "; ".join(classifiers)
    return "see the licence text below" if field else "not stated"


def licence_files(dist: md.Distribution) -> list[tuple[str, str]]:
    """(file name, text) of the licence files the distribution installed.

    The ``License-File`` headers first (read from the metadata folder: cheap); only a
    distribution without them has its whole file list searched (torch's lists ~15,000).
    """
    declared = []
    for name in _meta(dist).get_all("License-File") or []:
        text = dist.read_text(f"licenses/{name}") or dist.read_text(name)
        if text is not None:
            declared.append(
                (name, text if len(text) <= _MAX_TEXT else f"({len(text)} bytes: {name})")
            )
    if declared:
        return declared
    out = []
    for file in dist.files or []:
        name = Path(str(file)).name.lower()
        parts = [p.lower() for p in Path(str(file)).parts]
        in_meta = any(p.endswith((".dist-info", ".egg-info")) for p in parts)
        if not any(w in name for w in _LICENCE_FILE_WORDS):
            continue
        if not in_meta and "licenses" not in parts and "licences" not in parts:
            continue  # a module called license.py is not a licence
        try:
            path = Path(str(dist.locate_file(file)))
            if path.stat().st_size > _MAX_TEXT:
                out.append((str(file), f"(licence text of {path.stat().st_size} bytes: {file})"))
                continue
            out.append((str(file), path.read_text(encoding="utf-8", errors="replace")))
        except OSError:
            continue
    return out


# Terms that bind model files and data rather than code; the distributions' own licence
# fields do not say them.
MODEL_NOTES = (
    "Model files with their own terms:",
    "  shape_predictor_68_face_landmarks.dat (face-recognition-models, by Davis King / dlib):",
    "    trained on the iBUG 300-W dataset, whose licence excludes commercial use. ClinLens",
    "    ships only this landmark model (not the 5-point model or the CNN face detector).",
    "  ultralytics (AGPL-3.0): ClinLens builds detectors from ultralytics' model configs and",
    "    trains them itself; no pretrained ultralytics weights are shipped.",
)


def collect_notices() -> str:
    """All distributions installed here, sorted by name, with their licence texts."""
    seen: dict[str, md.Distribution] = {}
    for dist in md.distributions():
        name = (_meta(dist).get("Name") or "").strip()
        if name and name.lower() not in seen and name.lower() != "clinlens":  # not third-party
            seen[name.lower()] = dist
    lines = [
        "ClinLens third-party notices",
        "",
        "ClinLens bundles the following software. Each entry gives the distribution, its",
        "version, its licence as the distribution states it, and the licence files it ships.",
        "",
        *MODEL_NOTES,
        "",
        "Summary:",
    ]
    dists = [seen[k] for k in sorted(seen)]
    for dist in dists:
        lines.append(f"  {_meta(dist)['Name']} {dist.version}: {licence_of(dist)}")
    for dist in dists:
        lines += ["", "=" * 78, f"{_meta(dist)['Name']} {dist.version}"]
        lines.append(f"Licence: {licence_of(dist)}")
        home = _meta(dist).get("Home-page") or ""
        if home:
            lines.append(f"Home page: {home}")
        for fname, text in licence_files(dist):
            lines += ["", f"--- {fname}", text.rstrip()]
    _META_CACHE.clear()
    return "\n".join(lines) + "\n"


def app_version() -> str:
    """ClinLens' version: its installed metadata, else pyproject's (a source checkout)."""
    frozen = Path(getattr(sys, "_MEIPASS", "")) / VERSION_NAME
    if getattr(sys, "_MEIPASS", None) and frozen.is_file():
        return frozen.read_text(encoding="utf-8").strip()
    try:
        return md.version("clinlens")
    except md.PackageNotFoundError:
        pass
    try:
        import tomllib

        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
    except (OSError, KeyError, ValueError):
        return "(version unknown)"


def bundled_notices_path() -> Path | None:
    base = getattr(sys, "_MEIPASS", None)
    if base is None:
        return None
    path = Path(base) / NOTICES_NAME
    return path if path.is_file() else None


def notices_text() -> str:
    """The bundle's notices file in a frozen app; collected from metadata otherwise."""
    path = bundled_notices_path()
    if path is not None:
        return path.read_text(encoding="utf-8", errors="replace")
    return collect_notices()
