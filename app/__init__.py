"""ClinLens GUI (PySide6 only). Widgets stay thin: they read and write through ``core`` and
reach ``ml`` only through the job runner (see ARCHITECTURE.md)."""
