"""Typed errors a user can hit.

Each carries a message written for a clinician, not a developer: ``str(err)`` is the one
line the CLI prints on stderr (exit code 2) and the GUI shows in a dialog or badge.
Never put patient tags into these messages.
"""

from __future__ import annotations


class ClinLensError(Exception):
    """Base of every error with a user-readable message."""


# --- images -------------------------------------------------------------------------------
class ImageReadError(ClinLensError):
    """An image file could not be read (corrupt, truncated, empty...)."""


class UnsupportedFormatError(ImageReadError):
    """The file is not an image format ClinLens reads."""


class MissingCodecError(ImageReadError):
    """The file uses a compression for which no decoder is installed."""


class NoPixelDataError(ImageReadError):
    """A DICOM file without an image in it (e.g. a structured report)."""


class ImageTooLargeError(ImageReadError):
    """Header claims dimensions beyond a sane limit (decompression bomb guard)."""


# --- projects, formats, models -----------------------------------------------------------
class ProjectError(ClinLensError):
    """A project folder is missing, not a project, or cannot be written."""


class ProjectLockedError(ProjectError):
    """Another ClinLens process is already writing to this project."""


class ReadOnlyProjectError(ProjectError):
    """An edit was attempted on a project opened read-only."""


class FormatError(ClinLensError):
    """An annotation file (VOC, YOLO, CSV...) is malformed; message names file and line."""


class UnknownLabelError(FormatError):
    """Annotations use labels that the project's registry lacks."""

    def __init__(self, message: str, labels: list[str] | None = None) -> None:
        super().__init__(message)
        self.labels = sorted(set(labels or []))


class ModelError(ClinLensError):
    """A model file is missing, corrupt, incompatible or not trusted."""


class JobCancelled(ClinLensError):
    """Raised inside a job when its cancel token was set."""
