"""Per-patch feature cache: in memory, or one SQLite file in the project.

Key = image identity (content SHA-256 when known, else path + size + mtime) + patch box
(to 0.1 px) + backbone cache key (backbone and weights hash). A re-run of training or
evaluation on the same project then only computes features for new photos or patches; a
different weights file never reuses old numbers. SQLite (not .npz) because the cache grows
one photo at a time and may be read by the GUI while a training job writes it.
Patch sets (the landmark step, ~15 ms a photo) are cached the same way.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

CACHE_DIRNAME = "cache"
CACHE_FILENAME = "severity_features.sqlite"


def image_key(sha256: str | None, path: str | Path | None = None) -> str:
    """A stable identity for an image: its content hash, else path + size + mtime."""
    if sha256:
        return f"sha:{sha256}"
    if path is None:
        raise ValueError("an image key needs a sha256 or a path")
    p = Path(path)
    try:
        st = p.stat()
        return f"path:{p.resolve()}:{st.st_size}:{st.st_mtime_ns}"
    except OSError:
        return f"path:{p}"


def feature_key(img_key: str, box: Sequence[float], extractor_key: str) -> str:
    coords = ",".join(f"{float(v):.1f}" for v in box)
    return hashlib.sha1(f"{img_key}|{coords}|{extractor_key}".encode()).hexdigest()


class FeatureCache:
    """``path=None``: memory only. Otherwise a SQLite file (created on first use)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = None if path is None else Path(path)
        self._mem: dict[str, np.ndarray] = {}
        self._json: dict[str, str] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS features (key TEXT PRIMARY KEY, dim INTEGER, data BLOB)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data TEXT)")
            self._db.commit()

    @classmethod
    def for_project(cls, project_folder: str | Path) -> FeatureCache:
        return cls(Path(project_folder) / CACHE_DIRNAME / CACHE_FILENAME)

    # --- features --------------------------------------------------------------------
    def get_many(self, keys: Iterable[str]) -> dict[str, np.ndarray]:
        keys = list(keys)
        with self._lock:
            found = {k: self._mem[k] for k in keys if k in self._mem}
            missing = [k for k in keys if k not in found]
            if self._db is not None and missing:
                for start in range(0, len(missing), 500):
                    chunk = missing[start : start + 500]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"SELECT key, dim, data FROM features WHERE key IN ({marks})", chunk
                    ).fetchall()
                    for key, dim, data in rows:
                        vec = np.frombuffer(data, dtype=np.float32).copy()
                        if vec.shape[0] == dim:
                            self._mem[key] = vec
                            found[key] = vec
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock:
            for k, v in items.items():
                self._mem[k] = np.asarray(v, dtype=np.float32)
            if self._db is not None and items:
                self._db.executemany(
                    "INSERT OR REPLACE INTO features (key, dim, data) VALUES (?, ?, ?)",
                    [
                        (k, int(v.shape[0]), np.asarray(v, np.float32).tobytes())
                        for k, v in items.items()
                    ],
                )
                self._db.commit()

    # --- small JSON documents (patch sets) -------------------------------------------
    def get_json(self, key: str) -> Any | None:
        with self._lock:
            text = self._json.get(key)
            if text is None and self._db is not None:
                row = self._db.execute("SELECT data FROM blobs WHERE key = ?", (key,)).fetchone()
                text = None if row is None else str(row[0])
        return None if text is None else json.loads(text)

    def put_json(self, key: str, value: Any) -> None:
        text = json.dumps(value)
        with self._lock:
            self._json[key] = text
            if self._db is not None:
                self._db.execute(
                    "INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)", (key, text)
                )
                self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            if self._db is not None:
                return int(self._db.execute("SELECT COUNT(*) FROM features").fetchone()[0])
            return len(self._mem)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> FeatureCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
