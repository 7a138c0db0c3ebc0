"""Database access shared by every part of one open project: the connection, transactions,
error translation, the audit log and the ``meta`` table.

A repository (``core.store.definitions``, ``core.store.grades``, ...) takes a ``Database``
rather than the ``Project``, so it can be built and tested on its own over a fresh file.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PureWindowsPath
from typing import Any

from core.errors import ProjectError, ReadOnlyProjectError
from core.store.records import now_iso


def default_author() -> str:
    """The OS user name; getpass fails in some service/container setups, hence fallbacks."""
    try:
        name = getpass.getuser()
    except Exception:  # KeyError/OSError/ImportError depending on the platform
        name = os.environ.get("USER") or os.environ.get("USERNAME") or ""
    return name.strip() or "unknown"


def to_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def from_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def audit_path(stored: str | None) -> str | None:
    """How the audit log names an image file: the stored path when it is relative to the
    project, else ``sha256:`` + the hash of the absolute path.

    An absolute path can carry a patient's name (``/scans/DOE_JANE/chest.dcm``), and the
    audit log is what gets shown and passed on; the hash still tells two places apart, and
    the ``images`` table keeps the path itself for the project's own use.
    """
    if stored is None:
        return None
    if not (os.path.isabs(stored) or PureWindowsPath(stored).is_absolute()):
        return stored
    return "sha256:" + hashlib.sha256(stored.encode("utf-8", "surrogatepass")).hexdigest()


def explain(exc: sqlite3.Error) -> str:
    """A user's words for an SQLite error."""
    text = str(exc)
    lowered = text.lower()
    if "full" in lowered:
        return "the disk is full"
    if "locked" in lowered or "busy" in lowered:
        return "the project is busy in another program; try again"
    if "readonly" in lowered or "read-only" in lowered:
        return "the project file cannot be written (read-only)"
    if "i/o" in lowered:
        return "the disk reported an error"
    if "malformed" in lowered or "not a database" in lowered:
        return "the project file is damaged"
    return text


class Database:
    """One project's connection and the rules for using it. Thread-safe: calls are
    serialised by an internal lock.

    - ``read()``: a connection to query (never waits for another thread's commit when a
      reader factory is set: see ``set_reader_factory``);
    - ``write()``: one transaction (a savepoint when nested), durable on exit, undone on
      an exception; ReadOnlyProjectError when the project is open read-only;
    - ``audit(conn, ...)``: an audit event by ``author``, inside the caller's transaction
      (image paths in it go through ``audit_path``: no absolute source paths in the log);
    - ``meta(conn, key)`` / ``set_meta(conn, key, value)``: the ``meta`` table.
    SQLite errors become ProjectError naming ``folder`` and saying what went wrong.
    """

    def __init__(
        self,
        folder: Path,
        conn: sqlite3.Connection,
        *,
        read_only: bool,
        author: str | None,
    ) -> None:
        self.folder = folder
        self.read_only = read_only
        self._conn: sqlite3.Connection | None = conn
        self._mutex = threading.RLock()
        self._depth = 0
        # Reads while another thread holds the connection (a background job committing:
        # BEGIN ... COMMIT with its fsync can take tens of ms) use a second connection
        # instead of waiting: in WAL mode it reads the last committed state at once. So
        # the GUI thread never waits for a job's write. Set up by writable projects.
        self._reader_factory: Callable[[], sqlite3.Connection] | None = None
        self._reader: sqlite3.Connection | None = None
        self._reader_mutex = threading.Lock()
        self._author = (author or "").strip() or default_author()

    # --- author ----------------------------------------------------------------------
    @property
    def author(self) -> str:
        """Who edits: recorded on boxes, grades and audit events (default: the OS user)."""
        return self._author

    @author.setter
    def author(self, value: str) -> None:
        value = str(value).strip()
        if not value:
            raise ProjectError("the author name cannot be empty")
        self._author = value

    # --- lifecycle -------------------------------------------------------------------
    def set_reader_factory(self, factory: Callable[[], sqlite3.Connection] | None) -> None:
        """How to open the second, query-only connection for reads while another thread
        writes (None: reads wait for the main connection)."""
        self._reader_factory = factory

    @property
    def closed(self) -> bool:
        return self._conn is None

    def close(self, then: Callable[[], None] | None = None) -> None:
        """Close both connections (idempotent); a writable one is optimised first.

        ``then`` runs while no other thread can use the connection (the project releases
        its write lock there)."""
        self._close_reader()
        with self._mutex:
            conn, self._conn = self._conn, None
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    if not self.read_only:
                        conn.execute("PRAGMA optimize")
                conn.close()
            if then is not None:
                then()

    def connection(self) -> sqlite3.Connection:
        """The main connection (ProjectError once closed). For tests and checks; edits go
        through ``write()``."""
        if self._conn is None:
            raise ProjectError(f"the project '{self.folder}' is closed")
        return self._conn

    # --- reading ---------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        # The main connection when it is free or this thread holds it (its own open
        # transaction must see its own writes); else the reader, rather than wait.
        if self._reader_factory is None:
            self._mutex.acquire()
        elif not self._mutex.acquire(blocking=False):
            with self._reader_mutex:
                if self._reader is None:
                    self.connection()  # a closed project: the usual message
                    try:
                        self._reader = self._reader_factory()
                    except sqlite3.Error as exc:
                        raise ProjectError(f"cannot read '{self.folder}': {explain(exc)}") from exc
                yield from self._reading(self._reader)
            return
        try:
            yield from self._reading(self.connection())
        finally:
            self._mutex.release()

    def _reading(self, conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        try:
            yield conn
        except sqlite3.Error as exc:
            raise ProjectError(f"cannot read '{self.folder}': {explain(exc)}") from exc

    def _close_reader(self) -> None:
        with self._reader_mutex:
            reader, self._reader = self._reader, None
            if reader is not None:
                reader.close()

    # --- writing ---------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction (a savepoint when nested): committed, i.e. durable, on exit."""
        if self.read_only:
            raise ReadOnlyProjectError(
                f"'{self.folder}' is open read-only (another ClinLens may be editing it); "
                "changes cannot be saved"
            )
        with self._mutex:
            conn = self.connection()
            depth = self._depth
            try:
                conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT sp{depth}")
            except sqlite3.Error as exc:
                raise ProjectError(f"cannot save to '{self.folder}': {explain(exc)}") from exc
            self._depth = depth + 1
            try:
                yield conn
            except BaseException as exc:
                self._depth = depth
                self._undo(conn, depth)
                if isinstance(exc, sqlite3.Error):
                    raise ProjectError(
                        f"cannot save to '{self.folder}': {explain(exc)}; the change was not saved"
                    ) from exc
                raise
            self._depth = depth
            try:
                conn.execute("COMMIT" if depth == 0 else f"RELEASE sp{depth}")
            except sqlite3.Error as exc:
                self._undo(conn, depth)
                raise ProjectError(
                    f"cannot save to '{self.folder}': {explain(exc)}; the change was not saved"
                ) from exc

    @staticmethod
    def _undo(conn: sqlite3.Connection, depth: int) -> None:
        # SQLite may already have rolled back by itself (e.g. disk full): then nothing to do.
        with contextlib.suppress(sqlite3.Error):
            if not conn.in_transaction:
                return
            if depth == 0:
                conn.execute("ROLLBACK")
            else:
                conn.execute(f"ROLLBACK TO sp{depth}")
                conn.execute(f"RELEASE sp{depth}")

    def audit(
        self,
        conn: sqlite3.Connection,
        action: str,
        entity: str,
        *,
        entity_id: int | None = None,
        image_id: int | None = None,
        before: Any = None,
        after: Any = None,
    ) -> None:
        conn.execute(
            "INSERT INTO audit (at, author, action, image_id, entity, entity_id, before, after) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now_iso(),
                self._author,
                action,
                image_id,
                entity,
                entity_id,
                to_json(before),
                to_json(after),
            ),
        )

    # --- meta ------------------------------------------------------------------------
    @staticmethod
    def meta(conn: sqlite3.Connection, key: str) -> str | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @staticmethod
    def set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
        if value is None:
            conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
