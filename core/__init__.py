"""ClinLens core: imaging, display filters, annotations, formats and the project store.

Pure Python + numpy/OpenCV/pydicom/tifffile/lxml. Never imports Qt or torch, so it can be
used and tested headless (see ARCHITECTURE.md).
"""
