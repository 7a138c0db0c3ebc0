"""The SQLite project store: images, labels, scales, boxes, grades, review, audit.

See ``Project`` for the API (the contract in the shared contracts, plus these additions):

- ``Project.batch()``: several edits in one transaction (all or nothing; nests).
- ``add_images(..., existing="error"|"reuse")``: refuse or reuse paths already stored.
- ``add_box(..., keep_id=True)``: store under ``box.id`` (undo of a delete).
- ``update_box(..., author=...)`` / ``set_grade(..., author=...)``: keep an original
  author (undo); otherwise the project's author.
- ``boxes_by_image(include_rejected=False)`` / ``grades_by_image()``: the whole project in
  one query each (image id -> list), for exports of 100,000 images.
- ``box_image_id(box_id)``, ``relocate_image(image_id, path, sha256=None)``,
  ``add_label(name, color=None, hotkey=None)``, ``set_filter_settings(id, None)`` (forget),
  ``images(status=[...])`` (several statuses), ``images(grade=(scale, value))`` /
  ``(scale, "graded" | "ungraded" | "suggested")`` (human grade on a scale; ``image_count``
  takes the same), ``closed``, ``schema_version``,
  ``models_dir``, ``exports_dir``; ``ImageRecord.updated_at``;
  ``stats()`` also gives ``boxes_per_status``, ``model_grades_per_scale``,
  ``images_with_errors``, ``name``.

Every edit is one transaction, durable when the call returns; a second writer gets
ProjectLockedError; ``Project.open(..., read_only=True)`` works beside the writer.
"""

from core.store.project import DB_NAME, Project
from core.store.records import AuditEvent, ImageRecord, NewImage

__all__ = ["DB_NAME", "AuditEvent", "ImageRecord", "NewImage", "Project"]
