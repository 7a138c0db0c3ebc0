"""Exported photos carry no identifying metadata: EXIF (GPS, owner, serial, date), XMP,
IPTC, comments and PNG text chunks are dropped, the pixels stay byte-identical (no
re-encoding), and the ICC colour profile stays."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from core.formats.metadata_strip import (
    MetadataStripError,
    strip_jpeg,
    strip_metadata,
    strip_png,
)
from core.project_io import ExportOptions, export_project, import_images
from tests.core.conftest import new_project

SECRET = "DOE JANE 1961-04-02"
_ARTIST, _GPS_IFD, _USER_COMMENT_IFD = 0x013B, 0x8825, 0x8769
# A real (tiny) sRGB-like ICC payload is not needed: decoders keep APP2 ICC as opaque bytes.
ICC = b"\x00\x00\x01\x00fake-icc-profile-bytes" * 8


def _photo(seed: int = 0, size: tuple[int, int] = (96, 64)) -> Image.Image:
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    return Image.fromarray(arr, "RGB")


def _exif() -> Image.Exif:
    exif = Image.Exif()
    exif[_ARTIST] = SECRET
    exif.get_ifd(_GPS_IFD)[2] = (48.0, 51.0, 24.0)  # GPSLatitude
    return exif


def _jpeg(**save: object) -> bytes:
    buf = io.BytesIO()
    _photo().save(buf, "JPEG", quality=90, exif=_exif(), icc_profile=ICC, **save)
    return buf.getvalue()


def _with_comment_and_xmp(jpeg: bytes) -> bytes:
    """Insert a COM and an XMP APP1 segment after SOI, as editors write them."""
    com = SECRET.encode()
    xmp = b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>" + SECRET.encode() + b"</x:xmpmeta>"
    seg = b"\xff\xfe" + (len(com) + 2).to_bytes(2, "big") + com
    seg += b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp
    return jpeg[:2] + seg + jpeg[2:]


def _pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


@pytest.mark.parametrize(
    "save",
    [{}, {"progressive": True}, {"restart_marker_blocks": 1}],
    ids=["baseline", "progressive", "restart-markers"],
)
def test_jpeg_loses_exif_xmp_and_comments_but_not_a_pixel_or_its_colour_profile(
    save: dict[str, object],
) -> None:
    original = _with_comment_and_xmp(_jpeg(**save)) + b"vendor trailer " + SECRET.encode()
    assert SECRET.encode() in original
    stripped = strip_jpeg(original)
    assert SECRET.encode() not in stripped
    assert b"Exif\x00\x00" not in stripped and b"ns.adobe.com/xap" not in stripped
    assert np.array_equal(_pixels(stripped), _pixels(original))
    with Image.open(io.BytesIO(stripped)) as im:
        assert len(im.getexif()) == 0
        assert im.info.get("icc_profile") == ICC
    assert len(stripped) < len(original)


def test_png_loses_text_time_and_exif_chunks_but_keeps_its_pixels() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET)
    info.add_text("Comment", SECRET, zip=True)
    info.add_itxt("Description", SECRET)
    buf = io.BytesIO()
    _photo(1).save(buf, "PNG", pnginfo=info, exif=_exif(), icc_profile=ICC)
    original = buf.getvalue()
    stripped = strip_png(original)
    assert SECRET.encode() not in stripped
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf"):
        assert chunk not in stripped
    assert np.array_equal(_pixels(stripped), _pixels(original))
    with Image.open(io.BytesIO(stripped)) as im:
        im.load()
        assert im.info.get("icc_profile") == ICC


@pytest.mark.parametrize(
    ("data", "suffix"),
    [
        (b"not an image at all", ".jpg"),
        (b"\xff\xd8\xff\xe1\xff\xff", ".jpg"),  # a segment longer than the file
        (_jpeg()[:-300], ".jpg"),  # cut inside the scan: no end-of-image
        (b"\x89PNG\r\n\x1a\n\x00\x00\xff\xffIHDR", ".png"),  # chunk runs past the end
        (b"GIF89a", ".gif"),
    ],
    ids=["garbage", "long-segment", "truncated-scan", "png-long-chunk", "gif"],
)
def test_malformed_files_are_refused_rather_than_half_copied(data: bytes, suffix: str) -> None:
    with pytest.raises(MetadataStripError):
        strip_metadata(data, suffix)


def test_an_export_copies_photos_without_the_metadata_that_names_the_patient(
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "face.jpg").write_bytes(_with_comment_and_xmp(_jpeg()))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", SECRET)
    _photo(2).save(src / "side.png", "PNG", pnginfo=info)
    project = new_project(tmp_path / "proj", labels="acne")
    import_images(project, [src])
    out = tmp_path / "out"
    report = export_project(project, ExportOptions("voc", out, pseudonymise=False, statuses=None))
    assert report is not None
    exported = sorted(p for p in out.rglob("*") if p.suffix in (".jpg", ".png"))
    assert [p.name for p in exported] == ["face.jpg", "side.png"]
    for path in exported:
        blob = path.read_bytes()
        assert SECRET.encode() not in blob, path.name
        assert np.array_equal(_pixels(blob), _pixels((src / path.name).read_bytes()))


def test_a_photo_whose_segments_cannot_be_parsed_is_re_encoded_under_its_own_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.formats.metadata_strip as strip
    from core.formats.eightbit import copy_file

    def refuse(src: Path, dst: Path) -> None:
        raise MetadataStripError("odd segment")

    # A decodable file the strict parser refuses (decoders are more lenient than it is).
    monkeypatch.setattr(strip, "copy_without_metadata", refuse)
    src = tmp_path / "odd.jpg"
    ramp = np.linspace(0, 255, 96, dtype=np.uint8)[None, :].repeat(64, 0)
    smooth = np.stack([ramp, np.full_like(ramp, 40), 255 - ramp], axis=-1)  # red -> blue
    buf = io.BytesIO()
    Image.fromarray(smooth, "RGB").save(buf, "JPEG", quality=95, exif=_exif())
    src.write_bytes(_with_comment_and_xmp(buf.getvalue()))
    dst = tmp_path / "out.jpg"
    copy_file(src, dst)
    blob = dst.read_bytes()
    assert blob[:2] == b"\xff\xd8" and SECRET.encode() not in blob
    again, before = _pixels(blob).astype(int), _pixels(src.read_bytes()).astype(int)
    # One more JPEG generation at quality 95 stays within a few levels; swapped colour
    # channels (RGB written as BGR) would be off by ~85.
    assert np.abs(again - before).mean() < 3.0
    assert np.abs(again[..., ::-1] - before).mean() > 40.0
