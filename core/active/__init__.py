"""The "review next" queue over stored informativeness scores (no models, no Qt).

``queue.build_queue`` orders unreviewed images from the scores ``core.store.scores``
holds (computed by ``ml.active``); ``diversity.k_center`` spreads a batch;
``loop.RetrainPolicy`` says when the active-learning loop should retrain.
"""
