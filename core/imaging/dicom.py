"""DICOM reader: one frame at full bit depth plus the display metadata, PHI kept apart.

Parsing defers the pixel data element, so the header is parsed once, the bytes of a large
multi-frame are never all loaded, and truncation is checked against the file size before
any decoder runs. Only the requested frame is decoded (``pydicom.pixels.pixel_array`` with
``index``), which keeps opening a 7 MB CR at a few milliseconds.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from core.errors import ImageReadError, NoPixelDataError, UnsupportedFormatError
from core.imaging import dicom_meta as meta
from core.imaging._quiet import quiet_pydicom
from core.imaging.dicom_codec import check_decoder, describe
from core.imaging.header import ImageHeader
from core.imaging.limits import check_dimensions, check_index
from core.imaging.raw import RawImage
from core.imaging.sniff import check_file, display_name

# Pixel Data, Float Pixel Data, Double Float Pixel Data.
_PIXEL_TAGS = (0x7FE00010, 0x7FE00008, 0x7FE00009)
_DEFER = 1024 * 1024  # elements above 1 MiB (the pixels) stay on disk until decoded
_COLOUR = frozenset(
    {"RGB", "YBR_FULL", "YBR_FULL_422", "YBR_ICT", "YBR_RCT", "YBR_PARTIAL_420", "PALETTE COLOR"}
)
_GREY = frozenset({"MONOCHROME1", "MONOCHROME2"})

PathLike = str | os.PathLike[str]


def read_dicom(path: PathLike, frame: int = 0) -> RawImage:
    name = display_name(path)
    size = check_file(path)
    with quiet_pydicom():
        ds = _parse(path, name, defer=True)
        rows, cols, spp, n_frames = _geometry(ds, name)
        elem = _pixel_element(ds)
        if elem is None:
            _raise_no_pixels(path, ds, name)
        check_index(name, frame, n_frames, "frame")
        ts = meta.transfer_syntax(ds)
        check_decoder(ts, name)
        _check_length(ds, elem, ts, size, rows, cols, spp, n_frames, name)
        pixels = _decode(path, ds, frame, ts, name)
        return _build(path, ds, pixels, frame, n_frames, ts)


def read_dicom_header(path: PathLike) -> ImageHeader:
    name = display_name(path)
    check_file(path)
    with quiet_pydicom():
        ds = _parse(path, name, defer=False)
        if "Rows" not in ds or "Columns" not in ds:
            _raise_no_pixels(path, ds, name)
        rows, cols, spp, n_frames = _geometry(ds, name)
        photometric = meta.photometric(ds)
        ts = meta.transfer_syntax(ds)
        windows = meta.voi_windows(ds, 0)
        spacing, _ = meta.pixel_spacing(ds, 0)
        is_colour = photometric in _COLOUR
        return ImageHeader(
            path=str(path),
            source_format="dicom",
            width=cols,
            height=rows,
            bits_stored=_header_bits(ds, photometric),
            samples_per_pixel=3 if is_colour else spp,
            photometric="RGB" if is_colour else photometric,
            modality=meta.modality(ds),
            window_center=windows[0].center if windows else None,
            window_width=windows[0].width if windows else None,
            frame_count=n_frames,
            transfer_syntax=str(ts) if ts is not None else None,
            pixel_spacing=spacing,
        )


# --- parsing --------------------------------------------------------------------------------
def _parse(path: PathLike, name: str, *, defer: bool) -> Dataset:
    try:
        if defer:
            return pydicom.dcmread(path, defer_size=_DEFER, force=True)
        return pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except InvalidDicomError:
        raise ImageReadError(f"'{name}' is not a valid DICOM file.") from None
    except (EOFError, OSError) as exc:
        raise ImageReadError(f"'{name}' is truncated or unreadable: {_detail(exc)}.") from None
    except Exception as exc:  # pydicom raises many kinds on garbage; all mean "damaged"
        raise ImageReadError(
            f"'{name}' is a damaged DICOM file (its header cannot be parsed: {_detail(exc)})."
        ) from None


def _detail(exc: BaseException, lines: int = 1, limit: int = 160) -> str:
    """A short description; pydicom's messages name tags and plugins, not tag values."""
    parts = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    text = "; ".join(parts[:lines]).replace(":;", ":") or exc.__class__.__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _geometry(ds: Dataset, name: str) -> tuple[int, int, int, int]:
    rows = meta.int_tag(ds, "Rows", 0)
    cols = meta.int_tag(ds, "Columns", 0)
    spp = meta.int_tag(ds, "SamplesPerPixel", 1)
    n_frames = meta.frame_count(ds)
    if "Rows" in ds or "Columns" in ds:
        check_dimensions(name, cols, rows, spp)
    return rows, cols, spp, n_frames


def _pixel_element(ds: Dataset) -> Any:
    for tag in _PIXEL_TAGS:
        elem = ds.get_item(tag, keep_deferred=True)
        if elem is not None:
            return elem
    return None


def _raise_no_pixels(path: PathLike, ds: Dataset, name: str) -> None:
    if "Rows" not in ds:
        # pydicom returns an empty data set when encapsulated pixel data is cut short;
        # the header up to the pixels still tells whether an image was meant to follow.
        with contextlib.suppress(Exception):
            ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    if "Rows" in ds and _contains_pixel_tag(path):
        raise ImageReadError(
            f"'{name}' is truncated: the file ends inside its image data (incomplete copy?)."
        )
    if not any(k in ds for k in ("SOPClassUID", "Modality", "Rows", "StudyInstanceUID")):
        # Nothing a real DICOM object always carries: random bytes behind a DICM marker.
        raise ImageReadError(f"'{name}' is damaged: it holds no readable DICOM content.")
    kind = _object_kind(ds)
    raise NoPixelDataError(
        f"'{name}' is a DICOM {kind} without an image (no pixel data), so there is nothing "
        "to display."
    )


def _sop_class_name(ds: Dataset) -> str | None:
    """E.g. "Basic Text SR" for a structured report (a class name, never patient data)."""
    sop = ds.get("SOPClassUID")
    if sop is None:
        return None
    sop_name = UID(str(sop)).name
    return sop_name.removesuffix(" Storage") if sop_name != str(sop) else None


def _object_kind(ds: Dataset) -> str:
    sop_name = _sop_class_name(ds)
    return f"object ({sop_name})" if sop_name else "object"


def _contains_pixel_tag(path: PathLike) -> bool:
    """Whether the (possibly cut) file holds a Pixel Data tag pydicom could not finish."""
    needles = (b"\xe0\x7f\x10\x00", b"\x7f\xe0\x00\x10")
    with open(path, "rb") as fh:
        tail = b""
        while chunk := fh.read(1 << 20):
            block = tail + chunk
            if any(n in block for n in needles):
                return True
            tail = block[-3:]
    return False


def _expected_bytes(ds: Dataset, rows: int, cols: int, spp: int, n_frames: int) -> int:
    bits = meta.int_tag(ds, "BitsAllocated", 16)
    if meta.photometric(ds) == "YBR_FULL_422" and spp == 3:
        spp = 2  # chroma subsampled horizontally: 2 samples per pixel on average
    samples = rows * cols * spp * n_frames
    if bits == 1:
        return (samples + 7) // 8
    return samples * max(bits // 8, 1)


def _check_length(
    ds: Dataset,
    elem: Any,
    ts: UID | None,
    file_size: int,
    rows: int,
    cols: int,
    spp: int,
    n_frames: int,
    name: str,
) -> None:
    """Refuse a cut-off file before decoding (decoders would fail with cryptic errors)."""
    length = getattr(elem, "length", None)
    value_tell = getattr(elem, "value_tell", None)
    value = getattr(elem, "value", None)
    undefined = length in (None, 0xFFFFFFFF)
    deflated = ts is not None and ts.is_transfer_syntax and ts.is_deflated
    if (
        not undefined
        and not deflated
        and value_tell is not None
        and value_tell + length > file_size
    ):
        have = max(file_size - value_tell, 0)
        raise ImageReadError(
            f"'{name}' is truncated: it holds {have:,} of the {length:,} bytes of image data "
            "its header announces (incomplete copy or download?)."
        )
    if ts is not None and ts.is_transfer_syntax and (ts.is_deflated or ts.is_encapsulated):
        return  # sizes of compressed data are checked by the decoder
    available = len(value) if isinstance(value, bytes | bytearray) else (length or 0)
    expected = _expected_bytes(ds, rows, cols, spp, n_frames)
    if elem.tag != 0x7FE00010:
        expected = rows * cols * spp * n_frames * (4 if elem.tag == 0x7FE00008 else 8)
    if available < expected:
        raise ImageReadError(
            f"'{name}' is truncated: it holds {available:,} bytes of image data but "
            f"{rows} x {cols} pixels x {n_frames} frame(s) need {expected:,}."
        )


# --- decoding -------------------------------------------------------------------------------
def _decode(path: PathLike, ds: Dataset, frame: int, ts: UID | None, name: str) -> np.ndarray:
    try:
        arr = _pixel_array(path, frame, ts)
    except MemoryError:
        raise ImageReadError(f"'{name}' is too large to decode in the available memory.") from None
    except Exception as exc:
        raise ImageReadError(
            f"'{name}' is damaged: its image data ({describe(ts)}) could not be decoded "
            f"({_detail(exc, lines=3, limit=300)})."
        ) from None
    photometric = meta.photometric(ds)
    if photometric == "PALETTE COLOR":
        try:
            arr = apply_color_lut(arr, ds)
        except Exception as exc:
            raise ImageReadError(
                f"'{name}' has a damaged colour palette ({_detail(exc)})."
            ) from None
    elif photometric not in _GREY | _COLOUR:
        raise UnsupportedFormatError(
            f"'{name}' uses the {photometric} colour model, which ClinLens does not display."
        )
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))  # big-endian files: native order for cv2
    return np.ascontiguousarray(arr)


def _pixel_array(path: PathLike, frame: int, ts: UID | None) -> np.ndarray:
    """Decode one frame straight from the file; fall back to a fully parsed Dataset.

    The direct route reads only that frame's bytes. A few valid files (deflated data sets,
    no File Meta, unusual offset tables) only decode from a parsed Dataset.
    """
    if ts is not None and ts.is_transfer_syntax and not ts.is_deflated:
        try:
            return pixel_array(os.fspath(path), index=frame)
        except MemoryError:
            raise
        except Exception:
            pass  # retried below; if that fails too its error is the one reported
    return pixel_array(_full_dataset(path), index=frame)


def _full_dataset(path: PathLike) -> Dataset:
    full = pydicom.dcmread(path, force=True)
    meta_ds = getattr(full, "file_meta", None)
    if isinstance(meta_ds, FileMetaDataset) and "TransferSyntaxUID" in meta_ds:
        return full
    # No File Meta (no preamble): state the encoding pydicom detected while parsing.
    implicit, little = getattr(full, "original_encoding", (True, True))
    if not isinstance(meta_ds, FileMetaDataset):
        full.file_meta = FileMetaDataset()
    if implicit:
        full.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
    else:
        full.file_meta.TransferSyntaxUID = (
            ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian
        )
    return full


# --- metadata -------------------------------------------------------------------------------
def _header_bits(ds: Dataset, photometric: str) -> int:
    if photometric == "PALETTE COLOR":
        descriptor = ds.get("RedPaletteColorLookupTableDescriptor")
        return 16 if descriptor is not None and int(descriptor[2]) > 8 else 8
    allocated = meta.int_tag(ds, "BitsAllocated", 16)
    return meta.int_tag(ds, "BitsStored", allocated) or allocated


def _build(
    path: PathLike, ds: Dataset, pixels: np.ndarray, frame: int, n_frames: int, ts: UID | None
) -> RawImage:
    stored_photometric = meta.photometric(ds)
    is_colour = pixels.ndim == 3
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels, is_colour = pixels[:, :, 0], False
    photometric = "RGB" if is_colour else stored_photometric
    if photometric not in ("MONOCHROME1", "MONOCHROME2", "RGB"):
        photometric = "MONOCHROME2"
    slope, intercept, rescale_type = meta.rescale(ds, frame)
    spacing, spacing_source = meta.pixel_spacing(ds, frame)
    if pixels.dtype.kind == "f" or stored_photometric == "PALETTE COLOR":
        bits = pixels.dtype.itemsize * 8
    else:
        bits = _header_bits(ds, stored_photometric)
    extra: dict[str, Any] = {
        "bits_allocated": meta.int_tag(ds, "BitsAllocated", 16),
        "pixel_representation": meta.int_tag(ds, "PixelRepresentation", 0),
        "stored_photometric": stored_photometric,
        "sop_class": _sop_class_name(ds),
    }
    if spacing_source:
        extra["pixel_spacing_source"] = spacing_source
    for keyword in ("BodyPartExamined", "ViewPosition", "ImageLaterality", "Laterality"):
        value = ds.get(keyword)
        if value:
            extra[keyword] = str(value)
    voi_lut = meta.voi_lut(ds) if not is_colour else None
    return RawImage(
        pixels=pixels,
        source_format="dicom",
        bits_stored=bits,
        photometric=photometric,
        path=str(Path(path)),
        modality=meta.modality(ds),
        rescale_slope=slope,
        rescale_intercept=intercept,
        rescale_type=rescale_type,
        modality_lut=meta.modality_lut(ds) if not is_colour else None,
        voi_windows=meta.voi_windows(ds, frame) if not is_colour else (),
        voi_lut_function=meta.voi_function(ds, frame),
        voi_lut=voi_lut,
        pixel_spacing=spacing,
        frame_index=frame,
        frame_count=n_frames,
        transfer_syntax=str(ts) if ts is not None else None,
        extra=extra,
        patient=meta.patient_tags(ds),
    )
