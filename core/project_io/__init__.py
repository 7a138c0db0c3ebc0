"""Project import/export: the glue between ``core.formats`` and ``core.store``.

The one way in for callers outside this package:

- ``import_images(project, paths, annotations=..., fmt=..., grades_csv=..., add_labels=...)``
  -> ``ImportReport``: ``added`` (readable images), ``errors`` (imported but marked as an
  error: the pixels would not decode), ``skipped`` (not imported, with the reason),
  ``skipped_grades`` (unmatched or conflicting rows); ``status`` is "complete",
  "partial" or "nothing" and ``outcome()`` the one line that says so (the CLI's exit
  codes 0, 3 and 2)
- ``export_project(project, ExportOptions(...))`` -> ``ExportReport``; ``EXPORT_FORMATS``
  and ``MAX_TILES`` are the limits ``ExportOptions`` is checked against.

Both take ``progress(done, total, what)`` and ``cancel`` (a ``core.jobs.CancelToken``) and
raise ``JobCancelled`` when cancelled, so the GUI can run them as background jobs.

Inside: ``importer`` (files -> store), ``grades`` (grades CSV rows -> images),
``options`` (what an export is asked to do), ``exporter`` (plan, split, write, rename into
place) and ``writers`` (one image's VOC / YOLO files, given the options).
"""

from core.project_io.exporter import ExportReport, export_project
from core.project_io.importer import ImportReport, import_images
from core.project_io.options import EXPORT_FORMATS, MAX_TILES, ExportOptions

__all__ = [
    "EXPORT_FORMATS",
    "MAX_TILES",
    "ExportOptions",
    "ExportReport",
    "ImportReport",
    "export_project",
    "import_images",
]
