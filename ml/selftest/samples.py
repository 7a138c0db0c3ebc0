"""The self-test's sample files, made at run time from a known pixel pattern.

Each compressed DICOM is encoded with a different library, so a missing encoder or decoder
shows up in the step that needs it: JPEG 2000 by pylibjpeg-openjpeg, JPEG-LS by imagecodecs
(CharLS) wrapped by pydicom, RLE by pydicom itself. The files carry a made-up patient name,
as a real one would, to prove it never reaches an export.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLE_SHAPE = (96, 128)
PATIENT_NAME = "Selftest^Patient"


def pattern(shape: tuple[int, int] = SAMPLE_SHAPE, bits: int = 12) -> np.ndarray:
    """A 16-bit 'X-ray': a gradient, a bright square and a little deterministic noise."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    img = 600 + 18 * xx + 9 * yy + (np.random.default_rng(0).integers(0, 40, size=shape))
    img[h // 3 : h // 3 + 20, w // 2 : w // 2 + 24] = (1 << bits) - 200
    return np.clip(img, 0, (1 << bits) - 1).astype(np.uint16)


def _dataset(arr: np.ndarray) -> object:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # computed radiography
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Modality = "CR"
    ds.PatientName = PATIENT_NAME
    ds.PatientID = "SELFTEST-0001"
    ds.Rows, ds.Columns = arr.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelData = arr.tobytes()
    return ds


class SampleError(RuntimeError):
    """A sample could not be made (an encoder is missing): not the reader's fault."""


def write_dicom(path: Path, kind: str, arr: np.ndarray) -> Path:
    """``kind``: jpeg2000 | jpeg-ls | rle."""
    from pydicom.uid import JPEG2000Lossless, JPEGLSLossless, RLELossless

    ds = _dataset(arr)
    try:
        if kind == "jpeg2000":
            ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")  # type: ignore[attr-defined]
        elif kind == "rle":
            ds.compress(RLELossless, encoding_plugin="pydicom")  # type: ignore[attr-defined]
        elif kind == "jpeg-ls":
            import imagecodecs
            from pydicom.encaps import encapsulate

            frame = bytes(imagecodecs.jpegls_encode(arr, level=0))  # level 0: lossless
            ds.PixelData = encapsulate([frame])  # type: ignore[attr-defined]
            ds["PixelData"].VR = "OB"  # type: ignore[index]
            ds["PixelData"].is_undefined_length = True  # type: ignore[index]
            ds.file_meta.TransferSyntaxUID = JPEGLSLossless  # type: ignore[attr-defined]
        else:
            raise ValueError(f"no DICOM sample kind {kind!r}")
    except (ImportError, RuntimeError, NotImplementedError, AttributeError) as exc:
        raise SampleError(f"cannot encode the {kind} sample: {exc}") from exc
    ds.save_as(path, enforce_file_format=True)  # type: ignore[attr-defined]
    return path


def write_tiff(path: Path, arr: np.ndarray, compression: str = "zstd") -> Path:
    """A 16-bit TIFF compressed with an imagecodecs codec (loaded lazily by tifffile)."""
    import tifffile

    try:
        tifffile.imwrite(path, arr, compression=compression)
    except (ImportError, ValueError, RuntimeError) as exc:
        raise SampleError(f"cannot write the {compression} TIFF sample: {exc}") from exc
    return path
