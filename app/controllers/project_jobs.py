"""Long project work as job callables for the runner: import images, export a dataset.

Each factory returns ``fn(progress, cancel)``; the runner calls it on a worker thread (the
store serialises its own calls, so the GUI keeps reading while a job writes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import ClinLensError

JobFn = Callable[[Any, Any], Any]


def import_job(project: Any, paths: Sequence[str | Path]) -> JobFn:
    """Import files/folders; unreadable images are kept in the list with their reason."""
    roots = [Path(p) for p in paths]

    def run(progress: Any, cancel: Any) -> Any:
        from core.project_io import import_images

        report = import_images(project, roots, progress=progress, cancel=cancel)
        _keep_unreadable(project, report)
        return report

    return run


def _keep_unreadable(project: Any, report: Any) -> None:
    """Add the files the importer could not read, with the reason, so the list shows them
    with an error badge instead of silently leaving them out. (The GUI imports without
    annotation files, so every skipped image here is an unreadable one.)

    The report is brought in line with the list: a file kept as an error row is counted
    among the errors, not among the skipped (it was not skipped: it is in the list)."""
    from core.store import NewImage

    kept = [
        (path, reason)
        for path, reason in getattr(report, "skipped_items", [])
        if project.find_image(path=path) is None
    ]
    if not kept:
        return
    try:
        project.add_images(
            [NewImage(path=path, width=0, height=0, error=reason) for path, reason in kept],
            existing="reuse",
        )
    except ClinLensError:
        return  # not kept: the report's "skipped" stays true
    for path, reason in kept:
        entry = f"{path}: {reason}"
        if entry in report.skipped:
            report.skipped.remove(entry)
        report.errors.append(entry)
    report.skipped_items = [item for item in report.skipped_items if item not in kept]


def export_job(project: Any, options: Any) -> JobFn:
    def run(progress: Any, cancel: Any) -> Any:
        from core.project_io import export_project

        return export_project(project, options, progress=progress, cancel=cancel)

    return run
