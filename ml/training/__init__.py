"""Detector training: data from the store, the recipe, the ultralytics run, the gate.

- ``dataset``: the reviewed images (status ``done``) of a project, split by the held-out
  set (``HeldoutSplit``), rendered to the 8-bit pixels suggestions see and written as a
  YOLO dataset in a run folder outside the project.
- ``recipe``: the ``xray`` and ``acne`` presets and the class remaps used at training.
- ``runner``: the ultralytics training (progress and cancel through callbacks; no file is
  ever unpickled: the best weights are kept in memory and saved by ClinLens).
- ``gate``: evaluate candidate and active version on the held-out reviewed images and
  decide which is active.
- ``session``: the parent side (CLI, GUI): the project's training lock, the training
  worker child (``main.py train-worker DIR``) and the registration of the result.

Torch loads only in ``runner`` and in the gate's evaluation, i.e. in the worker process.
"""
