"""Image kinds (X-ray / photo): which grading scales and label sets apply to an image.

A project may hold radiographs and face photos together. An acne scale means nothing on a
chest X-ray, so a scale can name the kinds it applies to (``applies_to``; empty = every
image), "done" asks only for the required scales that apply, and the label list shows the
labels made for the image's kind first.

The kind comes from a per-image choice when the user made one, else from the file: a DICOM
modality says it (CR/DX/... are radiographs, XC/ES/... are visible-light photos), colour
means a photo. A grey file without a modality (a 16-bit PNG or TIFF exported from
anywhere) is *unknown*: every scale applies, so a required grade is never dropped on a
guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TypeVar

XRAY = "xray"
PHOTO = "photo"
IMAGE_KINDS = (XRAY, PHOTO)
KIND_TITLES = {XRAY: "X-ray", PHOTO: "Photo"}

# DICOM modalities (PS3.3 C.7.3.1.1.1) that are projection radiography or CT.
XRAY_MODALITIES = frozenset({"CR", "DX", "DR", "RG", "MG", "RF", "XA", "CT", "PX", "IO", "DF"})
# Visible-light photography: external camera, endoscopy, microscopy, ophthalmic, ...
PHOTO_MODALITIES = frozenset({"XC", "ES", "GM", "SM", "OP", "VL", "EPS"})

_L = TypeVar("_L")


def kind_of(
    modality: str | None, samples_per_pixel: int, override: str | None = None
) -> str | None:
    """ "xray", "photo" or None (unknown: every scale applies)."""
    if override in IMAGE_KINDS:
        return override
    mod = (modality or "").strip().upper()
    if mod in PHOTO_MODALITIES:
        return PHOTO
    if mod in XRAY_MODALITIES:
        return XRAY
    if int(samples_per_pixel or 1) >= 3:
        return PHOTO
    return None


def validate_kinds(values: object, where: str) -> tuple[str, ...]:
    """A scale's ``applies_to`` (a kind or a list of kinds) as a tuple; ValueError if bad."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else values
    if not isinstance(items, list | tuple):
        raise ValueError(f"{where}: 'applies_to' must be a list of {', '.join(IMAGE_KINDS)}")
    out: list[str] = []
    for item in items:
        if item not in IMAGE_KINDS:
            raise ValueError(
                f"{where}: 'applies_to' names '{str(item)[:40]}'; use {', '.join(IMAGE_KINDS)}"
            )
        if item not in out:
            out.append(str(item))
    return tuple(out)


def applies(applies_to: Sequence[str], kind: str | None) -> bool:
    """Whether a scale limited to ``applies_to`` (empty: all) applies to an image of ``kind``."""
    return not applies_to or kind is None or kind in applies_to


def kind_first(
    items: Iterable[_L], kind_of_item: dict[str, str | None], key: str, kind: str | None
) -> list[_L]:
    """``items`` with those whose kind (``kind_of_item[getattr(item, key)]``) is ``kind``
    first, keeping the order within each group."""
    listed = list(items)
    if kind is None:
        return listed
    first = [i for i in listed if kind_of_item.get(getattr(i, key)) == kind]
    rest = [i for i in listed if kind_of_item.get(getattr(i, key)) != kind]
    return first + rest
