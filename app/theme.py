"""Light and dark themes: Fusion style, a palette, and a small style sheet per theme."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from resources import resource_path

THEMES = ("light", "dark")


def _dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2b2b",
        QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f1f1f",
        QPalette.ColorRole.AlternateBase: "#2b2b2b",
        QPalette.ColorRole.ToolTipBase: "#333333",
        QPalette.ColorRole.ToolTipText: "#eeeeee",
        QPalette.ColorRole.Text: "#e6e6e6",
        QPalette.ColorRole.Button: "#353535",
        QPalette.ColorRole.ButtonText: "#e6e6e6",
        QPalette.ColorRole.BrightText: "#ff5252",
        QPalette.ColorRole.Link: "#64b5f6",
        QPalette.ColorRole.Highlight: "#1e88e5",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.PlaceholderText: "#8a8a8a",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#777777"))
    return p


def apply_theme(app: QApplication, name: str) -> str:
    """Apply ``name`` ("light" | "dark"); unknown names fall back to dark."""
    name = name if name in THEMES else "dark"
    style = QStyleFactory.create("Fusion")
    if style is not None:
        app.setStyle(style)
    app.setPalette(_dark_palette() if name == "dark" else app.style().standardPalette())
    qss = resource_path("themes", f"{name}.qss")
    app.setStyleSheet(qss.read_text(encoding="utf-8") if qss.exists() else "")
    app.setProperty("clinlens_theme", name)
    return name


def current_theme() -> str:
    """The theme ``apply_theme`` last applied ("dark" until one is): label captions and
    the label list pick readable text colours for it."""
    from PySide6.QtCore import QCoreApplication

    app = QCoreApplication.instance()
    name = app.property("clinlens_theme") if app is not None else None
    return str(name) if name in THEMES else "dark"
