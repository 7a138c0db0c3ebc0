"""The SQLite project store: images, labels, scales, boxes, grades, review, audit.

See ``Project`` for the API. Every edit is one transaction, durable when the call returns.
"""

from core.store.project import DB_NAME, Project
from core.store.records import AuditEvent, ImageRecord, NewImage

__all__ = ["DB_NAME", "AuditEvent", "ImageRecord", "NewImage", "Project"]
