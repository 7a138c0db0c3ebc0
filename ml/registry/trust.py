"""The registry's trust anchor: the SHA-256 of each model file, kept in the project database.

The registry is called with a project *folder* from the GUI's process, the read-only
detector process, the CLI and tests. The trust table is reached through the project this
process already has open for that folder (``core.store.model_trust.open_repository``):
the writable one if any (the GUI, ``predict``, ``model import``), else a read-only one (the
detector process). Where none is open, a project is opened just for the call: read-only to
read, writable (taking the project's write lock) to record, which fails plainly when another
program is writing the project.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from core.errors import ClinLensError, ModelError, ProjectLockedError, ReadOnlyProjectError
from core.store.model_trust import ModelTrustRepository, TrustRecord, open_repository


def _not_a_project(project_dir: str | Path) -> ModelError:
    return ModelError(
        f"'{Path(project_dir).name}' is not a ClinLens project: models are registered in a "
        "project, whose database records the checksum of each"
    )


@contextlib.contextmanager
def reading(project_dir: str | Path) -> Iterator[ModelTrustRepository]:
    """The trust table of ``project_dir``, to read."""
    repo = open_repository(project_dir)
    if repo is not None:
        yield repo
        return
    from core.store import DB_NAME, Project

    if not (Path(project_dir) / DB_NAME).is_file():
        raise _not_a_project(project_dir)
    try:
        project = Project.open(project_dir, read_only=True)
    except ClinLensError as exc:
        raise ModelError(f"cannot check the project's trusted models: {exc}") from exc
    with project:
        yield project.model_trust


@contextlib.contextmanager
def writing(project_dir: str | Path) -> Iterator[ModelTrustRepository]:
    """The trust table of ``project_dir``, to record in (ModelError when it cannot be)."""
    repo = open_repository(project_dir, writable=True)
    if repo is not None:
        yield repo
        return
    from core.store import DB_NAME, Project

    if not (Path(project_dir) / DB_NAME).is_file():
        raise _not_a_project(project_dir)
    try:
        project = Project.open(project_dir)
    except ProjectLockedError as exc:
        raise ModelError(
            "the model cannot be recorded in the project while another ClinLens has it open "
            "for writing: import it there, or close the project there first"
        ) from exc
    except ClinLensError as exc:
        raise ModelError(f"the model cannot be recorded in the project: {exc}") from exc
    with project:
        yield project.model_trust


def trusted(project_dir: str | Path, file: str) -> TrustRecord | None:
    """The trust record of ``models/<file>``, if the project has one."""
    with reading(project_dir) as repo:
        return repo.get(file)


def records(project_dir: str | Path) -> dict[str, TrustRecord]:
    """Every trust record of the project, by file name."""
    with reading(project_dir) as repo:
        return repo.records()


def record(project_dir: str | Path, file: str, sha256: str, kind: str, origin: str) -> TrustRecord:
    """Trust ``models/<file>`` with this hash (ModelError if the project cannot record it)."""
    try:
        with writing(project_dir) as repo:
            return repo.record(file, sha256, kind, origin)
    except ReadOnlyProjectError as exc:
        raise ModelError(f"the model cannot be recorded: {exc}") from exc
    except ModelError:
        raise
    except ClinLensError as exc:
        raise ModelError(str(exc)) from exc
