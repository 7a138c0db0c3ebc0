"""``ClinLens self-test [--json]``: prove, in the installed (frozen) app, every heavy path.

Each step is timed and ends ok or failed with one line of reason; the run passes only when
every step passes. The steps are the paths that usually break when an app is frozen:
compressed DICOM codecs found through entry points (JPEG 2000, JPEG-LS, RLE), imagecodecs'
lazily loaded TIFF codecs, OpenCV (CLAHE, Haar cascades), dlib and its landmark model,
ultralytics' config files, and the detector and training child processes re-launched from
the executable.

- ``samples``: the test files, generated at run time (nothing is shipped for it);
- ``steps_core``: reading, rendering, a project's import and export (no torch);
- ``steps_ml``: detector worker, face landmarks and patches, severity, training worker;
- ``runner``: runs the steps, times them and builds the JSON report.
"""

from ml.selftest.runner import Report, StepResult, run_selftest

__all__ = ["Report", "StepResult", "run_selftest"]
