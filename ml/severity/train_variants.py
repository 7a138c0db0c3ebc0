"""Training the fine-tuned and the similarity graders (``severity train --fine-tune`` /
``--grader similarity``), beside the plain frozen-features ridge of ``ml.severity.train``.

A fine-tuned model: the dataset's rows are the frozen front's maps (``Lite0Front``);
its cross-validated metrics come from fine-tuning per fold (``cross_validate_finetuned``),
then the tail is tuned once more on every face, the ridge head is fitted on the tuned
features, and the tuned tail is stored in the model (``extra["finetune"]``) so grading
rebuilds the same network. A similarity model stores its embedding head and reference
faces (``extra["similarity"]``); its references are in the embedding's space.
Both together are refused for now: the similarity grader's cross-validation would need
the tail tuned per fold too, and tuning once on every face would leak the test faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.annotations import GradingScale
from core.errors import ClinLensError
from core.jobs import CancelToken, ProgressFn
from ml.severity.cv_variants import (
    cross_validate_finetuned,
    cross_validate_similarity,
    fit_similarity,
    tune_on,
    tuned_dataset,
)
from ml.severity.dataset import FaceDataset
from ml.severity.evaluate import CVResult, cross_validate, fit_regressor
from ml.severity.finetune import NAME as TUNED_NAME
from ml.severity.finetune import FineTuneConfig, Lite0Front, tail_state
from ml.severity.reference import ReferenceIndex
from ml.severity.regressor import PatchRegressor, RegressorConfig
from ml.severity.similarity import GRADER_KINDS, SimilarityConfig


@dataclass
class VariantConfig:
    grader: str = "regression"  # one of GRADER_KINDS
    fine_tune: FineTuneConfig | None = None
    similarity: SimilarityConfig = field(default_factory=SimilarityConfig)

    def check(self, backbone: str, weights: str | None) -> None:
        if self.grader not in GRADER_KINDS:
            raise ClinLensError(
                f"unknown grader '{self.grader}' (choose one of {', '.join(GRADER_KINDS)})"
            )
        if self.fine_tune is None:
            return
        if backbone != "efficientnet_lite0" or weights is not None:
            raise ClinLensError(
                "--fine-tune tunes EfficientNet-Lite0 from its installed package: use "
                "--backbone auto or efficientnet_lite0, without --weights"
            )
        if self.grader == "similarity":
            raise ClinLensError(
                "--fine-tune with --grader similarity is not supported yet: choose one"
            )
        self.fine_tune.start  # noqa: B018 - refuses an out-of-range block count


@dataclass
class Trained:
    cv: CVResult
    regressor: PatchRegressor
    references: ReferenceIndex
    backbone: str
    extra: dict[str, Any]
    extra_metrics: dict[str, Any]


def train_variant(
    ds: FaceDataset,
    extractor: Any,
    scale: GradingScale,
    variant: VariantConfig,
    *,
    folds: int,
    smote: bool,
    regressor: RegressorConfig,
    seed: int,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Trained:
    everyone = np.arange(ds.n_faces)
    labels = [scale.label_of(g) for g in ds.grades]
    extra: dict[str, Any] = {"grader": variant.grader}
    extra_metrics: dict[str, Any] = {}
    backbone = extractor.name
    cv: CVResult | None = None
    if variant.fine_tune is not None:
        assert isinstance(extractor, Lite0Front)
        ft = variant.fine_tune
        results = cross_validate_finetuned(
            ds,
            extractor,
            scale,
            folds=folds,
            config=ft,
            smote=smote,
            regressor=regressor,
            seed=seed,
            progress=progress,
            cancel=cancel,
        )
        cv = results["ridge"]
        extra_metrics["tuned_head"] = results["head"].to_dict()
        tail = tune_on(ds, extractor, everyone, scale, ft, progress=progress, cancel=cancel)
        ds = tuned_dataset(ds, tail, extractor.shape)
        extra["finetune"] = {
            "config": ft.to_dict(),
            "tail_state": tail_state(tail.model, tail.start),
        }
        extra["finetune_losses"] = [round(v, 6) for v in tail.losses]
        backbone = TUNED_NAME
    reg = fit_regressor(ds, everyone, scale, smote=smote, config=regressor, seed=seed)
    if variant.grader == "similarity":
        cv = cross_validate_similarity(
            ds,
            scale,
            folds=folds,
            config=variant.similarity,
            seed=seed,
            progress=progress,
            cancel=cancel,
        )
        sim = fit_similarity(
            ds, everyone, scale, variant.similarity, progress=progress, cancel=cancel
        )
        extra["similarity"] = sim.to_state()
        assert sim.ref_vectors is not None
        vectors = sim.ref_vectors
    else:
        if cv is None:
            cv = cross_validate(
                ds,
                scale,
                folds=folds,
                smote=smote,
                config=regressor,
                seed=seed,
                progress=progress,
                cancel=cancel,
            )
        vectors = reg.embed(ds.face_vectors())
    refs = ReferenceIndex(
        vectors=vectors,
        image_ids=ds.image_ids,
        image_refs=ds.image_refs,
        grades=ds.grades,
        labels=labels,
    )
    return Trained(cv, reg, refs, backbone, extra, extra_metrics)
