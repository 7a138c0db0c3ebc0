"""Project import/export: the glue between ``core.formats`` and ``core.store``.

- ``import_images(project, paths, annotations=..., fmt=..., grades_csv=..., add_labels=...)``
  -> ``ImportReport``
- ``export_project(project, ExportOptions(...))`` -> ``ExportReport``

Both take ``progress(done, total, what)`` and ``cancel`` (anything with ``is_set()``, e.g.
a ``threading.Event``) and raise ``JobCancelled`` when cancelled, so the GUI can run them
as background jobs.
"""

from core.project_export import EXPORT_FORMATS, ExportOptions, ExportReport, export_project
from core.project_import import ImportReport, import_images

__all__ = [
    "EXPORT_FORMATS",
    "ExportOptions",
    "ExportReport",
    "ImportReport",
    "export_project",
    "import_images",
]
