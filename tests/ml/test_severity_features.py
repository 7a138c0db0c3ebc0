"""Patch features: the builtin descriptor, ResNet weights loading, the feature cache."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from core.errors import ModelError
from ml.severity.feature_cache import FeatureCache, feature_key, image_key
from ml.severity.features import make_extractor
from ml.severity.features_builtin import FEATURE_DIM, PATCH_SIZE, BuiltinFeatures, describe


def _skin(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.full((PATCH_SIZE, PATCH_SIZE, 3), (224, 180, 160), np.float32)
    return np.clip(base + rng.normal(0, 3, base.shape), 0, 255).astype(np.uint8)


def _with_red_spots(img: np.ndarray, n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = img.copy()
    for _ in range(n):
        x, y = (int(v) for v in rng.integers(8, PATCH_SIZE - 8, size=2))
        cv2.circle(out, (x, y), 3, (200, 60, 70), -1)
    return out


def test_builtin_descriptor_is_fixed_length_finite_and_deterministic() -> None:
    a = describe(_skin())
    assert a.shape == (FEATURE_DIM,) and a.dtype == np.float32
    assert np.isfinite(a).all()
    assert np.array_equal(a, describe(_skin()))
    # Any patch size: resized to the descriptor's own size first.
    small = cv2.resize(_skin(), (40, 40), interpolation=cv2.INTER_AREA)
    assert describe(small).shape == (FEATURE_DIM,)


def test_red_spots_raise_redness_and_red_blob_counts() -> None:
    clean = describe(_skin())
    spotted = describe(_with_red_spots(_skin(), 12))
    # Layout: 15 Lab stats, 2 ITA, 2 red fractions, 2 R-G index, 10 LBP, 3 gradient,
    # 3 red blob counts, 3 dark blob counts.
    red_share = slice(17, 19)
    red_blobs = slice(34, 37)
    assert (spotted[red_share] > clean[red_share]).all()
    assert spotted[red_blobs].sum() > clean[red_blobs].sum() + 1.0
    assert spotted[5] > clean[5]  # mean a*


def test_builtin_extractor_stacks_rows_and_refuses_a_weights_file(tmp_path: Path) -> None:
    ex = make_extractor("builtin")
    assert isinstance(ex, BuiltinFeatures)
    rows = ex.extract([_skin(0), _skin(1), _skin(2)])
    assert rows.shape == (3, FEATURE_DIM)
    assert ex.extract([]).shape == (0, FEATURE_DIM)
    with pytest.raises(ModelError, match="no weights"):
        make_extractor("builtin", tmp_path / "w.pth")


def test_unknown_backbone_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown backbone"):
        make_extractor("vgg16")


# --- ResNet ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def resnet50_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A resnet50 state dict as a user would have it on disk (random init: never downloaded)."""
    import torch
    from torchvision.models import resnet50

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "resnet50-local.pth"
    torch.save(resnet50(weights=None).state_dict(), path)
    return path


@pytest.mark.slow
def test_resnet_weights_load_strictly_from_a_local_state_dict(resnet50_weights: Path) -> None:
    import torch

    ex = make_extractor("resnet50", resnet50_weights, device="cpu")
    saved = torch.load(resnet50_weights, weights_only=True)
    loaded = ex.model.state_dict()  # type: ignore[attr-defined]
    assert torch.equal(loaded["conv1.weight"], saved["conv1.weight"])
    assert torch.equal(loaded["layer4.2.bn3.running_mean"], saved["layer4.2.bn3.running_mean"])
    rows = ex.extract([np.zeros((224, 224, 3), np.uint8), np.full((224, 224, 3), 200, np.uint8)])
    assert rows.shape == (2, 2048) and np.isfinite(rows).all()
    assert ex.cache_key.startswith("resnet50-")


@pytest.mark.slow
def test_checkpoint_wrapped_with_module_prefix_is_accepted(
    resnet50_weights: Path, tmp_path: Path
) -> None:
    import torch

    state = torch.load(resnet50_weights, weights_only=True)
    wrapped = tmp_path / "ddp.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, wrapped)
    ex = make_extractor("resnet50", wrapped, device="cpu")
    assert torch.equal(ex.model.conv1.weight, state["conv1.weight"])  # type: ignore[attr-defined]


@pytest.mark.slow
def test_weights_of_another_network_fail_with_a_clear_message(
    resnet50_weights: Path, tmp_path: Path
) -> None:
    import torch
    from torchvision.models import resnet18

    r18 = tmp_path / "resnet18.pth"
    torch.save(resnet18(weights=None).state_dict(), r18)
    with pytest.raises(ModelError, match=r"resnet18\.pth does not fit resnet50"):
        make_extractor("resnet50", r18)
    with pytest.raises(ModelError, match=r"does not fit resnet152.*missing layers"):
        make_extractor("resnet152", resnet50_weights)


def test_unusable_weights_files_are_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelError, match="cannot be read as PyTorch weights"):
        make_extractor("resnet50", junk)
    with pytest.raises(ModelError, match="does not exist"):
        make_extractor("resnet50", tmp_path / "missing.pth")
    with pytest.raises(ModelError, match="never downloads"):
        make_extractor("resnet50", None)


# --- cache ------------------------------------------------------------------------------
def test_feature_cache_round_trips_on_disk_and_separates_backbones(tmp_path: Path) -> None:
    img = image_key("ab" * 32)
    box = (1.0, 2.0, 30.0, 40.0)
    k_builtin = feature_key(img, box, "builtin-v1")
    k_resnet = feature_key(img, box, "resnet50-0123")
    assert k_builtin != k_resnet
    assert feature_key(img, (1.04, 2.0, 30.0, 40.0), "builtin-v1") == k_builtin  # 0.1 px
    assert feature_key(img, (1.2, 2.0, 30.0, 40.0), "builtin-v1") != k_builtin
    path = tmp_path / "cache" / "f.sqlite"
    vec = np.arange(5, dtype=np.float32)
    with FeatureCache(path) as cache:
        cache.put_many({k_builtin: vec})
        cache.put_json("patches:x", {"a": 1})
    with FeatureCache(path) as again:
        got = again.get_many([k_builtin, k_resnet])
        assert list(got) == [k_builtin]
        assert np.array_equal(got[k_builtin], vec)
        assert again.get_json("patches:x") == {"a": 1}
        assert again.get_json("nothing") is None
        assert len(again) == 1


def test_memory_cache_needs_no_file() -> None:
    cache = FeatureCache()
    cache.put_many({"k": np.ones(3, np.float32)})
    assert np.array_equal(cache.get_many(["k"])["k"], np.ones(3))
    assert len(cache) == 1


def test_image_key_prefers_content_hash(tmp_path: Path) -> None:
    f = tmp_path / "a.png"
    f.write_bytes(b"x")
    assert image_key("abc", f) == "sha:abc"
    assert image_key(None, f).startswith("path:")


def test_grader_refuses_weights_other_than_the_training_ones(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from core.annotations import builtin_scale
    from ml.severity.grader import _extractor_for

    other = tmp_path / "other.pth"
    other.write_bytes(b"some other weights")
    model = SimpleNamespace(
        backbone="resnet50",
        weights_path=str(tmp_path / "moved.pth"),
        weights_sha="0" * 64,
        scale=builtin_scale("acne4"),
    )
    with pytest.raises(ModelError, match=r"moved\.pth\), which is not there.*--weights"):
        _extractor_for(model, None, None)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="different checksum"):
        _extractor_for(model, other, None)  # type: ignore[arg-type]
