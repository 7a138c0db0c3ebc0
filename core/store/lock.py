"""Single-writer lock: an OS lock on ``<project>/.clinlens.lock``.

OS locks (``flock`` on POSIX, ``msvcrt.locking`` on Windows) vanish with the process that
holds them, so a lock file left behind by a killed ClinLens never blocks the next one: the
file's existence means nothing, only the lock on it does. The file holds who has it open
(user, host, pid) so the refusal can say so.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path
from typing import IO

from core.errors import ProjectError, ProjectLockedError

LOCK_NAME = ".clinlens.lock"


def _try_lock(handle: IO[str]) -> bool:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        try:
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _unlock(handle: IO[str]) -> None:
    if sys.platform == "win32":
        import msvcrt

        handle.seek(0)
        with contextlib.suppress(OSError):
            msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        return
    import fcntl

    with contextlib.suppress(OSError):
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


class ProjectLock:
    """Exclusive write lock on a project folder. ``acquire`` raises, never waits."""

    def __init__(self, folder: Path, user: str) -> None:
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.user = user
        self._handle: IO[str] | None = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self) -> None:
        if self._handle is not None:
            return
        try:
            # "a+" creates the file without truncating what the holder wrote.
            handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - kept open
        except OSError as exc:
            raise ProjectError(
                f"cannot write to '{self.folder}' ({exc.strerror or exc}); "
                "open the project read-only or check the folder's permissions"
            ) from exc
        if not _try_lock(handle):
            holder = _read_holder(handle)
            handle.close()
            raise ProjectLockedError(
                f"'{self.folder}' is already open for writing by another ClinLens"
                f"{f' ({holder})' if holder else ''}; close it there, or open this project "
                "read-only"
            )
        self._handle = handle
        with contextlib.suppress(OSError):
            # Best effort: only used to name the holder in the refusal message.
            handle.seek(0)
            handle.truncate()
            handle.write(f"user {self.user} on {socket.gethostname()}, pid {os.getpid()}\n")
            handle.flush()

    def release(self) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        _unlock(handle)
        handle.close()


def _read_holder(handle: IO[str]) -> str:
    try:
        handle.seek(0)
        return handle.read(200).strip().splitlines()[0]
    except (OSError, IndexError, UnicodeDecodeError):
        return ""
