"""Where an export may be written: checked before anything is, with a message that says why.

The project folder holds what ClinLens manages (the database and its side files and
backups, ``models/``, caches, the lock): an export written there could replace a model
whose hash the database trusts, or fill a cache with files it never made. So inside the
project only a new folder under ``exports/`` is allowed. ``..`` and symlinks are resolved
first (``exports/../models/x`` and a link into ``models/`` are what they lead to), and the
export is then written to that resolved place, so the check and the write agree.

Also settled here, for the CLI and the GUI alike: whether an export is pseudonymised by
default (yes when it leaves the project folder).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

from core.errors import ClinLensError
from core.store import DB_NAME

EXPORTS_DIR = "exports"
# Kept by pseudonymised exports: which image each id stands for. Inside exports/ so that it
# stays with the project, and managed, so no export may be written into it.
ID_MAPS_DIR = "pseudonyms"

_NOTHING = "(nothing was written)"


def _key(path: str) -> str:
    # Windows and (by default) macOS file systems ignore case: EXPORTS/../Models is models/.
    path = os.path.normcase(path)
    return path.lower() if sys.platform == "darwin" else path


def resolved(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute with every symlink and ``..`` resolved (it need not exist).

    As the file system does it: ``link/..`` is the folder above the link's target, not the
    folder holding the link (a lexical clean-up first would get that wrong)."""
    return Path(os.path.realpath(os.path.expanduser(os.fspath(path))))


def relative_inside(path: Path, root: Path) -> tuple[str, ...] | None:
    """The parts of resolved ``path`` below resolved ``root`` (``()`` for root itself), or
    None when it lies outside."""
    p, r = resolved(path), resolved(root)
    kp, kr = _key(str(p)), _key(str(r))
    if kp == kr:
        return ()
    prefix = kr.rstrip(os.sep) + os.sep
    if not kp.startswith(prefix):
        return None
    return tuple(part for part in str(p)[len(prefix) :].split(os.sep) if part)


def is_outside(path: str | os.PathLike[str], project_folder: str | os.PathLike[str]) -> bool:
    """True when ``path`` (resolved) is not inside the project folder: the case in which an
    export is pseudonymised unless asked otherwise."""
    return relative_inside(Path(path), Path(project_folder)) is None


def _managed(parts: tuple[str, ...]) -> str | None:
    """Why the place at ``parts`` (below the project folder) takes no export, or None."""
    if not parts:
        return "it is the project folder itself"
    first = _key(parts[0])
    if first == _key(EXPORTS_DIR):
        if len(parts) == 1:
            return (
                "it is the project's exports folder itself (each export needs a new folder in it)"
            )
        if _key(parts[1]) == _key(ID_MAPS_DIR):
            return (
                f"it is in {EXPORTS_DIR}/{ID_MAPS_DIR}/, where the project keeps which image "
                "each pseudonym stands for"
            )
        return None
    if first == _key("models"):
        return "it is in models/, where the project keeps its registered models"
    if first.startswith(_key(DB_NAME)):
        return "it is the project database (or one of its journal and backup files)"
    if first in (_key(".cache"), _key("cache")):
        return f"it is in {parts[0]}/, the project's cache"
    if first.startswith(".clinlens"):
        return "it is the project's lock file"
    return "it is inside the project folder, where only exports/ takes exports"


def check_destination(out: Path, project_folder: Path) -> Path:
    """The resolved folder to write the export to; ClinLensError (nothing written) when
    ``out`` is inside what the project manages, is not a folder, is a non-empty folder, or
    lies below something that is not a folder. Writability is found out by writing."""
    real = resolved(out)
    shown = (
        f"'{out}'"
        if _key(str(real)) == _key(os.path.abspath(out))
        else (f"'{out}' (which leads to '{real}')")
    )
    parts = relative_inside(real, project_folder)
    if parts is not None:
        what = _managed(parts)
        if what is not None:
            suggestion = resolved(project_folder) / EXPORTS_DIR / "NAME"
            raise ClinLensError(
                f"cannot export into {shown}: {what}; export into a new folder such "
                f"as '{suggestion}' or outside the project {_NOTHING}"
            )
    if os.path.islink(out):
        try:
            os.stat(out)
        except FileNotFoundError:
            raise ClinLensError(
                f"'{out}' is a broken symbolic link (it leads nowhere); choose a folder {_NOTHING}"
            ) from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ClinLensError(
                    f"'{out}' is a symbolic link that leads round in a circle; choose a folder "
                    f"{_NOTHING}"
                ) from None
            # Anything else is told below, when the resolved place is looked at.
    try:
        st: os.stat_result | None = os.stat(real)
    except (FileNotFoundError, NotADirectoryError):  # the latter: a file above it (below)
        st = None
    except OSError as exc:
        raise ClinLensError(
            f"cannot look at {shown}: {describe_os_error(exc)} {_NOTHING}"
        ) from None
    if st is not None:
        kind = _not_a_folder(st.st_mode)
        if kind is not None:
            raise ClinLensError(
                f"{shown} is {kind}, not a folder; give the name of a new folder {_NOTHING}"
            )
        try:
            empty = not any(os.scandir(real))
        except OSError as exc:
            raise ClinLensError(
                f"cannot look into {shown}: {describe_os_error(exc)} {_NOTHING}"
            ) from None
        if not empty:
            raise ClinLensError(
                f"{shown} already exists and is not empty; choose a new folder {_NOTHING}"
            )
    # The first existing folder above: a file there would fail mkdir with a puzzling
    # "Not a directory".
    above = real.parent
    while not above.exists() and above != above.parent:
        above = above.parent
    if above.exists() and not above.is_dir():
        raise ClinLensError(
            f"cannot export into {shown}: '{above}' is a file, not a folder {_NOTHING}"
        )
    return real


def _not_a_folder(mode: int) -> str | None:
    if stat.S_ISDIR(mode):
        return None
    if stat.S_ISREG(mode):
        return "an existing file"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular folder"


def describe_os_error(exc: OSError) -> str:
    """A user's words for why a folder or file could not be written."""
    code = exc.errno
    if code in (errno.EACCES, errno.EPERM):
        return "permission denied (the folder is read-only or protected)"
    if code == errno.EROFS:
        return "the disk is read-only"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return "the disk is full"
    if code == errno.ENAMETOOLONG:
        return "the name is too long"
    return exc.strerror or str(exc)


# An OSError with one of these while writing an export is about the destination, not one
# image: the whole export fails (rather than every image being skipped one by one).
DESTINATION_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)})
