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

Layout. ``Database`` (``database.py``) is the shared access: connection, ``read()``,
``write()`` (nesting transactions), ``audit()``, ``meta()``, the author. Parts of the API
are *repositories* over it, reached from the project:

- ``project.definitions`` (``DefinitionsRepository``, ``definitions.py``): ``label_set()``,
  ``add_label()``, ``scales()``, ``add_scale()``;
- ``project.grading`` (``GradesRepository``, ``grades.py``): ``grades()``,
  ``grades_by_image()``, ``set_grade()``, ``clear_grade()``, ``set_review_status()``.
- ``project.model_trust`` (``ModelTrustRepository``, ``model_trust.py``): the SHA-256 of
  each model file the project trusts (append-only), ``record()``, ``get()``, ``records()``;
  ``model_trust.open_repository(folder)`` finds the one of a project open in this process.
- ``project.heldout`` (``HeldoutRepository``, ``heldout.py``): each image's frozen role,
  ``"train"`` or ``"heldout"`` (20 %, stratified by label set, seeded; assigned by
  ``add_images(..., labels=...)`` in its transaction, never updated): ``role(id)``,
  ``roles()``, ``ids(role, reviewed_only=False)``, ``summary()`` (``stats()["heldout"]``),
  ``fraction()``, ``seed()``.
- ``project.tags`` (``TagsRepository``, ``tags.py``): image-level tags (lesion types
  present): the grader's choice, else what the boxes say: ``kinds()``, ``get()``,
  ``by_image()``, ``set()``, ``reset()``.

``Project`` still forwards those names (``project.set_grade(...)``) for callers not yet
moved; new code calls the repository. Images and boxes are still mixins of ``Project``
(``images.py``, ``boxes.py`` on ``base.ProjectBase``).

Adding a table (held-out set, training runs, queue scores, readers...): not another mixin.

1. Append a migration creating it to ``schema.MIGRATIONS``.
2. Write ``core/store/<thing>.py`` with ``class <Thing>Repository`` taking only the
   ``Database``: ``with self._db.write() as conn:`` per edit, ``self._db.audit(conn, ...)``
   for what the audit log should show, ``with self._db.read() as conn:`` per query. For
   rows of other tables use the plain lookups taking a connection (``images.get_image``,
   ``definitions.get_scale``, ``definitions.label_id_of``), never the ``Project``.
3. Build it in ``Project.__init__`` (``self.<things> = <Thing>Repository(db)``) and list
   it above.
4. Test it alone: ``tests/core/conftest.fresh_database(tmp_path)`` gives a ``Database``
   over a new project file, no ``Project`` needed (see ``tests/core/test_store_repositories.py``).
"""

from core.store.database import Database
from core.store.definitions import DefinitionsRepository
from core.store.grades import GradesRepository
from core.store.heldout import HeldoutRepository
from core.store.model_trust import ModelTrustRepository, TrustRecord
from core.store.project import DB_NAME, Project
from core.store.records import AuditEvent, ImageRecord, NewImage

__all__ = [
    "DB_NAME",
    "AuditEvent",
    "Database",
    "DefinitionsRepository",
    "GradesRepository",
    "HeldoutRepository",
    "ImageRecord",
    "ModelTrustRepository",
    "NewImage",
    "Project",
    "TrustRecord",
]
