"""Informativeness scores for "review next" (issue #12); the queue itself is ``core.active``.

- ``scores``: the formulas (detection uncertainty, flip consistency, expected count;
  severity edge distance and neighbour disagreement), plain numpy;
- ``detection`` / ``severity``: one image scored with the active model's public calls;
- ``service``: ``iter_scores`` (``opening.open_scorer`` opens the scorer), what the detector process's ``score``
  request and the ``queue`` command run.
"""
