"""Keep Qt's environment ours.

opencv-python (pulled by ultralytics) ships Qt 5 plugins and, on ``import cv2``, points
``QT_QPA_PLATFORM_PLUGIN_PATH`` (and the font dir) at them. PySide6 (Qt 6) then fails to
load its own platform plugin ("Could not load the Qt platform plugin xcb"). We drop such
variables when they point inside cv2 before the QApplication exists.
"""

from __future__ import annotations

import os

_CV2_QT_VARS = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR", "QT_PLUGIN_PATH")


def sanitize_qt_environment() -> list[str]:
    """Remove Qt variables that point into OpenCV's bundled Qt; return the names removed."""
    removed = []
    for var in _CV2_QT_VARS:
        value = os.environ.get(var, "")
        if value and "cv2" in value.replace("\\", "/").split("/"):
            del os.environ[var]
            removed.append(var)
    return removed
