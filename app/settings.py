"""User preferences kept with QSettings in an INI file inside the ClinLens data folder.

Keeping the file under ``core.paths.app_data_dir()`` (not the platform registry) means the
tests' per-test data dir isolates settings too, and a portable install carries them along.
Holds only what the GUI needs between runs: recent projects, author name, theme, window
layout.
"""

from __future__ import annotations

import getpass
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from core.paths import app_data_dir

MAX_RECENT = 10


def settings_path() -> Path:
    return app_data_dir() / "clinlens-gui.ini"


def qsettings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


class Preferences:
    """Typed access to the few values the GUI remembers."""

    def __init__(self) -> None:
        self.s = qsettings()

    # recent projects --------------------------------------------------------------------
    def recent_projects(self) -> list[str]:
        value = self.s.value("projects/recent", [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):  # a hand-edited INI can hold anything
            return []
        return [str(v) for v in value if v]

    def add_recent(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())
        recent = [r for r in self.recent_projects() if r != folder]
        self.s.setValue("projects/recent", [folder, *recent][:MAX_RECENT])
        self.s.setValue("projects/last", folder)
        self.s.sync()

    def remove_recent(self, folder: str | Path) -> None:
        folder = str(Path(folder).resolve())
        self.s.setValue("projects/recent", [r for r in self.recent_projects() if r != folder])
        self.s.sync()

    def last_project(self) -> str | None:
        value = self.s.value("projects/last", "")
        return str(value) if value else None

    # identity and looks ------------------------------------------------------------------
    @property
    def author(self) -> str:
        return str(self.s.value("user/author", "") or _default_author())

    @author.setter
    def author(self, name: str) -> None:
        self.s.setValue("user/author", name.strip())
        self.s.sync()

    @property
    def theme(self) -> str:
        value = str(self.s.value("ui/theme", "dark") or "dark")
        return value if value in ("light", "dark") else "dark"

    @theme.setter
    def theme(self, name: str) -> None:
        self.s.setValue("ui/theme", name)
        self.s.sync()

    @property
    def auto_suggest(self) -> bool:
        return str(self.s.value("model/auto_suggest", "false")).lower() == "true"

    @auto_suggest.setter
    def auto_suggest(self, on: bool) -> None:
        self.s.setValue("model/auto_suggest", "true" if on else "false")
        self.s.sync()

    @property
    def demo_created(self) -> bool:
        return str(self.s.value("projects/demo_created", "false")).lower() == "true"

    @demo_created.setter
    def demo_created(self, on: bool) -> None:
        self.s.setValue("projects/demo_created", "true" if on else "false")
        self.s.sync()

    # where the user was (issue 17: pickers start there, a project reopens on its image) -
    def folder(self, purpose: str) -> str | None:
        """The folder last used for ``purpose`` ("images", "export", "projects"), if it
        still exists."""
        value = str(self.s.value(f"folders/{purpose}", "") or "")
        return value if value and Path(value).is_dir() else None

    def set_folder(self, purpose: str, folder: str | Path) -> None:
        self.s.setValue(f"folders/{purpose}", str(folder))
        self.s.sync()

    @staticmethod
    def _project_key(project_folder: str | Path) -> str:
        import hashlib

        resolved = str(Path(project_folder).resolve())
        return hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:16]

    def last_image(self, project_folder: str | Path) -> int | None:
        value = self.s.value(f"last_image/{self._project_key(project_folder)}", "")
        try:
            return int(str(value))
        except ValueError:
            return None

    def set_last_image(self, project_folder: str | Path, image_id: int) -> None:
        # No sync: this changes on every image; QSettings writes it out on its own.
        self.s.setValue(f"last_image/{self._project_key(project_folder)}", int(image_id))

    # window layout -----------------------------------------------------------------------
    def save_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self.s.setValue("window/geometry", geometry)
        self.s.setValue("window/state", state)
        self.s.sync()

    def layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        geometry = self.s.value("window/geometry")
        state = self.s.value("window/state")
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )
