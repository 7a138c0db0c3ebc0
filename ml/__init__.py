"""ClinLens machine learning: detector, severity grading, training, registry. No Qt."""
