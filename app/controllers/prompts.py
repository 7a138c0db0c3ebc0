"""What a controller may ask of the user, as Protocols: no Qt here.

Controllers take an object with these methods instead of the main window, so tests hand
them a fake that answers at once (no dialog is ever shown), and the window hands them a
``QtPrompts`` (``app.controllers.qt_prompts``). ``Prompts`` is the small everyday set
(questions, reports, file pickers); ``ProjectForms`` the few whole dialogs of the File
menu, which return what the user filled in, or None when they cancelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from app.dialogs.new_project import NewProjectSpec
    from app.settings import Preferences
    from core.project_io import ExportOptions

IMAGE_FILTER = "Images (*.dcm *.dicom *.tif *.tiff *.png *.jpg *.jpeg);;All files (*)"


class Prompts(Protocol):
    def ask(self, title: str, question: str) -> bool:
        """A yes/no question that must be answered before the work goes on."""
        ...

    def inform(self, title: str, text: str) -> None:
        """A report after background work; it must not block (the user may be busy)."""
        ...

    def warn(self, title: str, text: str) -> None:
        """Something the user asked for could not be done at all (modal)."""
        ...

    def pick_file(self, caption: str, start: str = "", filter: str = "") -> str | None:
        """One existing file, or None when cancelled."""
        ...

    def pick_files(self, caption: str, start: str = "", filter: str = "") -> list[str]:
        """Existing files; empty when cancelled."""
        ...

    def pick_folder(self, caption: str, start: str = "") -> str | None:
        """An existing folder, or None when cancelled."""
        ...


class ProjectForms(Protocol):
    def new_project_spec(self) -> NewProjectSpec | None:
        """The new-project form, filled in and validated."""
        ...

    def export_options(self, default_out: Path) -> ExportOptions | None:
        """The export form, suggesting ``default_out`` as the target folder."""
        ...

    def edit_settings(self, prefs: Preferences) -> bool:
        """The settings form; True when the user saved changes into ``prefs``."""
        ...


class ProjectPrompts(Prompts, ProjectForms, Protocol):
    """Everything the File menu asks: the everyday prompts plus its forms."""
