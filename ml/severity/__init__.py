"""Severity grading of face photos: landmarks -> skin patches -> features -> regressor -> grade.

Modules (each one job): ``landmarks`` (dlib faces and 68 points), ``patches`` (forehead,
cheeks, chin; eye-cascade and whole-image fallbacks; translation augmentation),
``features_builtin`` / ``features_resnet`` / ``features`` (pluggable patch features),
``feature_cache``, ``dataset`` (photos -> feature rows), ``imbalance`` (SMOTE),
``regressor``, ``grading`` (grade + confidence), ``lesion_count`` (Hayashi), ``reference``
(similar graded faces), ``evaluate`` (metrics, k-fold), ``model_io`` (save/register/load),
``train`` (train/evaluate a project), ``grader`` (grade photos, store suggestions),
``synthetic`` (graded test faces).

What the GUI calls (all Qt-free; long ones take ``progress`` and ``cancel``):
- ``grader.SeverityGrader.for_project(folder, scale).grade_image(project, image_id)``
  -> ``SeverityResult`` (suggestion value/label/confidence, patches with boxes for the
  overlay, reference cases, Hayashi lesion count, warnings);
- ``grader.predict_project(project, ids, scales=None, progress=, cancel=)`` stores model
  grades (``source="model"``);
- ``train.train_severity(folder, TrainConfig(scale=...), progress=, cancel=)`` and
  ``train.evaluate_severity(folder, scale, folds=...)``;
- ``model_io.graded_scales(folder)``: scales that have a model;
- ``patches.extract_patches(pixels)`` and ``lesion_count.lesion_count_grade(boxes, midline)``
  for overlays without a model.

Nothing heavy is imported here, so ``import ml.severity`` is instant.
"""
