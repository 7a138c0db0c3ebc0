"""One training at a time per project: ``.train.lock`` in the project folder.

Created with ``O_CREAT | O_EXCL`` holding the owner's pid. A lock whose pid no longer
runs (a killed CLI) is stale and taken over; a live one refuses in one line.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from core.errors import ClinLensError

LOCK_NAME = ".train.lock"


class TrainingRunningError(ClinLensError):
    """Another training of this project is running."""


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def _owner(path: Path) -> int:
    try:
        return int(path.read_text(encoding="ascii").strip() or "0")
    except (OSError, ValueError):
        return 0


@contextlib.contextmanager
def training_lock(folder: str | Path) -> Iterator[Path]:
    path = Path(folder) / LOCK_NAME
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = _owner(path)
            if _alive(pid):
                raise TrainingRunningError(
                    f"a training of this project is already running (pid {pid}); wait for it "
                    "to finish or cancel it"
                ) from None
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # stale: its owner is gone
            continue
        except OSError as exc:
            raise ClinLensError(
                f"cannot create {LOCK_NAME} in the project folder: {exc.strerror or exc}"
            ) from exc
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(str(os.getpid()))
        break
    else:
        raise TrainingRunningError("a training of this project is already starting")
    try:
        yield path
    finally:
        if _owner(path) == os.getpid():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
