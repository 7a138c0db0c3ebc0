"""The detector: class mapping, device choice, pixels, OOM fallback, cancel, bad models,
and a tiny real YOLO driving load -> predict (whole image and tiled)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from core.annotations import Label, LabelSet
from core.errors import ClinLensError, JobCancelled, ModelError
from core.imaging import RawImage
from ml.detector.classmap import find_generic_label, map_classes
from tests.ml.conftest import (
    TINY_CLASSES,
    PhantomBox,
    make_blob_detector,
    make_phantom,
    make_xray_project,
    phantom_to_uint8,
    tiny_yolo,  # noqa: F401  (session fixture)
)


def _labels(*names: str) -> LabelSet:
    return LabelSet(name="t", labels=tuple(Label(id=i, name=n) for i, n in enumerate(names)))


XRAY = _labels("zipper", "watch", "unknown anomaly", "surgical implant", "key", "belt buckle")

# --- class mapping ------------------------------------------------------------------------


def test_classes_map_by_name_not_by_index() -> None:
    cmap = map_classes({0: "key", 1: "zipper"}, XRAY)
    assert cmap.to_label == {0: "key", 1: "zipper"}
    assert not cmap.generic and cmap.unmapped == ()


def test_class_names_match_ignoring_case_spaces_and_underscores() -> None:
    cmap = map_classes(["Surgical_Implant", "belt-buckle"], XRAY)
    assert cmap.to_label == {0: "surgical implant", 1: "belt buckle"}


def test_class_agnostic_model_suggests_the_generic_label() -> None:
    cmap = map_classes({0: "anomaly"}, XRAY)
    assert cmap.generic
    assert cmap.label_for(0) == "unknown anomaly"
    assert "refine" in cmap.notes[0]


def test_single_class_model_whose_class_the_project_has_is_not_generic() -> None:
    cmap = map_classes({0: "watch"}, XRAY)
    assert not cmap.generic and cmap.label_for(0) == "watch"


def test_project_may_designate_its_own_generic_label() -> None:
    labels = _labels("papule", "pustule", "other lesion")
    assert find_generic_label(labels) is None
    assert find_generic_label(labels, "other lesion") == "other lesion"
    cmap = map_classes({0: "object"}, labels, generic_label="other lesion")
    assert cmap.label_for(0) == "other lesion"


def test_class_agnostic_model_without_a_generic_label_is_explained() -> None:
    with pytest.raises(ModelError, match="generic label"):
        map_classes({0: "object"}, _labels("papule", "pustule"))


def test_model_whose_classes_match_nothing_names_both_sides() -> None:
    with pytest.raises(ModelError, match=r"'car'.*'zipper'"):
        map_classes({0: "car", 1: "bus"}, XRAY)


def test_unmapped_classes_are_reported_and_not_suggested() -> None:
    cmap = map_classes({0: "key", 1: "car", 2: "watch"}, XRAY)
    assert cmap.unmapped == ("car",)
    assert cmap.label_for(1) is None
    assert "car" in cmap.notes[0]


# --- device -------------------------------------------------------------------------------


def test_cpu_can_always_be_chosen_and_is_labelled() -> None:
    from ml.device import select_device

    dev = select_device("cpu")
    assert (dev.kind, dev.torch_device, dev.half) == ("cpu", "cpu", False)
    assert dev.label.startswith("CPU")


def test_auto_picks_cuda_then_mps_then_cpu() -> None:
    import torch

    from ml.device import select_device

    dev = select_device("auto")
    if torch.cuda.is_available():
        assert dev.kind == "cuda" and dev.half  # float16 on CUDA by default
    elif getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        assert dev.kind == "mps"
    else:
        assert dev.kind == "cpu" and dev.note is None


def test_requesting_cuda_without_a_gpu_falls_back_to_cpu_and_says_so() -> None:
    import torch

    from ml.device import select_device

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    dev = select_device("cuda")
    assert dev.kind == "cpu"
    assert dev.note and "no CUDA GPU" in dev.note


def test_unknown_device_name_is_a_user_error() -> None:
    from ml.device import select_device

    with pytest.raises(ClinLensError, match="unknown device"):
        select_device("tpu")


def test_cuda_out_of_memory_falls_back_to_cpu_and_says_so() -> None:
    import torch

    from ml.device import DeviceChoice

    fake_gpu = DeviceChoice("cuda", "cuda:0", True, "CUDA: test GPU (fp16)")
    det = make_blob_detector(device=fake_gpu)
    real_run = det._run_model

    def run(chunk: np.ndarray) -> list[np.ndarray]:
        if det.device.kind == "cuda":
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_run(chunk)

    det._run_model = run  # type: ignore[method-assign]
    img = np.zeros((100, 100), dtype=np.uint8)
    img[10:30, 10:30] = 255
    pred = det.predict_rgb8(img)
    assert len(pred.detections) == 1  # the image was still done, on the CPU
    assert det.device.kind == "cpu" and pred.device.startswith("CPU")
    assert any("ran out of memory" in n for n in pred.notes)
    assert det.device.note and "CPU" in det.device.note


def test_other_model_errors_become_model_errors() -> None:
    det = make_blob_detector()

    def boom(_chunk: np.ndarray) -> list[np.ndarray]:
        raise RuntimeError("shape mismatch in conv")

    det._run_model = boom  # type: ignore[method-assign]
    with pytest.raises(ModelError, match="detector failed"):
        det.predict_rgb8(np.zeros((50, 50), dtype=np.uint8))


def test_a_set_cancel_token_stops_prediction() -> None:
    det = make_blob_detector()
    token = threading.Event()
    token.set()
    with pytest.raises(JobCancelled):
        det.predict_rgb8(np.zeros((300, 300), dtype=np.uint8), cancel=token)
    assert det.calls == []


# --- pixels -------------------------------------------------------------------------------


def _raw16() -> RawImage:
    rng = np.random.default_rng(3)
    pixels = make_phantom(rng, 160, 120, [PhantomBox(20, 20, 40, 40, 0)])
    return RawImage(pixels=pixels, source_format="tiff", bits_stored=16, photometric="MONOCHROME2")


def test_model_sees_the_render_made_with_its_recorded_filter_settings() -> None:
    from core.filters import FilterSettings, render

    raw = _raw16()
    det = make_blob_detector(filter_settings={"invert": True})
    seen = det.render(raw, fallback_settings={"invert": False})
    expected = render(raw, FilterSettings(invert=True))
    assert seen.shape == (120, 160, 3)
    assert all(np.array_equal(seen[:, :, c], expected) for c in range(3))


def test_without_model_settings_the_projects_default_settings_apply() -> None:
    from core.filters import FilterSettings, render

    raw = _raw16()
    det = make_blob_detector()
    seen = det.render(raw, fallback_settings={"gamma": 2.0})
    np.testing.assert_array_equal(seen[:, :, 0], render(raw, FilterSettings(gamma=2.0)))
    plain = det.render(raw)
    np.testing.assert_array_equal(plain[:, :, 0], render(raw, FilterSettings()))


def test_predict_raw_finds_a_bright_object_in_a_16_bit_image() -> None:
    det = make_blob_detector(threshold=240)
    pred = det.predict_raw(_raw16())
    assert [(round(d.x1), round(d.y1), round(d.x2), round(d.y2)) for d in pred.detections] == [
        (20, 20, 40, 40)
    ]


# --- bad model files ----------------------------------------------------------------------


def test_a_classification_checkpoint_is_refused_as_not_a_detector(tmp_path: Path) -> None:
    from ml import offline

    offline.configure()
    import torch
    from ultralytics.nn.tasks import ClassificationModel

    from ml.detector.checkpoint import load_detector_checkpoint

    model = ClassificationModel("yolov8n-cls.yaml", nc=3, verbose=False)
    path = tmp_path / "cls.pt"
    torch.save({"model": model}, path)
    with pytest.raises(ModelError, match="'classify' model"):
        load_detector_checkpoint(path)


@pytest.mark.parametrize(
    "content", [b"", b"\x00" * 64, b"PK\x03\x04garbage" * 8, b"\x80\x04K\x01."]
)
def test_corrupt_checkpoints_give_a_model_error_not_a_traceback(
    tmp_path: Path, content: bytes
) -> None:
    from ml.detector.checkpoint import load_detector_checkpoint

    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=r"bad\.pt"):
        load_detector_checkpoint(path)


@pytest.mark.slow
def test_truncated_real_checkpoint_is_refused(tmp_path: Path, tiny_yolo: Path) -> None:  # noqa: F811
    from ml.detector.checkpoint import load_detector_checkpoint

    data = tiny_yolo.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged, truncated"):
        load_detector_checkpoint(path)


# --- a tiny real YOLO ---------------------------------------------------------------------


def _phantom8(width: int, height: int, boxes: list[PhantomBox]) -> np.ndarray:
    return phantom_to_uint8(make_phantom(np.random.default_rng(7), width, height, boxes))


@pytest.mark.slow
def test_tiny_yolo_checkpoint_describes_itself(tiny_yolo: Path) -> None:  # noqa: F811
    from ml.detector.checkpoint import inspect_detector

    meta = inspect_detector(tiny_yolo)
    assert meta["classes"] == list(TINY_CLASSES)
    assert meta["imgsz"] == 128
    assert meta["extra"]["task"] == "detect"


@pytest.mark.slow
def test_tiny_yolo_predicts_a_small_image_whole(tiny_yolo: Path) -> None:  # noqa: F811
    from ml.detector import Detector

    det = Detector.from_file(tiny_yolo, device="cpu", conf=1e-4)
    assert det.tiling.tile == 128  # from the checkpoint's training image size
    calls: list[int] = []
    real = det._run_model
    det._run_model = lambda chunk: calls.append(len(chunk)) or real(chunk)  # type: ignore[method-assign]
    pred = det.predict_rgb8(_phantom8(120, 100, [PhantomBox(30, 30, 45, 45, 0)]))
    assert pred.tiles == 1 and calls == [1]
    _check_detections(pred, 120, 100, 1e-4)


@pytest.mark.slow
def test_tiny_yolo_predicts_a_large_image_in_tiles_in_one_batch(tiny_yolo: Path) -> None:  # noqa: F811
    from ml.detector import Detector

    det = Detector.from_file(tiny_yolo, device="cpu", conf=1e-4)
    calls: list[int] = []
    real = det._run_model
    det._run_model = lambda chunk: calls.append(len(chunk)) or real(chunk)  # type: ignore[method-assign]
    img = _phantom8(400, 300, [PhantomBox(90, 90, 110, 110, 0), PhantomBox(200, 150, 232, 164, 1)])
    pred = det.predict_rgb8(img)
    assert pred.tiles == 12  # 4 x 3 tiles of 128 with >= 32 px overlap
    assert calls == [12]
    _check_detections(pred, 400, 300, 1e-4)
    assert pred.device.startswith("CPU")


def _check_detections(pred, width: int, height: int, conf: float) -> None:  # type: ignore[no-untyped-def]
    assert pred.detections, "an untrained model still yields low-score boxes at conf 1e-4"
    for d in pred.detections:
        assert 0 <= d.x1 < d.x2 <= width and 0 <= d.y1 < d.y2 <= height
        assert d.score >= conf
        assert d.class_name in TINY_CLASSES and d.label == d.class_name
        assert isinstance(d.x1, float) and isinstance(d.score, float)


@pytest.mark.slow
def test_registered_model_maps_to_the_project_labels_and_records_its_version(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from ml import registry
    from ml.detector import Detector

    make_xray_project(tmp_path, n_images=0, with_corrupt=False)  # trust lives in its database
    info = registry.import_model(tmp_path, tiny_yolo, "detector", "phantom")
    assert info.classes == TINY_CLASSES and info.imgsz == 128
    labels = _labels("zipper", "Belt_Buckle", "key")
    det = Detector.from_registry(tmp_path, label_set=labels, device="cpu", conf=1e-4)
    assert det.model_ref == "phantom:1"
    assert det.class_map is not None and det.class_map.to_label == {0: "key", 1: "Belt_Buckle"}
    pred = det.predict_rgb8(_phantom8(120, 100, []))
    assert {d.label for d in pred.detections} <= {"key", "Belt_Buckle"}


@pytest.mark.slow
def test_registered_model_with_foreign_classes_is_refused_at_load(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from ml import registry
    from ml.detector import Detector

    make_xray_project(tmp_path, n_images=0, with_corrupt=False)
    registry.import_model(tmp_path, tiny_yolo, "detector", "phantom")
    with pytest.raises(ModelError, match="do not match"):
        Detector.from_registry(tmp_path, label_set=_labels("papule", "pustule"))


@pytest.mark.slow
def test_registered_model_whose_file_changed_is_not_loaded(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from ml import registry
    from ml.detector import Detector

    make_xray_project(tmp_path, n_images=0, with_corrupt=False)  # trust lives in its database
    info = registry.import_model(tmp_path, tiny_yolo, "detector", "phantom")
    path = registry.model_path(tmp_path, info)
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="changed since it was imported"):
        Detector.from_registry(tmp_path, label_set=XRAY)


@pytest.mark.slow
def test_the_loaded_model_is_the_checked_bytes_even_if_the_file_is_swapped_meanwhile(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Check-then-load on the same path leaves a window in which another program could
    # replace the file after its checksum was verified; what is loaded must be what was
    # checked.
    from ml import registry
    from ml.detector import Detector, checkpoint, predict

    make_xray_project(tmp_path, n_images=0, with_corrupt=False)  # trust lives in its database
    info = registry.import_model(tmp_path, tiny_yolo, "detector", "phantom")
    stored = registry.model_path(tmp_path, info)
    real_load = checkpoint.load_detector_checkpoint

    def swap_then_load(path: Path, **kwargs: object) -> object:
        stored.write_bytes(b"swapped after the check")
        return real_load(path, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(predict, "load_detector_checkpoint", swap_then_load)
    det = Detector.from_registry(tmp_path, label_set=XRAY, device="cpu")
    assert det.names == dict(enumerate(TINY_CLASSES))


@pytest.mark.slow
def test_clinlens_pre_and_post_processing_match_ultralytics_own_predictor(
    tiny_yolo: Path,  # noqa: F811
) -> None:
    # On one tile of exactly the model's size (no letterbox padding) ClinLens must feed the
    # network ultralytics' input tensor (colour order, 0..1 scale) and return its boxes
    # (NMS, coordinates). The tiny model's boxes barely depend on the pixels, so the input
    # is compared on its own.
    import torch
    from ultralytics import YOLO

    from ml.detector import Detector

    det = Detector.from_file(tiny_yolo, device="cpu", conf=0.001)
    rgb = np.ascontiguousarray(
        np.dstack(
            [
                _phantom8(128, 128, [PhantomBox(30, 30, 45, 45, 0)]),
                _phantom8(128, 128, [PhantomBox(60, 70, 92, 84, 1)]),
                _phantom8(128, 128, []),
            ]
        )
    )  # three different channels, so a swapped colour order shows
    ours = det._run_model(rgb[None])[0]
    threads = torch.get_num_threads()
    bgr = np.ascontiguousarray(rgb[:, :, ::-1])  # ultralytics takes BGR arrays
    try:
        yolo = YOLO(str(tiny_yolo), task="detect")
        result = yolo.predict(bgr, imgsz=128, conf=0.001, iou=det.iou, device="cpu", verbose=False)[
            0
        ]
        their_input = yolo.predictor.preprocess([bgr])
    finally:
        torch.set_num_threads(threads)  # its predictor changes the process-wide setting
    np.testing.assert_array_equal(det.input_tensor(rgb[None]).numpy(), their_input.numpy())
    theirs = result.boxes.data.cpu().numpy().astype(np.float64)
    assert len(ours) > 0 and ours.shape == theirs.shape
    ours[:, :4] = ours[:, :4].clip(0, 128)  # ultralytics clips to the image; our merge does
    by_score = np.argsort(-ours[:, 4], kind="stable")
    np.testing.assert_allclose(
        ours[by_score], theirs[np.argsort(-theirs[:, 4], kind="stable")], atol=1e-3
    )


def test_model_classes_that_map_to_one_project_label_are_merged_as_one() -> None:
    # A class-agnostic mapping (or two spellings of one label) turns several model classes
    # into one project label: one object seen as both must give one suggestion, not two
    # identical boxes the expert has to reject one by one.
    names = {0: "object", 1: "thing", 2: "Key", 3: "key"}
    for cmap, expected in (
        (map_classes(names, XRAY, class_agnostic=True), "unknown anomaly"),
        (map_classes({2: "Key", 3: "key"}, XRAY), "key"),
    ):
        det = make_blob_detector(names=names, class_map=cmap)

        def two_classes(chunk: np.ndarray) -> list[np.ndarray]:
            return [
                np.array([[10, 10, 30, 30, 0.9, 2], [10.5, 10, 30, 30.5, 0.8, 3]]) for _ in chunk
            ]

        det._run_model = two_classes  # type: ignore[method-assign]
        pred = det.predict_rgb8(np.zeros((64, 64), dtype=np.uint8))
        assert [(d.label, d.score) for d in pred.detections] == [(expected, 0.9)]


def test_a_versions_operating_threshold_is_its_default_score_threshold(
    tmp_path: Path,
    tiny_yolo: Path,  # noqa: F811
) -> None:
    from ml import registry
    from ml.detector.predict import Detector

    make_xray_project(tmp_path / "p", n_images=1, with_corrupt=False)
    info = registry.import_model(tmp_path / "p", tiny_yolo, "detector", "tiny")
    assert Detector.from_registry(tmp_path / "p", device="cpu").conf == pytest.approx(0.25)
    registry.update_model(tmp_path / "p", info, extra={**info.extra, "operating_threshold": 0.07})
    assert Detector.from_registry(tmp_path / "p", device="cpu").conf == pytest.approx(0.07)
    explicit = Detector.from_registry(tmp_path / "p", device="cpu", conf=0.5)
    assert explicit.conf == pytest.approx(0.5)
