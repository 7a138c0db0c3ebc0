"""The one content fingerprint ClinLens uses: hex SHA-256 of a whole file.

Images (import, relocate), model files (the registry's trust anchor) and weight files all
hash through here, so "same content" means the same thing everywhere.
"""

from __future__ import annotations

import hashlib
import os


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of the file's bytes. Raises ``OSError`` when it cannot be read."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
