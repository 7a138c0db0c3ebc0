"""Run a YOLO detector on one image: render, tile, one batched model call, merge, map classes.

The model sees the pixels it was trained on: exactly those the YOLO export writes (see
``ml.detector.pixels``), grey copied to three channels, cut into the tiles recorded with
the model. All tiles of an image go through the model together.

Device: CUDA (float16) -> MPS -> CPU unless overridden. If the GPU runs out of memory the
detector moves to the CPU for the rest of its life and says so in ``notes`` and in every
:class:`Prediction` made after that.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.annotations.labels import LabelSet
from core.errors import ClinLensError, ModelError
from core.jobs import CancelToken, check_cancel
from ml import registry
from ml.detector.checkpoint import LoadedDetector, load_detector_checkpoint
from ml.detector.classmap import ClassMap, map_classes
from ml.detector.merge import merge_tile_detections
from ml.detector.pixels import model_pixels
from ml.detector.tiling import TilingSpec, cut_tiles, plan_tiles, to_rgb8
from ml.device import DeviceChoice, cpu_fallback, is_out_of_memory, select_device

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Detection:
    """One suggested box in original-image pixels (continuous coordinates)."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    class_id: int  # the model's class index
    class_name: str  # the model's class name
    label: str  # the project label it maps to (the class name when no project is given)


@dataclass
class Prediction:
    detections: list[Detection]
    width: int
    height: int
    tiles: int
    seconds: float
    device: str
    notes: list[str] = field(default_factory=list)


class Detector:
    """A loaded detection model with its tiling, device and class mapping."""

    def __init__(
        self,
        loaded: LoadedDetector,
        *,
        device: str | DeviceChoice = "auto",
        half: bool | None = None,
        conf: float = 0.25,
        iou: float = 0.6,
        merge_iou: float = 0.5,
        border_eps: float = 6.0,
        max_det: int = 300,
        tiling: TilingSpec | None = None,
        class_map: ClassMap | None = None,
        filter_settings: dict[str, Any] | None = None,
        batch_size: int = 16,
        model_ref: str = "",
    ) -> None:
        if not 0.0 <= conf <= 1.0:
            raise ClinLensError(f"confidence threshold must be between 0 and 1, not {conf}")
        self.loaded = loaded
        self.names = loaded.names
        self.conf = float(conf)
        self.iou = float(iou)
        self.merge_iou = float(merge_iou)
        self.border_eps = float(border_eps)
        self.max_det = int(max_det)
        self.tiling = tiling or TilingSpec(tile=_default_tile(loaded.imgsz))
        self.class_map = class_map
        self.filter_settings = filter_settings
        self.batch_size = max(1, int(batch_size))
        self.model_ref = model_ref
        self.info: registry.ModelInfo | None = None  # set when loaded from the registry
        self.notes: list[str] = list(class_map.notes) if class_map else []
        self.device = (
            device if isinstance(device, DeviceChoice) else select_device(device, half=half)
        )
        if self.device.note:
            self.notes.append(self.device.note)
        self._model = loaded.model
        try:
            self._model = self._place(loaded.model, self.device)
        except Exception as exc:  # a full GPU already fails while the weights move there
            if isinstance(exc, ClinLensError):
                raise
            if self.device.kind == "cpu" or not is_out_of_memory(exc):
                raise ModelError(
                    f"the model cannot be loaded onto {self.device.label} "
                    f"({exc.__class__.__name__}: {str(exc)[:200]})"
                ) from exc
            self._fall_back_to_cpu(f"the GPU ran out of memory ({self.device.label})")

    # --- construction ---------------------------------------------------------------------

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> Detector:
        """A detector from a checkpoint the caller trusts (tests, benchmarks, the trainer).

        The app loads models only through :meth:`from_registry`.
        """
        return cls(load_detector_checkpoint(path), **kwargs)

    @classmethod
    def from_registry(
        cls,
        project_dir: str | Path,
        name: str | None = None,
        *,
        label_set: LabelSet | None = None,
        generic_label: str | None = None,
        **kwargs: Any,
    ) -> Detector:
        """The project's detector (by name, else the active one), hash-checked before loading."""
        info = registry.find_model(project_dir, "detector", name)
        with registry.verified_file(project_dir, info) as path:
            loaded = load_detector_checkpoint(path, display_name=f"models/{info.file}")
        class_map = None
        if label_set is not None:
            agnostic = info.extra.get("class_agnostic") if info.extra else None
            class_map = map_classes(
                loaded.names,
                label_set,
                generic_label=generic_label or (info.extra or {}).get("generic_label"),
                class_agnostic=agnostic if isinstance(agnostic, bool) else None,
                model_label=f"model '{info.ref}'",
            )
        kwargs.setdefault("tiling", TilingSpec.from_dict(info.tiling) if info.tiling else None)
        kwargs.setdefault("filter_settings", info.filter_settings)
        # A version ClinLens trained carries the score threshold with the best held-out F1
        # (a young model's scores are low: a fixed 0.25 can keep nothing); an explicit conf wins.
        operating = (info.extra or {}).get("operating_threshold")
        if operating is not None:
            kwargs.setdefault("conf", float(operating))
        detector = cls(loaded, class_map=class_map, model_ref=info.ref, **kwargs)
        detector.info = info
        return detector

    # --- device ---------------------------------------------------------------------------

    @staticmethod
    def _place(model: Any, device: DeviceChoice) -> Any:
        import torch

        model = model.to(torch.device(device.torch_device))
        model = model.half() if device.half else model.float()
        # NHWC is markedly faster for these convolutions on CPU (oneDNN) and on CUDA.
        return model.to(memory_format=torch.channels_last)

    def _fall_back_to_cpu(self, reason: str) -> None:
        import torch

        note = f"{reason}; continuing on the CPU"
        log.warning(note)
        self.device = cpu_fallback(note)
        self.notes.append(note)
        self._model = self._place(self._model, self.device)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    # --- pixels ---------------------------------------------------------------------------

    def render(
        self, raw: Any, fallback_settings: Any = None, *, image_settings: Any = None
    ) -> np.ndarray:
        """The 8-bit RGB array the model sees for a RawImage: what the training export
        writes (see ``ml.detector.pixels``). ``image_settings`` are the image's recorded
        display settings, ``fallback_settings`` the project's default (dicts or
        FilterSettings); for 16-bit and DICOM images the model's own recorded settings,
        if any, win over both.
        """
        return to_rgb8(
            model_pixels(
                raw,
                model_settings=self.filter_settings,
                image_settings=image_settings,
                default_settings=fallback_settings,
            )
        )

    # --- prediction -----------------------------------------------------------------------

    def predict_raw(
        self,
        raw: Any,
        *,
        fallback_settings: Any = None,
        image_settings: Any = None,
        cancel: CancelToken | None = None,
    ) -> Prediction:
        return self.predict_rgb8(
            self.render(raw, fallback_settings, image_settings=image_settings), cancel=cancel
        )

    def predict_rgb8(self, image: np.ndarray, *, cancel: CancelToken | None = None) -> Prediction:
        """Detections for an already rendered 8-bit image (grey or RGB)."""
        start = time.perf_counter()
        rgb = to_rgb8(image)
        h, w = rgb.shape[:2]
        plan = plan_tiles(w, h, self.tiling, stride=self.loaded.stride)
        batch = cut_tiles(rgb, plan)
        notes_before = len(self.notes)
        per_tile = [self._label_classes(d) for d in self._infer(batch, cancel)]
        merged = merge_tile_detections(
            per_tile,
            plan.tiles,
            plan.image_size,
            iou_threshold=self.merge_iou,
            border_eps=self.border_eps,
            max_det=self.max_det,
        )
        detections = self._to_detections(plan.to_original(merged), w, h)
        return Prediction(
            detections=detections,
            width=w,
            height=h,
            tiles=len(plan.tiles),
            seconds=time.perf_counter() - start,
            device=self.device.label,
            notes=self.notes[notes_before:],
        )

    def _label_classes(self, dets: np.ndarray) -> np.ndarray:
        """Model class ids -> one id per project label (its smallest class id), so the merge
        treats classes that become the same label (a class-agnostic mapping, two spellings
        of one label) as one class and returns one box per object."""
        if self.class_map is None or not len(dets):
            return dets
        first: dict[str, int] = {}
        for cid, label in sorted(self.class_map.to_label.items()):
            first.setdefault(label, cid)
        same = {cid: first[label] for cid, label in self.class_map.to_label.items()}
        out = dets.copy()
        out[:, 5] = [same.get(int(c), int(c)) for c in dets[:, 5]]
        return out

    def _infer(self, batch: np.ndarray, cancel: CancelToken | None) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(batch), self.batch_size):
            check_cancel(cancel)
            chunk = batch[start : start + self.batch_size]
            try:
                out.extend(self._run_model(chunk))
            except Exception as exc:
                if self.device.kind == "cpu" or not is_out_of_memory(exc):
                    raise _model_failure(exc) from exc
                self._fall_back_to_cpu(f"the GPU ran out of memory ({self.device.label})")
                try:
                    out.extend(self._run_model(chunk))
                except Exception as cpu_exc:
                    raise _model_failure(cpu_exc) from cpu_exc
        return out

    def input_tensor(self, chunk: np.ndarray) -> Any:
        """(N, H, W, 3) uint8 RGB tiles -> the model's input: NCHW RGB in 0..1, float16 on
        CUDA, channels-last memory - what ultralytics' own predictor feeds the network."""
        import torch

        x = torch.from_numpy(np.ascontiguousarray(chunk)).to(torch.device(self.device.torch_device))
        x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW view; memory stays NHWC (channels_last)
        x = (x.half() if self.device.half else x.float()).div_(255.0)
        return x.contiguous(memory_format=torch.channels_last)

    def _run_model(self, chunk: np.ndarray) -> list[np.ndarray]:
        """One forward pass over (N, H, W, 3) uint8 tiles -> per tile (k, 6) arrays."""
        import torch
        from ultralytics.utils.nms import non_max_suppression

        with torch.inference_mode():
            preds = self._model(self.input_tensor(chunk))
            if isinstance(preds, (list, tuple)):
                preds = preds[0]
            dets = non_max_suppression(
                preds,
                self.conf,
                self.iou,
                max_det=self.max_det,
                end2end=self.loaded.end2end,
            )
        return [d.float().cpu().numpy().astype(np.float64) for d in dets]

    def _to_detections(self, merged: np.ndarray, w: int, h: int) -> list[Detection]:
        """(M, 6) boxes in original pixels -> Detections mapped to project labels, clamped."""
        out: list[Detection] = []
        for x1, y1, x2, y2, score, cls in merged:
            class_id = int(cls)
            name = self.names.get(class_id, str(class_id))
            label = self.class_map.label_for(class_id) if self.class_map else name
            if label is None:  # a class the project does not have (reported in notes)
                continue
            bx1, by1 = min(max(x1, 0.0), w), min(max(y1, 0.0), h)
            bx2, by2 = min(max(x2, 0.0), w), min(max(y2, 0.0), h)
            if bx2 - bx1 <= 0 or by2 - by1 <= 0:
                continue
            out.append(
                Detection(
                    float(bx1),
                    float(by1),
                    float(bx2),
                    float(by2),
                    float(score),
                    class_id,
                    name,
                    label,
                )
            )
        return out


def _default_tile(imgsz: int | None) -> int:
    if not imgsz:
        return 512
    return max(32, round(imgsz / 32) * 32)


def _model_failure(exc: BaseException) -> ClinLensError:
    if isinstance(exc, ClinLensError):
        return exc
    return ModelError(
        f"the detector failed on this image ({exc.__class__.__name__}: {str(exc)[:200]}); "
        "the model may not fit this version of ClinLens"
    )
