"""Informativeness scores for "review next" (issue #12); the queue itself is ``core.active``.

- ``scores``: the formulas (detection uncertainty, flip consistency, expected count;
  severity edge distance and neighbour disagreement), plain numpy;
- ``detection`` / ``severity``: one image scored with the active model's public calls;
- ``service``: ``open_scorer`` + ``iter_scores``, what the detector process's ``score``
  request and the ``queue`` command run.
"""
