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


# Libraries Qt's xcb plugin needs that a minimal Linux desktop may lack, and the Debian /
# Ubuntu package that has each (the README's apt list).
XCB_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libdbus-1.so.3": "libdbus-1-3",
}


class MissingSystemLibrary(RuntimeError):
    """A system library the window needs is not installed (the message says which)."""


def _wants_xcb() -> bool:
    import sys

    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if platform:
        return platform == "xcb"
    # Qt picks wayland first on a Wayland session when it can, else xcb.
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def check_platform_libraries() -> None:
    """Before the QApplication: load Qt's xcb plugin once to name a missing library.

    Without this, Qt aborts with "Could not load the Qt platform plugin xcb ... Reinstalling
    the application may fix this problem", which sends a clinic's IT to reinstall ClinLens
    instead of installing one system package. Loading the plugin (what Qt does next anyway)
    makes the dynamic loader name the first library it cannot find.
    """
    if not _wants_xcb():
        return
    import ctypes

    from PySide6.QtCore import QLibraryInfo

    # A frozen app points Qt at its plugins with QT_PLUGIN_PATH (PyInstaller's hook).
    folders = [*os.environ.get("QT_PLUGIN_PATH", "").split(os.pathsep)]
    folders.append(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath))
    found = [os.path.join(f, "platforms", "libqxcb.so") for f in folders if f]
    found = [p for p in found if os.path.isfile(p)]
    if not found:
        return  # Qt will say itself that the plugin is missing
    plugin = found[0]
    try:
        ctypes.CDLL(plugin)
    except OSError as exc:
        raise MissingSystemLibrary(missing_library_message(str(exc))) from None


def missing_library_message(loader_error: str) -> str:
    """One line from the loader's "libX.so.N: cannot open shared object file" text."""
    name = loader_error.split(":", 1)[0].strip()
    name = os.path.basename(name) if name else "a system library"
    package = XCB_PACKAGES.get(name)
    hint = f" (Debian/Ubuntu: sudo apt install {package})" if package else ""
    return (
        f"ClinLens cannot open its window: the system library {name} is missing; "
        f"install it{hint} and start ClinLens again"
    )
