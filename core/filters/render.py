"""``render(raw, settings, out_size)``: the display pipeline, full bit depth in, uint8 out.

Pure: reads ``raw.pixels``, never writes it; the result is always a new array.

Grey, 8/16-bit (the fast path):
    [downsample stored values]  ->  one LUT pass (modality + VOI + invert + tone)
with CLAHE:
    [downsample] -> LUT (modality + VOI, to 1024 levels in uint16) -> OpenCV CLAHE (16-bit)
                 -> LUT (invert + brightness/contrast + gamma, to uint8)
    The CLAHE output is kept per (image, size, window, CLAHE parameters): core.filters.clahe.
Other dtypes (float, 32-bit) take the same steps with numpy arithmetic instead of LUTs.
Colour: the grey chain runs on L of Lab, so hue and chroma stay as they were.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict

import cv2
import numpy as np

from core.filters.clahe import apply_clahe, cached_clahe
from core.filters.color import render_color
from core.filters.lut import (
    LUT_DTYPES,
    apply_lut,
    display_lut,
    to_clahe_levels,
    to_u8,
    tone,
    tone_lut16,
    voi_key,
    window_lut,
)
from core.filters.settings import FilterSettings, FilterSettingsError
from core.filters.voi import (
    apply_voi,
    is_color,
    modality_of,
    resolve_voi,
    shows_inverted,
)
from core.imaging.raw import RawImage

# dtypes cv2.resize keeps as they are; anything else is resized as float32.
_RESIZE_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16))


def preview_shape(height: int, width: int, out_size: int | None) -> tuple[int, int]:
    """(h, w) of a render with max side ``out_size``; never upscales."""
    if out_size is None or max(height, width) <= out_size:
        return height, width
    scale = out_size / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def _downsample(pixels: np.ndarray, out_size: int | None) -> np.ndarray:
    """Average the stored values down to ``preview_shape`` (before any mapping: cheaper).

    OpenCV's INTER_AREA is fast only for whole-number factors (3000 -> 1000: ~2 ms) and
    5-10x slower otherwise (1955 -> 1000: ~10 ms). So: area-average by the whole part k of
    the factor, then a bilinear step for the rest (< 2x), with the exact geometry of a
    one-step resize (output pixel centres at the same source positions), so boxes drawn
    over a preview sit where they sit on the full image.
    """
    h, w = pixels.shape[:2]
    nh, nw = preview_shape(h, w, out_size)
    if (nh, nw) == (h, w):
        return pixels
    src = pixels if pixels.dtype in _RESIZE_DTYPES else pixels.astype(np.float32)
    k = int(min(h / nh, w / nw))
    if k >= 2:
        ch, cw = h // k * k, w // k * k  # whole blocks only: INTER_AREA's fast path
        src = cv2.resize(src[:ch, :cw], (cw // k, ch // k), interpolation=cv2.INTER_AREA)
    else:
        k = 1
    if src.shape[:2] == (nh, nw):
        return src
    # dst pixel centre x+0.5 sits at source (x+0.5)*w/nw, i.e. reduced (x+0.5)*w/(nw*k)-0.5
    sx, sy = w / (nw * k), h / (nh * k)
    m = np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]], dtype=np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(src, m, (nw, nh), flags=flags, borderMode=cv2.BORDER_REPLICATE)


# While a slider moves the GUI renders the same image at the same preview size many times;
# the downsampled stored values are the same every time (~3 ms of a ~8 ms preview for 9 Mpx),
# so the last two preview sizes of each image are kept. Held weakly by the image; small
# (<= out_size^2 pixels) and never the full-resolution array.
_PREVIEWS_PER_IMAGE = 2
_previews: weakref.WeakKeyDictionary[RawImage, OrderedDict[tuple[int, int], np.ndarray]] = (
    weakref.WeakKeyDictionary()
)
_previews_lock = threading.Lock()


def _preview_pixels(raw: RawImage, pixels: np.ndarray, out_size: int | None) -> np.ndarray:
    h, w = pixels.shape[:2]
    shape = preview_shape(h, w, out_size)
    if shape == (h, w):
        return pixels
    with _previews_lock:
        sizes = _previews.get(raw)
        if sizes is not None and shape in sizes:
            sizes.move_to_end(shape)
            return sizes[shape]
    small = _downsample(pixels, out_size)
    small.flags.writeable = False  # shared between renders
    with _previews_lock:
        sizes = _previews.setdefault(raw, OrderedDict())
        sizes[shape] = small
        while len(sizes) > _PREVIEWS_PER_IMAGE:
            sizes.popitem(last=False)
    return small


def _clahe(levels: np.ndarray, settings: FilterSettings) -> np.ndarray:
    """OpenCV CLAHE on the windowed values (uint16 multiples of CLAHE_STEP).

    Why window first, then CLAHE: CLAHE output is a local rank, not modality units, so a
    window applied afterwards would have no meaning (W400/L40 of an equalised image); and
    windowing first limits the equalisation to the tissue the user chose to look at.
    Tone (gamma etc.) comes after, since equalisation would undo most of a gamma before it.

    Why 1024 levels spread over 0..65535 instead of raw stored values: OpenCV's 16-bit CLAHE
    always uses 65,536 histogram bins and sets the clip limit relative to that. A 12-bit
    image windowed into 16 bits occupies only a fraction of those bins, so the same clip
    limit would mean much weaker enhancement than on 8-bit data (nearly none). With levels
    exactly CLAHE_STEP apart, multiplying the clip limit by CLAHE_STEP makes the limit mean
    what it means on a 1024-bin histogram, and the clipped excess OpenCV spreads over all
    65,536 bins lands below the top level, so white stays white. 1024 levels keep 2 more bits
    than the 8-bit output (no banding where CLAHE stretches) while each bin of a preview
    tile still holds enough pixels for a stable clip.
    """
    return apply_clahe(levels, settings.clahe_clip, settings.clahe_tiles)


def _grey(raw: RawImage, pixels: np.ndarray, settings: FilterSettings) -> np.ndarray:
    invert = settings.invert != shows_inverted(raw)
    voi = resolve_voi(raw, settings)
    px = pixels
    if px.dtype in LUT_DTYPES:
        if not settings.clahe:
            return apply_lut(px, display_lut(raw, px.dtype, voi, settings, invert))

        def levels() -> np.ndarray:
            return apply_lut(px, window_lut(raw, px.dtype, voi))
    else:
        if not settings.clahe:
            v = apply_voi(raw, voi, modality_of(raw, px))
            return to_u8(tone(v, settings, invert))

        def levels() -> np.ndarray:
            return to_clahe_levels(apply_voi(raw, voi, modality_of(raw, px)))

    # The CLAHE output depends on the pixels (image and render size), the window and the
    # CLAHE parameters only: kept, a gamma/brightness/contrast/invert change is one LUT pass.
    key = (px.shape, px.dtype.str, voi_key(voi), settings.clahe_clip, settings.clahe_tiles)
    equalised = cached_clahe(raw, key, lambda: _clahe(levels(), settings))
    return apply_lut(equalised, tone_lut16(settings, invert))


def _color_is_identity(settings: FilterSettings) -> bool:
    return (
        settings.window_center is None
        and settings.window_width is None
        and settings.normalise == "none"
        and not settings.clahe
        and settings.is_identity_tone
    )


def _color(raw: RawImage, rgb: np.ndarray, settings: FilterSettings) -> np.ndarray:
    """Photos: the grey chain on lightness (see core.filters.color); invert = negative."""
    if rgb.dtype not in (np.uint8, np.uint16):  # float / 32-bit photos: to 16 bits first
        top = float(np.nanmax(rgb)) if rgb.size else 1.0
        scaled = np.nan_to_num(rgb.astype(np.float64)) * (65535.0 / (top if top > 0 else 1.0))
        rgb = np.clip(scaled + 0.5, 0, 65535).astype(np.uint16)
    grey_settings = settings.replace(invert=False)
    return render_color(
        rgb,
        lambda light: _grey(raw, light, grey_settings),
        identity=_color_is_identity(settings),
        invert=settings.invert,
    )


def render(raw: RawImage, settings: FilterSettings, out_size: int | None = None) -> np.ndarray:
    """The 8-bit display image of ``raw``: (h, w) grey or (h, w, 3) RGB, a new array.

    out_size: maximum side of the result for a fast preview (stored values are averaged
    down first, then the chain runs on the small image); None = full resolution.
    """
    if out_size is not None and (isinstance(out_size, bool) or int(out_size) < 1):
        raise FilterSettingsError(f"Preview size must be a positive number of pixels: {out_size}")
    pixels = raw.pixels
    if not pixels.dtype.isnative:  # e.g. big-endian TIFF: OpenCV and the LUTs want native
        pixels = pixels.astype(pixels.dtype.newbyteorder("="))
    if pixels.ndim == 3 and pixels.shape[2] < 3:
        pixels = pixels[..., 0]  # (H, W, 1) or grey + alpha
    if is_color(raw):
        rgb = _preview_pixels(raw, pixels[..., :3], out_size)
        return _color(raw, np.ascontiguousarray(rgb), settings)
    return _grey(raw, _preview_pixels(raw, pixels, out_size), settings)
