"""ClinLens machine learning: detector, severity grading, the model registry. No Qt.

What lives where, and where training, evaluation, active learning and the workers will
live: ml/README.md.
"""
