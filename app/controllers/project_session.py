"""Opening, creating and closing projects; the recent list; the read-only fallbacks.

Questions to the user (open read-only?) go through ``ask`` so tests answer them without
clicking dialogs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.settings import Preferences
from core.errors import ClinLensError, ProjectError, ProjectLockedError

log = logging.getLogger("clinlens.session")

Ask = Callable[[str, str], bool]  # (title, question) -> yes?


class ProjectSession:
    def __init__(self, prefs: Preferences, ask: Ask) -> None:
        self.prefs = prefs
        self.ask = ask
        self.project: Any = None
        self.read_only_reason: str | None = None

    def open(self, folder: str | Path, *, read_only: bool = False) -> Any:
        """Open a project; a locked or unwritable one is offered read-only.

        Returns the project, or None when the user declined. Raises ClinLensError with a
        readable message when it cannot be opened at all.
        """
        from core.store import Project

        folder = Path(folder).expanduser()
        author = self.prefs.author
        reason = None
        try:
            project = Project.open(folder, read_only=read_only, author=author)
        except ProjectLockedError as exc:
            question = (
                f"{exc}\n\nAnother ClinLens window (or a command) is editing this project. "
                "Open it read-only? You can look but not change anything."
            )
            if not self.ask("Project in use", question):
                return None
            project = Project.open(folder, read_only=True, author=author)
            reason = "another ClinLens is editing it"
        except ProjectError as exc:
            if read_only:
                raise
            # Not writable (read-only folder or file, a share mounted read-only...)? If it
            # opens for reading, offer that; otherwise the first error is the real one.
            try:
                project = Project.open(folder, read_only=True, author=author)
            except ClinLensError:
                raise exc from None
            question = f"{exc}\n\nOpen the project read-only? You can look but not change anything."
            if not self.ask("Project cannot be written", question):
                project.close()
                return None
            reason = "it cannot be written here"
        if project.read_only and reason is None:
            reason = (
                "the folder cannot be written" if _looks_unwritable(folder) else "opened read-only"
            )
        self._replace(project)
        self.read_only_reason = reason if project.read_only else None
        self.prefs.add_recent(folder)
        return project

    def create(self, spec: Any) -> Any:
        from core.store import Project

        project = Project.create(
            spec.folder,
            label_set=spec.label_set,
            scales=spec.scales,
            name=spec.name,
            author=self.prefs.author,
        )
        self._replace(project)
        self.read_only_reason = None
        self.prefs.add_recent(spec.folder)
        return project

    def _replace(self, project: Any) -> None:
        self.close()
        self.project = project

    def close(self) -> None:
        if self.project is not None:
            try:
                self.project.close()
            except ClinLensError as exc:
                log.warning("closing the project: %s", exc)
            self.project = None


def _looks_unwritable(folder: Path) -> bool:
    return folder.is_dir() and not os.access(folder, os.W_OK)
