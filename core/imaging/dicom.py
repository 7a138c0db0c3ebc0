"""DICOM reader: one frame at full bit depth plus the display metadata, PHI kept apart.

Parsing defers the pixel data element, so the header is parsed once, the bytes of a large
multi-frame are never all loaded, and truncation is checked against the file size before
any decoder runs. Only the requested frame is decoded (``pydicom.pixels.pixel_array`` with
``index``), which keeps opening a 7 MB CR at a few milliseconds.

``check_dicom`` is what an import runs instead of ``read_dicom_header``: the same one parse,
plus every check ``read_dicom`` makes before decoding (pixel data present, sample layout,
frame count, transfer syntax and its decoder, data length) and, for compressed data, the
header of the first frame's codestream. Decoding is left out on purpose: a JPEG 2000 CR
takes ~750 ms to decode but ~3 ms to parse and check, and the checks catch what really
arrives broken (cut copies, garbage, headers that disagree with the data).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import get_frame
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, pixel_array
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

from core.errors import ImageReadError, NoPixelDataError, UnsupportedFormatError
from core.imaging import dicom_meta as meta
from core.imaging._quiet import quiet_pydicom
from core.imaging.dicom_codec import check_decoder, describe
from core.imaging.header import ImageHeader
from core.imaging.limits import check_dimensions, check_frames, check_index
from core.imaging.raw import RawImage
from core.imaging.sniff import check_file, display_name
from core.text import shorten

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
        found = _check_pixels(path, ds, size, name)
        check_index(name, frame, found.n_frames, "frame")
        # The import's codestream check too (a few ms next to the decode): the same file
        # gets the same reason in the viewer as in the import report.
        _check_first_frame(path, ds, found, name)
        pixels = _decode(path, ds, frame, found.ts, name)
        return _build(path, ds, pixels, frame, found.n_frames, found.ts)


def read_dicom_header(path: PathLike) -> ImageHeader:
    name = display_name(path)
    check_file(path)
    with quiet_pydicom():
        return _header(path, _parse(path, name, defer=False), name)


def check_dicom(path: PathLike) -> tuple[ImageHeader, str | None]:
    """The header, and why the pixels cannot be decoded (None: no reason found).

    Raises like ``read_dicom_header`` when even the header cannot be read. One parse
    serves both: ``defer_size`` leaves a large pixel element on disk, as ``read`` does.
    """
    name = display_name(path)
    size = check_file(path)
    with quiet_pydicom():
        try:
            ds: Dataset | None = _parse(path, name, defer=True)
            parse_problem = None
        except ImageReadError as exc:
            ds, parse_problem = None, str(exc)
        if ds is None or "Rows" not in ds or "Columns" not in ds:
            # A file cut inside its pixel data parses as an empty data set (or not at all);
            # the header up to the pixels may still be whole, and then the file is an image
            # to list with its reason rather than a file to skip.
            header = _header(path, _parse(path, name, defer=False), name)
            if parse_problem is not None:
                return header, parse_problem
            return header, _problem(lambda: _raise_no_pixels(path, ds or Dataset(), name))
        header = _header(path, ds, name)

        def pixels_and_first_frame() -> None:
            found = _check_pixels(path, ds, size, name)
            _check_first_frame(path, ds, found, name)

        return header, _problem(pixels_and_first_frame)


def _problem(check: Any) -> str | None:
    """The message of the ImageReadError ``check()`` raises, or None."""
    try:
        check()
    except ImageReadError as exc:
        return str(exc)
    return None


def _header(path: PathLike, ds: Dataset, name: str) -> ImageHeader:
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
    # Twice the data or more (an odd length gets one pad byte): the header describes other
    # pixels than the file holds, e.g. RGB data labelled MONOCHROME2 with one sample per
    # pixel. pydicom would show the first third of the bytes as a grey image, scrambled.
    if elem.tag == 0x7FE00010 and expected >= 8 and available >= 2 * expected:
        times = available / expected
        hint = (
            "colour data labelled as grey?"
            if spp == 1 and round(times) in (3, 4)
            else "a wrong frame count or image size?"
        )
        raise ImageReadError(
            f"'{name}' is damaged: it holds {available:,} bytes of image data, {times:.3g} "
            f"times what its header describes ({rows} x {cols} pixels x {spp} sample(s) x "
            f"{n_frames} frame(s) = {expected:,} bytes; {hint})."
        )


class _Found(NamedTuple):
    """What ``_check_pixels`` established about a data set's pixel data."""

    elem: Any
    ts: UID | None
    rows: int
    cols: int
    spp: int
    n_frames: int


def _check_pixels(path: PathLike, ds: Dataset, file_size: int, name: str) -> _Found:
    """Every check short of decoding, shared by ``read`` and the import's ``check_dicom``
    so that both give the same reason for the same file."""
    rows, cols, spp, n_frames = _geometry(ds, name)
    check_frames(name, n_frames)
    elem = _pixel_element(ds)
    if elem is None:
        _raise_no_pixels(path, ds, name)
    _check_samples(ds, elem, spp, name)
    ts = meta.transfer_syntax(ds)
    check_decoder(ts, name)
    _check_length(ds, elem, ts, file_size, rows, cols, spp, n_frames, name)
    return _Found(elem, ts, rows, cols, spp, n_frames)


_VALID_ALLOCATED = frozenset({1, 8, 16, 24, 32, 40, 48, 56, 64})
_SAMPLES_OF = {
    **dict.fromkeys(_GREY | {"PALETTE COLOR"}, 1),
    **dict.fromkeys(_COLOUR - {"PALETTE COLOR"}, 3),
}


def _check_samples(ds: Dataset, elem: Any, spp: int, name: str) -> None:
    """Bits and samples the header states must fit together; decoders fail (or, worse,
    show scrambled pixels) when they do not."""
    photometric = meta.photometric(ds)
    wanted = _SAMPLES_OF.get(photometric)
    if wanted is None:
        raise UnsupportedFormatError(
            f"'{name}' uses the {shorten(photometric, 40)} colour model, which ClinLens does "
            "not display."
        )
    if spp != wanted:
        raise ImageReadError(
            f"'{name}' is damaged: it is labelled {photometric}, which has "
            f"{'one sample' if wanted == 1 else f'{wanted} samples'} per pixel, but its header "
            f"gives {spp}."
        )
    if elem.tag != 0x7FE00010:
        return  # float pixel data: 32 or 64 bits by its tag, no Bits Stored
    allocated = meta.int_tag(ds, "BitsAllocated", 16)
    stored = meta.int_tag(ds, "BitsStored", allocated)
    if allocated not in _VALID_ALLOCATED:
        raise ImageReadError(
            f"'{name}' is damaged: its header gives {allocated} bits per sample (Bits "
            "Allocated), which no DICOM image uses."
        )
    if not 1 <= stored <= allocated:
        raise ImageReadError(
            f"'{name}' is damaged: its header says {stored} bits are stored in each "
            f"{allocated}-bit sample (Bits Stored must be 1 to Bits Allocated)."
        )


# --- the first frame of compressed data --------------------------------------------------------
_J2K_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.92",
        "1.2.840.10008.1.2.4.93",
        "1.2.840.10008.1.2.4.201",
        "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203",
    }
)
_JPEG_SYNTAXES = frozenset(
    {
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.57",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
    }
)
_RLE_SYNTAX = "1.2.840.10008.1.2.5"
_SOC_SIZ = b"\xff\x4f\xff\x51"
_JP2_SIGNATURE = b"\x00\x00\x00\x0cjP  \r\n\x87\n"


def _check_first_frame(path: PathLike, ds: Dataset, found: _Found, name: str) -> None:
    """For JPEG, JPEG 2000 and RLE data: the first frame's codestream header must be there
    and describe the image the DICOM header describes (size, samples). Reads that frame's
    bytes only; nothing is decoded."""
    ts = found.ts
    uid = str(ts) if ts is not None else ""
    if uid not in _J2K_SYNTAXES and uid not in _JPEG_SYNTAXES and uid != _RLE_SYNTAX:
        return
    frame = _first_frame(path, found, name)
    assert ts is not None
    if uid == _RLE_SYNTAX:
        _check_rle(frame, meta.int_tag(ds, "BitsAllocated", 16), found.spp, name)
        return
    kind = "JPEG 2000" if uid in _J2K_SYNTAXES else "JPEG"
    size = _j2k_size(frame) if uid in _J2K_SYNTAXES else _jpeg_size(frame)
    if size is None:
        raise ImageReadError(
            f"'{name}' is damaged: its image data is not readable {kind} data although its "
            f"header says {ts.name} (garbage or cut data?)."
        )
    rows, cols, samples = size
    if (rows, cols) != (found.rows, found.cols) or samples != found.spp:
        raise ImageReadError(
            f"'{name}' is damaged: its {kind} data holds a {cols} x {rows} image with "
            f"{samples} sample(s) per pixel, but its header says {found.cols} x {found.rows} "
            f"with {found.spp}."
        )


def _first_frame(path: PathLike, found: _Found, name: str) -> bytes:
    value = getattr(found.elem, "value", None)
    try:
        if isinstance(value, bytes | bytearray):
            frame = get_frame(bytes(value), 0, number_of_frames=found.n_frames)
        else:
            with open(path, "rb") as fh:
                fh.seek(int(found.elem.value_tell))
                frame = get_frame(fh, 0, number_of_frames=found.n_frames)
    except Exception as exc:  # pydicom raises ValueError, struct.error, EOFError... on garbage
        raise ImageReadError(
            f"'{name}' is damaged: its compressed image data cannot be split into frames "
            f"({_detail(exc)})."
        ) from None
    if not frame:
        raise ImageReadError(f"'{name}' is damaged: its first frame holds no data.")
    return bytes(frame)


def _j2k_size(data: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from a JPEG 2000 codestream's SIZ marker (ISO 15444-1
    A.5.1), also inside a JP2 file; None when there is no readable SIZ."""
    at = 0 if data.startswith(_SOC_SIZ) else -1
    if at < 0 and data.startswith(_JP2_SIGNATURE):
        at = data.find(_SOC_SIZ, 0, 1 << 16)  # the jp2c box comes after a few small boxes
    if at < 0 or len(data) < at + 42:
        return None
    xsiz, ysiz, xosiz, yosiz = struct.unpack(">IIII", data[at + 8 : at + 24])
    csiz = struct.unpack(">H", data[at + 40 : at + 42])[0]
    if xsiz <= xosiz or ysiz <= yosiz or csiz == 0:
        return None
    return ysiz - yosiz, xsiz - xosiz, csiz


# Start of frame: baseline..lossless (C0-CF except DHT C4, JPG C8, DAC CC), JPEG-LS F7.
_SOF_MARKERS = frozenset(set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC} | {0xF7})


def _jpeg_size(data: bytes) -> tuple[int, int, int] | None:
    """(rows, columns, components) from the frame header of a JPEG / JPEG-LS stream:
    the marker segments after SOI are walked up to SOFn; None when the walk fails."""
    if not data.startswith(b"\xff\xd8"):
        return None
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        if marker in _SOF_MARKERS:
            if length < 8 or pos + 10 > end:
                return None
            rows = int.from_bytes(data[pos + 5 : pos + 7], "big")
            cols = int.from_bytes(data[pos + 7 : pos + 9], "big")
            return rows, cols, data[pos + 9]
        if marker == 0xDA or length < 2:  # scan data before any frame header
            return None
        pos += 2 + length
    return None


def _check_rle(frame: bytes, bits_allocated: int, spp: int, name: str) -> None:
    """The 64-byte RLE header (PS3.5 G.5): one segment per byte of each sample, in order."""
    wanted = spp * max(bits_allocated // 8, 1)
    problem = None
    if len(frame) < 64:
        problem = "its RLE data is shorter than the RLE header"
    else:
        count, *offsets = struct.unpack("<16I", frame[:64])
        used = offsets[:count]
        if count != wanted or count > 15:
            problem = f"its RLE data has {count} segment(s) where its header needs {wanted}"
        elif used[0] != 64 or any(b <= a for a, b in itertools.pairwise(used)):
            problem = "its RLE segment offsets are out of order"
        elif used[-1] >= len(frame):
            problem = "its RLE data ends before its last segment"
    if problem is not None:
        raise ImageReadError(f"'{name}' is damaged: {problem}.")


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
    # Other colour models were refused by _check_samples before decoding.
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
