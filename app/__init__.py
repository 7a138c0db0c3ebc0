"""ClinLens GUI (PySide6 only). Widgets stay thin: they read and write through ``core`` and
reach ``ml`` only through the job runner (see ARCHITECTURE.md)."""

from app.qt_compat import apply_pyside_workarounds

# Before any widget emits a signal: PySide6 6.12.0 leaks a reference of True per emit.
apply_pyside_workarounds()
