"""The base of the mixins ``Project`` is still made of (images, boxes).

They reach the project's ``Database`` through these short forwards. New tables do not add
mixins: they get a repository that takes the ``Database`` itself (see ``core.store``).
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from core.store.database import Database


class ProjectBase:
    """State and plumbing of an open project; the public API lives in the mixins and the
    repositories."""

    folder: Path
    read_only: bool
    name: str

    def __init__(self, db: Database) -> None:
        self._db = db
        self.folder = db.folder
        self.read_only = db.read_only
        self.name = ""

    @property
    def author(self) -> str:
        """Who edits: recorded on boxes, grades and audit events (default: the OS user)."""
        return self._db.author

    @author.setter
    def author(self, value: str) -> None:
        self._db.author = value

    # --- plumbing (see Database) -----------------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        return self._db.connection()

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.read()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._db.write()

    def _audit(self, conn: sqlite3.Connection, action: str, entity: str, **fields: Any) -> None:
        self._db.audit(conn, action, entity, **fields)

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> str | None:
        return Database.meta(conn, key)

    @staticmethod
    def _set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
        Database.set_meta(conn, key, value)
