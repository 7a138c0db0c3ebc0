"""Find moved image files again: which images are missing, and where they went.

A project keeps each image's path and the SHA-256 of its content (recorded at import), so
a file moved to another folder is recognised by its name *and* its content: a different
file that happens to share the name (``IMG0001.dcm`` is common) is never taken for it.
``Project.relocate_image`` then points the image at the new place; boxes and grades stay.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ProjectError
from core.hashing import sha256_file
from core.jobs import CancelToken, ProgressFn, check_cancel
from core.store.records import ImageRecord

if TYPE_CHECKING:
    from core.store.project import Project

_CHUNK = 64  # relocations per transaction: durable progress, short holds of the store lock
_CANCELLED = "search cancelled"


def missing_images(project: Project, cancel: CancelToken | None = None) -> list[ImageRecord]:
    """Images whose file is not where the project expects it (one ``stat`` per image)."""
    missing: list[ImageRecord] = []
    for i, record in enumerate(project.images()):
        if i % 1024 == 0:
            check_cancel(cancel, _CANCELLED)
        if not os.path.exists(project.image_path(record)):
            missing.append(record)
    return missing


@dataclass
class RelocateReport:
    """What a folder search found. Paths are absolute, as found on disk."""

    folder: str
    missing: int = 0  # images missing before the search
    relocated: list[tuple[int, str]] = field(default_factory=list)
    by_name_only: list[tuple[int, str]] = field(default_factory=list)  # no fingerprint kept
    differs: list[tuple[int, str]] = field(default_factory=list)  # same name, other content
    not_found: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (image id, reason)

    def summary(self) -> list[str]:
        found = len(self.relocated) + len(self.by_name_only)
        if not self.missing:
            return ["No image file is missing: nothing to search for."]
        lines = [f"Found {found} of {self.missing} missing image file(s) in {self.folder}."]
        if self.by_name_only:
            lines.append(
                f"{len(self.by_name_only)} matched by name only (the project kept no "
                "fingerprint of them): check they are the right images."
            )
        if self.differs:
            lines.append(
                f"{len(self.differs)} file(s) have the right name but other content and were "
                "left alone (use Locate file… to choose one anyway):"
            )
            lines += [f"  {path}" for _, path in self.differs[:20]]
        lines += [f"Not relocated: {reason}" for _, reason in self.refused[:20]]
        if self.not_found:
            lines.append(f"{len(self.not_found)} still missing.")
        return lines


def relocate_from_folder(
    project: Project,
    folder: str | os.PathLike[str],
    *,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> RelocateReport:
    """Look in ``folder`` (and below) for every missing image, by file name and content,
    and relocate those found. Images relocated before a cancel stay relocated."""
    root = Path(folder)
    if not root.is_dir():
        raise ProjectError(f"'{root}' is not a folder")
    report = RelocateReport(folder=str(root))
    missing = missing_images(project, cancel)
    report.missing = len(missing)
    if not missing:
        return report
    wanted: dict[str, list[ImageRecord]] = {}
    for record in missing:
        wanted.setdefault(Path(record.path).name, []).append(record)
    candidates = _find_names(root, set(wanted), progress, cancel)
    matches: list[tuple[ImageRecord, str, str | None, bool]] = []
    hashes: dict[str, str] = {}
    taken: set[str] = set()
    checked = 0
    for name, records in wanted.items():
        paths = candidates.get(name, [])
        for record in records:
            checked += 1
            if progress is not None:
                progress(checked, len(missing), f"checking {name}")
            check_cancel(cancel, _CANCELLED)
            found = _match(record, paths, hashes, taken)
            if found is None:
                if paths:
                    report.differs.append((record.id, paths[0]))
                else:
                    report.not_found.append(record.id)
                continue
            path, by_name = found
            taken.add(path)
            matches.append((record, path, hashes.get(path), by_name))
    _apply(project, matches, report, cancel)
    return report


def _find_names(
    root: Path, names: set[str], progress: ProgressFn | None, cancel: CancelToken | None
) -> dict[str, list[str]]:
    """Every file below ``root`` whose name is one of ``names`` (exact, else the same
    name in another case, as files copied between Windows and Linux often end up)."""
    lower = {n.lower(): n for n in names}
    found: dict[str, list[str]] = {}
    for i, (dirpath, _dirs, files) in enumerate(os.walk(root)):
        check_cancel(cancel, _CANCELLED)
        if progress is not None and i % 50 == 0:
            progress(0, 0, f"searching {dirpath}")
        for f in files:
            key = f if f in names else lower.get(f.lower())
            if key is not None:
                found.setdefault(key, []).append(os.path.join(dirpath, f))
    for paths in found.values():
        paths.sort()  # the same answer on every file system
    return found


def _match(
    record: ImageRecord, paths: list[str], hashes: dict[str, str], taken: set[str]
) -> tuple[str, bool] | None:
    """The candidate that is this image: same content; by name only when the project
    kept no fingerprint and exactly one file has the name."""
    free = [p for p in paths if p not in taken]
    if record.sha256 is None:
        if len(paths) != 1 or not free:
            return None
        try:  # record a fingerprint now, so the next move is recognised by content
            hashes[free[0]] = sha256_file(free[0])
        except OSError:
            return None
        return free[0], True
    for path in free:
        if path not in hashes:
            try:
                hashes[path] = sha256_file(path)
            except OSError:
                continue
        if hashes[path] == record.sha256:
            return path, False
    return None


def _apply(
    project: Project,
    matches: list[tuple[ImageRecord, str, str | None, bool]],
    report: RelocateReport,
    cancel: CancelToken | None,
) -> None:
    for start in range(0, len(matches), _CHUNK):
        check_cancel(cancel, _CANCELLED)
        with project.batch():
            for record, path, digest, by_name in matches[start : start + _CHUNK]:
                try:
                    with project.batch():  # one refusal must not undo the others
                        project.relocate_image(record.id, path, sha256=digest)
                        if record.error is not None:
                            project.set_image_error(record.id, None)  # found: readable again
                except ProjectError as exc:
                    report.refused.append((record.id, str(exc)))
                    continue
                (report.by_name_only if by_name else report.relocated).append((record.id, path))
