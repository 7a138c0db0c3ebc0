"""Which model files a project trusts: the SHA-256 of each, recorded when it was registered.

A model file can run code when it is loaded, so the registry (``ml.registry``) loads a file
only while its hash equals the one recorded here. The metadata JSON beside a file in
``models/`` is not enough on its own: anyone who can swap the file can edit the JSON too,
while this table lives in the project database, changes only through ClinLens (every row is
an audit event) and is append-only (triggers refuse UPDATE and DELETE), so a file name once
trusted keeps its hash for good; a new file gets a new name.

``origin`` says how the hash got here: ``imported`` (a user's file that passed the checks of
its kind), ``trained`` (made by ClinLens itself), ``converted`` (a severity model rewritten
from an old format after the user confirmed it), ``adopted`` (registered by a ClinLens
before this table existed, and accepted once, after passing the checks, at the first
writable opening after the upgrade) and ``legacy`` (an old-format severity file, recorded
at that same moment so that ``severity convert`` can later tell it is still the same file;
it is never loaded as it is).

Callers of the registry pass a project *folder*, not a ``Project`` (the GUI, the workers,
the CLI and tests all do), so each repository built over a project this process has open is
remembered by folder: :func:`open_repository` finds it, and writes go through the one
writable ``Database`` of that folder (a folder has at most one writer, and the lock makes
a second writable opening in the same process fail). Where no project is open here,
:func:`ml.registry` opens one for the moment.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path

from core.errors import ProjectError
from core.store.database import Database
from core.store.records import now_iso

ORIGINS = ("imported", "trained", "converted", "adopted", "legacy")
# Set by the migration that made the table, on projects that existed before it: their models
# were registered with only a JSON and wait for the registry's one-time adoption.
ADOPTION_KEY = "model_trust_adoption"
ADOPTION_PENDING = "pending"

_SHA_CHARS = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class TrustRecord:
    file: str  # the name inside the project's models/ folder
    sha256: str
    kind: str
    origin: str
    recorded_at: str
    recorded_by: str


def _check(file: str, sha256: str, kind: str, origin: str) -> None:
    if not file or "/" in file or "\\" in file or file.startswith("."):
        raise ProjectError(f"'{file}' is not a model file name inside models/")
    if len(sha256) != 64 or not set(sha256) <= _SHA_CHARS:
        raise ProjectError(f"'{sha256}' is not a hex SHA-256")
    if not kind:
        raise ProjectError("a trusted model needs a kind")
    if origin not in ORIGINS:
        raise ProjectError(f"unknown trust origin '{origin}': use one of {', '.join(ORIGINS)}")


class ModelTrustRepository:
    """The ``model_trust`` table of one open project (``project.model_trust``)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._adoption_done = False
        _remember(self)

    @property
    def folder(self) -> Path:
        return self._db.folder

    @property
    def read_only(self) -> bool:
        return self._db.read_only

    @property
    def closed(self) -> bool:
        return self._db.closed

    # --- reading ---------------------------------------------------------------------
    def get(self, file: str) -> TrustRecord | None:
        with self._db.read() as conn:
            row = conn.execute(
                "SELECT file, sha256, kind, origin, recorded_at, recorded_by FROM model_trust "
                "WHERE file = ?",
                (file,),
            ).fetchone()
        return None if row is None else TrustRecord(*row)

    def records(self) -> dict[str, TrustRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT file, sha256, kind, origin, recorded_at, recorded_by FROM model_trust "
                "ORDER BY file"
            ).fetchall()
        return {r[0]: TrustRecord(*r) for r in rows}

    def adoption_pending(self) -> bool:
        """True until the registry has adopted, once, the models of an upgraded project."""
        if self._adoption_done:
            return False
        with self._db.read() as conn:
            pending = Database.meta(conn, ADOPTION_KEY) == ADOPTION_PENDING
        self._adoption_done = not pending
        return pending

    # --- writing ---------------------------------------------------------------------
    def record(self, file: str, sha256: str, kind: str, origin: str) -> TrustRecord:
        """Trust ``file`` with this hash. Recording the same file and hash again is a no-op;
        a different hash for a file name already trusted is refused (names are not reused)."""
        _check(file, sha256, kind, origin)
        with self._db.write() as conn:
            existing = self._row(conn, file)
            if existing is not None:
                if existing.sha256 != sha256 or existing.kind != kind:
                    raise ProjectError(
                        f"models/{file} is already trusted with another checksum; "
                        "a trusted model file is never replaced"
                    )
                return existing
            record = self._insert(conn, file, sha256, kind, origin)
            self._db.audit(
                conn,
                "trust_model",
                "model",
                after={"file": file, "sha256": sha256, "kind": kind, "origin": origin},
            )
        return record

    def finish_adoption(self, adopted: list[tuple[str, str, str, str]]) -> list[TrustRecord]:
        """Record ``(file, sha256, kind, origin)`` rows of an upgraded project's models and end
        the adoption, all in one transaction (it happens once per project)."""
        for item in adopted:
            _check(*item)
        out: list[TrustRecord] = []
        with self._db.write() as conn:
            if Database.meta(conn, ADOPTION_KEY) != ADOPTION_PENDING:
                self._adoption_done = True
                return []
            for file, sha256, kind, origin in adopted:
                if self._row(conn, file) is None:
                    out.append(self._insert(conn, file, sha256, kind, origin))
            Database.set_meta(conn, ADOPTION_KEY, None)
            self._db.audit(
                conn,
                "adopt_models",
                "model",
                after={"files": {r.file: r.sha256 for r in out}},
            )
        self._adoption_done = True
        return out

    @staticmethod
    def _row(conn: sqlite3.Connection, file: str) -> TrustRecord | None:
        row = conn.execute(
            "SELECT file, sha256, kind, origin, recorded_at, recorded_by FROM model_trust "
            "WHERE file = ?",
            (file,),
        ).fetchone()
        return None if row is None else TrustRecord(*row)

    def _insert(
        self, conn: sqlite3.Connection, file: str, sha256: str, kind: str, origin: str
    ) -> TrustRecord:
        record = TrustRecord(file, sha256, kind, origin, now_iso(), self._db.author)
        conn.execute(
            "INSERT INTO model_trust (file, sha256, kind, origin, recorded_at, recorded_by) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.file,
                record.sha256,
                record.kind,
                record.origin,
                record.recorded_at,
                record.recorded_by,
            ),
        )
        return record


# --- the repositories of the projects this process has open ---------------------------------
_open: dict[str, list[weakref.ref[ModelTrustRepository]]] = {}
_open_lock = threading.Lock()


def _key(folder: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.realpath(folder))


def _remember(repo: ModelTrustRepository) -> None:
    with _open_lock:
        refs = [r for r in _open.get(_key(repo.folder), []) if _alive(r)]
        refs.append(weakref.ref(repo))
        _open[_key(repo.folder)] = refs


def _alive(ref: weakref.ref[ModelTrustRepository]) -> bool:
    repo = ref()
    return repo is not None and not repo.closed


def open_repository(
    folder: str | os.PathLike[str], *, writable: bool = False
) -> ModelTrustRepository | None:
    """The trust table of the project in ``folder`` that this process already has open:
    its writable one if there is one, else (unless ``writable``) a read-only one."""
    with _open_lock:
        repos = [r() for r in _open.get(_key(folder), [])]
    live = [r for r in repos if r is not None and not r.closed]
    for repo in live:
        if not repo.read_only:
            return repo
    if writable or not live:
        return None
    return live[-1]
