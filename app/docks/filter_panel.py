"""Filter dock: window/level, brightness/contrast, gamma, CLAHE, normalisation, invert,
presets, histogram, "keep for next image" and reset.

The panel only edits a ``FilterSettings`` and emits ``settings_changed(settings,
interactive)``; ``interactive`` is True while a slider is being dragged, so the display
renders previews at screen resolution and the full image once the slider rests.
"""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.docks.histogram_widget import HistogramWidget

_STEPS = 1000  # slider resolution


class MappedSlider(QWidget):
    """A horizontal slider over a float range (linear or logarithmic) with a spin box."""

    changed = Signal(float, bool)  # value, interactive (slider held)

    def __init__(
        self,
        lo: float,
        hi: float,
        value: float,
        *,
        log: bool = False,
        decimals: int = 2,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.lo, self.hi, self.log = lo, hi, log
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, _STEPS)
        self.spin = QDoubleSpinBox()
        self.spin.setDecimals(decimals)
        self.spin.setKeyboardTracking(False)
        self.spin.setMaximumWidth(90)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.spin)
        self._quiet = False
        self.set_range(lo, hi)
        self.set_value(value)
        self.slider.valueChanged.connect(self._on_slider)
        self.slider.sliderReleased.connect(lambda: self.changed.emit(self.value(), False))
        self.spin.valueChanged.connect(self._on_spin)

    def set_range(self, lo: float, hi: float) -> None:
        self._quiet = True
        self.lo, self.hi = float(lo), float(max(hi, lo + 1e-6))
        self.spin.setRange(self.lo, self.hi)
        span = self.hi - self.lo
        self.spin.setSingleStep(10 ** math.floor(math.log10(span / 100)) if span > 0 else 0.01)
        self._quiet = False

    def _to_pos(self, v: float) -> int:
        v = min(max(v, self.lo), self.hi)
        if self.log:
            f = math.log(v / self.lo) / math.log(self.hi / self.lo)
        else:
            f = (v - self.lo) / (self.hi - self.lo)
        return round(f * _STEPS)

    def _from_pos(self, pos: int) -> float:
        f = pos / _STEPS
        if self.log:
            return float(self.lo * (self.hi / self.lo) ** f)
        return float(self.lo + f * (self.hi - self.lo))

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, v: float) -> None:
        self._quiet = True
        self.spin.setValue(v)
        self.slider.setValue(self._to_pos(v))
        self._quiet = False

    def _on_slider(self, pos: int) -> None:
        if self._quiet:
            return
        v = self._from_pos(pos)
        self._quiet = True
        self.spin.setValue(v)
        self._quiet = False
        self.changed.emit(self.value(), self.slider.isSliderDown())

    def _on_spin(self, v: float) -> None:
        if self._quiet:
            return
        self._quiet = True
        self.slider.setValue(self._to_pos(v))
        self._quiet = False
        self.changed.emit(float(v), False)


class FilterPanel(QWidget):
    settings_changed = Signal(object, bool)  # FilterSettings, interactive
    keep_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # core.filters (and through it pydicom) is imported on first use, not here: the
        # window must show without waiting for it (the first image load imports it in the
        # background anyway).
        self._presets: dict[str, Any] = {}
        self.settings: Any = None
        self.raw: Any = None
        self._quiet = False

        self.preset = QComboBox()
        self.preset.addItem("Custom", None)
        self.preset.currentIndexChanged.connect(self._on_preset)

        self.histogram = HistogramWidget()
        self.center = MappedSlider(0, 4095, 2048, decimals=1)
        self.window_width = MappedSlider(1, 4096, 4096, decimals=1)
        self.brightness = MappedSlider(-1.0, 1.0, 0.0)
        self.contrast = MappedSlider(0.1, 5.0, 1.0, log=True)
        self.gamma = MappedSlider(0.2, 5.0, 1.0, log=True)
        self.clahe = QCheckBox("CLAHE")
        self.clahe_clip = MappedSlider(0.5, 8.0, 2.0, decimals=1)
        self.clahe_tiles = QSpinBox()
        self.clahe_tiles.setRange(1, 64)
        self.clahe_tiles.setValue(8)
        self.normalise = QComboBox()
        for mode, text in (
            ("none", "Window"),
            ("percentile", "Percentiles"),
            ("minmax", "Min-max"),
        ):
            self.normalise.addItem(text, mode)
        self.norm_low = QDoubleSpinBox()
        self.norm_high = QDoubleSpinBox()
        for s, v in ((self.norm_low, 0.5), (self.norm_high, 99.5)):
            s.setRange(0.0, 100.0)
            s.setDecimals(1)
            s.setSingleStep(0.5)
            s.setValue(v)
            s.setKeyboardTracking(False)
        self.invert = QCheckBox("Invert")
        self.keep = QCheckBox("Keep for next image")
        self.keep.setToolTip("Show the next images with these settings instead of their own")
        self.keep.toggled.connect(self.keep_changed)
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Back to the image's own window")
        self.reset_button.clicked.connect(self.reset)
        self.window_info = QLabel()

        form = QFormLayout()
        form.addRow("Preset", self.preset)
        form.addRow(self.histogram)
        form.addRow(self.window_info)
        form.addRow("Level", self.center)
        form.addRow("Window", self.window_width)
        form.addRow("Brightness", self.brightness)
        form.addRow("Contrast", self.contrast)
        form.addRow("Gamma", self.gamma)
        clahe_row = QHBoxLayout()
        clahe_row.addWidget(self.clahe)
        clahe_row.addWidget(QLabel("tiles"))
        clahe_row.addWidget(self.clahe_tiles)
        form.addRow(clahe_row)
        form.addRow("CLAHE clip", self.clahe_clip)
        form.addRow("Range", self.normalise)
        # The percentiles sit on their own row: beside the mode they made the panel wider
        # than a dock on a 1280 x 800 screen, and its right edge (the values) was cut off.
        norm_row = QHBoxLayout()
        norm_row.addWidget(self.norm_low, 1)
        norm_row.addWidget(QLabel("to"))
        norm_row.addWidget(self.norm_high, 1)
        form.addRow("Percentiles", norm_row)
        form.addRow(self.invert)
        bottom = QHBoxLayout()
        bottom.addWidget(self.keep, 1)
        bottom.addWidget(self.reset_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(form)
        lay.addLayout(bottom)
        lay.addStretch(1)

        self.center.changed.connect(lambda v, i: self._window_changed(i))
        self.window_width.changed.connect(lambda v, i: self._window_changed(i))
        self.brightness.changed.connect(lambda v, i: self._edit(i, brightness=v))
        self.contrast.changed.connect(lambda v, i: self._edit(i, contrast=v))
        self.gamma.changed.connect(lambda v, i: self._edit(i, gamma=v))
        self.clahe_clip.changed.connect(lambda v, i: self._edit(i, clahe_clip=v))
        self.clahe.toggled.connect(lambda on: self._edit(False, clahe=on))
        self.clahe_tiles.valueChanged.connect(lambda n: self._edit(False, clahe_tiles=int(n)))
        self.invert.toggled.connect(lambda on: self._edit(False, invert=on))
        self.normalise.currentIndexChanged.connect(self._on_normalise)
        self.norm_low.valueChanged.connect(lambda v: self._on_normalise())
        self.norm_high.valueChanged.connect(lambda v: self._on_normalise())
        self.setEnabled(False)

    # --- from the display -----------------------------------------------------------------
    def _load_presets(self) -> None:
        if self._presets:
            return
        from core.filters import PRESETS

        self._presets = dict(PRESETS)
        self._quiet = True
        for name in self._presets:
            self.preset.addItem(name.replace("_", " ").capitalize(), name)
        self._quiet = False

    def set_image(self, raw: Any, settings: Any, histogram: Any) -> None:
        """A new image is on screen: ranges from its values, controls from its settings."""
        self._load_presets()
        self.raw = raw
        self.histogram.set_histogram(histogram)
        vr = self.histogram.value_range
        if vr is None:
            vr = (0.0, float(2 ** int(getattr(raw, "bits_stored", 8) or 8) - 1))
        lo, hi = vr
        span = max(hi - lo, 1.0)
        self.center.set_range(lo - 0.5 * span, hi + 0.5 * span)
        self.window_width.set_range(1.0, 2.0 * span)
        is_color = getattr(raw, "is_color", False)
        for w in (self.center, self.window_width, self.normalise, self.norm_low, self.norm_high):
            w.setEnabled(not is_color)
        self.setEnabled(True)
        self.show_settings(settings)

    def show_settings(self, settings: Any) -> None:
        """Put the controls in line with ``settings`` without emitting anything."""
        self.settings = settings
        self._quiet = True
        try:
            window = self._effective_window(settings)
            if window is not None:
                self.center.set_value(window[0])
                self.window_width.set_value(window[1])
                self.window_info.setText(f"Window W {window[1]:.6g} / L {window[0]:.6g}")
            else:
                self.window_info.setText("The file's VOI LUT applies")
            self.histogram.set_window(window)
            self.brightness.set_value(settings.brightness)
            self.contrast.set_value(settings.contrast)
            self.gamma.set_value(settings.gamma)
            self.clahe.setChecked(settings.clahe)
            self.clahe_clip.set_value(settings.clahe_clip)
            self.clahe_tiles.setValue(settings.clahe_tiles)
            self.invert.setChecked(settings.invert)
            self.normalise.setCurrentIndex(max(0, self.normalise.findData(settings.normalise)))
            self.norm_low.setValue(settings.norm_low_pct)
            self.norm_high.setValue(settings.norm_high_pct)
            idx = self.preset.findData(settings.preset) if settings.preset else 0
            self.preset.setCurrentIndex(max(0, idx))
        finally:
            self._quiet = False

    def _effective_window(self, settings: Any) -> tuple[float, float] | None:
        if self.raw is None:
            return None
        from core.filters import resolve_window

        try:
            return resolve_window(self.raw, settings)
        except Exception:
            return None

    # --- user edits -----------------------------------------------------------------------
    def _emit(self, settings: Any, interactive: bool) -> None:
        self.settings = settings
        window = self._effective_window(settings)
        self.histogram.set_window(window)
        if window is not None:
            self.window_info.setText(f"Window W {window[1]:.6g} / L {window[0]:.6g}")
        if not settings.preset:
            self._quiet = True
            self.preset.setCurrentIndex(0)
            self._quiet = False
        self.settings_changed.emit(settings, interactive)

    def _edit(self, interactive: bool, **changes: Any) -> None:
        if self._quiet or self.settings is None:
            return
        from core.errors import ClinLensError

        try:
            new = self.settings.replace(preset=None, **changes)
        except ClinLensError:
            return
        self._emit(new, interactive)

    def _window_changed(self, interactive: bool) -> None:
        self._edit(
            interactive,
            window_center=self.center.value(),
            window_width=max(self.window_width.value(), 1e-3),
        )

    def _on_normalise(self) -> None:
        if self._quiet:
            return
        mode = self.normalise.currentData()
        lo, hi = self.norm_low.value(), self.norm_high.value()
        if hi <= lo:
            return
        # Choosing a range mode hands the window back to it (explicit window would win).
        self._edit(
            False,
            normalise=mode,
            norm_low_pct=lo,
            norm_high_pct=hi,
            window_center=None,
            window_width=None,
        )
        self.show_settings(self.settings)

    def _on_preset(self, index: int) -> None:
        if self._quiet:
            return
        name = self.preset.itemData(index)
        if name is None:
            return
        self.apply_preset(name)

    def apply_preset(self, name: str) -> None:
        settings = self._presets[name]
        self.show_settings(settings)
        self._emit(settings, False)

    def apply_settings(self, settings: Any, interactive: bool) -> None:
        """Settings chosen elsewhere (mouse window/level): shown here and emitted as if
        the sliders had moved, so they render and save the same way."""
        self.show_settings(settings)
        self._emit(settings, interactive)

    def reset(self) -> None:
        """The image's own defaults (file window, else robust percentiles)."""
        from core.filters import FilterSettings, default_settings

        settings = default_settings(self.raw) if self.raw is not None else FilterSettings()
        self.show_settings(settings)
        self._emit(settings, False)

    @property
    def keep_for_next(self) -> bool:
        return self.keep.isChecked()
