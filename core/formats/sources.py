"""Where the annotations of an image are: matching annotation files to image files.

An import names image files/folders and, optionally, an annotation folder and format.
Annotation files are matched to images by file stem; when several files share a stem
(``images/train/a.jpg`` and ``images/val/a.jpg``) the one whose folders match best wins,
reading ``images`` as ``labels`` and ``JPEGImages`` as ``Annotations`` (ultralytics and
devkit layouts). Nothing here touches a project.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import FormatError
from core.formats.coco import COCO_FILE, CocoImage, read_coco
from core.formats.common import ParsedAnnotation
from core.formats.txtlist import LIST_FILE_NAMES, read_list_file
from core.formats.voc import read_voc
from core.formats.yolo import (
    CLASS_FILE_NAMES,
    find_class_file,
    read_class_names,
    read_yolo_labels,
    rows_to_annotation,
)

FORMATS = ("voc", "yolo", "txt", "coco")
# Folder names that mean the same place in image and annotation trees.
_EQUIVALENT = {"images": "labels", "jpegimages": "annotations", "img": "labels"}


def walk_files(root: Path, suffixes: Iterable[str]) -> list[Path]:
    """Files under ``root`` (or ``root`` itself) with one of the suffixes; hidden skipped."""
    wanted = {s.lower() for s in suffixes}
    if root.is_file():
        return [root] if root.suffix.lower() in wanted else []
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in wanted:
                out.append(Path(dirpath) / name)
    return out


def _folder_key(part: str) -> str:
    low = part.lower()
    return _EQUIVALENT.get(low, low)


def _similarity(image: Path, candidate: Path) -> int:
    """How many trailing folder names the two paths share (after the layout mapping)."""
    a = [_folder_key(p) for p in reversed(image.parent.parts)]
    b = [_folder_key(p) for p in reversed(candidate.parent.parts)]
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass
class FileIndex:
    """Annotation files by stem; each file goes to at most one image."""

    files: Sequence[Path]
    by_stem: dict[str, list[Path]] = field(default_factory=dict)
    used: set[Path] = field(default_factory=set)

    def __post_init__(self) -> None:
        for f in self.files:
            self.by_stem.setdefault(f.stem, []).append(f)

    def match_all(self, images: Sequence[Path]) -> dict[Path, Path | FormatError]:
        """The annotation file of each image that has one (or why it cannot be decided)."""
        out: dict[Path, Path | FormatError] = {}
        claims: dict[Path, list[tuple[int, Path]]] = {}
        for image in images:
            candidates = self.by_stem.get(image.stem)
            if not candidates:
                continue
            scored = sorted(((_similarity(image, c), str(c)) for c in candidates), reverse=True)
            if len(scored) > 1 and scored[0][0] == scored[1][0]:
                out[image] = FormatError(
                    "several annotation files could belong to it "
                    f"({scored[0][1]}, {scored[1][1]}); import their folders separately"
                )
                continue
            chosen = Path(scored[0][1])
            claims.setdefault(chosen, []).append((scored[0][0], image))
        for ann, claimants in claims.items():
            claimants.sort(key=lambda c: c[0], reverse=True)
            if len(claimants) > 1 and claimants[0][0] == claimants[1][0]:
                names = ", ".join(str(c[1]) for c in claimants[:3])
                for _, image in claimants:
                    out[image] = FormatError(
                        f"its annotation {ann} could belong to several images "
                        f"({names}); import their folders separately"
                    )
                self.used.add(ann)  # accounted for by the images skipped above
                continue
            # The best-placed image gets the file; same-named images elsewhere get none.
            out[claimants[0][1]] = ann
            self.used.add(ann)
        return out

    def unused(self) -> list[Path]:
        return [f for f in self.files if f not in self.used]


class AnnotationSource:
    """Finds and reads the annotation of each image; reports files no image claimed.

    Call ``prepare(images)`` once with every image of the import, then ``load`` per image.
    """

    kind = ""

    def __init__(self) -> None:
        self._matches: dict[Path, Any] = {}

    def prepare(self, images: Sequence[Path]) -> None:
        self._matches = self._match_all(images)

    def _match_all(self, images: Sequence[Path]) -> dict[Path, Any]:
        raise NotImplementedError

    def load(self, image: Path, width: int, height: int) -> ParsedAnnotation | None:
        """The image's annotation (None: the source has none for it). FormatError if bad."""
        ref = self._matches.get(image)
        if ref is None:
            return None
        if isinstance(ref, FormatError):
            raise ref
        return self._read(ref, width, height)

    def _read(self, ref: Any, width: int, height: int) -> ParsedAnnotation:
        raise NotImplementedError

    def unused(self) -> list[str]:
        """Annotation files (or list lines) that matched no imported image."""
        raise NotImplementedError


class VocSource(AnnotationSource):
    kind = "voc"

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__()
        self.index = FileIndex([f for r in roots for f in walk_files(r, [".xml"])])

    def _match_all(self, images: Sequence[Path]) -> dict[Path, Any]:
        return dict(self.index.match_all(images))

    def _read(self, ref: Any, width: int, height: int) -> ParsedAnnotation:
        return read_voc(ref)

    def unused(self) -> list[str]:
        return [_unused_file(p) for p in self.index.unused()]


class YoloSource(AnnotationSource):
    kind = "yolo"

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__()
        class_file = find_class_file([r if r.is_dir() else r.parent for r in roots])
        if class_file is None:
            raise FormatError(
                f"{', '.join(map(str, roots))}: no data.yaml or classes.txt with the class "
                "names was found (YOLO labels hold only class numbers)"
            )
        self.class_file = class_file
        self.names = read_class_names(class_file)
        skip = {n.lower() for n in (*CLASS_FILE_NAMES, *LIST_FILE_NAMES)}
        files = [f for r in roots for f in walk_files(r, [".txt"]) if f.name.lower() not in skip]
        self.index = FileIndex(files)

    def _match_all(self, images: Sequence[Path]) -> dict[Path, Any]:
        return dict(self.index.match_all(images))

    def _read(self, ref: Any, width: int, height: int) -> ParsedAnnotation:
        return rows_to_annotation(read_yolo_labels(ref), self.names, width, height, str(ref))

    def unused(self) -> list[str]:
        return [_unused_file(p) for p in self.index.unused()]


def _unused_file(p: Path) -> str:
    return f"{p}: no image named {p.stem}.* among the imported files"


class TxtListSource(AnnotationSource):
    """keras-yolo3 / Roboflow lists: ``_annotations.txt`` files (or the given list file)."""

    kind = "txt"

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__()
        lists: list[Path] = []
        names = {n.lower() for n in LIST_FILE_NAMES}
        for r in roots:
            if r.is_file():
                lists.append(r)
            else:
                lists.extend(f for f in walk_files(r, [".txt"]) if f.name.lower() in names)
        if not lists:
            raise FormatError(
                f"{', '.join(map(str, roots))}: no list file ({', '.join(LIST_FILE_NAMES)}) found"
            )
        self.entries: list[tuple[Path, ParsedAnnotation]] = []  # (resolved image path, entry)
        seen: dict[Path, ParsedAnnotation] = {}
        for lst in lists:
            class_file = find_class_file([lst.parent])
            if class_file is None:
                raise FormatError(f"{lst}: no _classes.txt, classes.txt or data.yaml beside it")
            class_names = read_class_names(class_file)
            for ann in read_list_file(lst, class_names):
                resolved = _resolved(lst.parent / (ann.image_name or ""))
                if resolved in seen:
                    raise FormatError(
                        f"{ann.where(ann.line)}: image '{ann.image_name}' is already listed "
                        f"({seen[resolved].where(seen[resolved].line)})"
                    )
                seen[resolved] = ann
                self.entries.append((resolved, ann))
        self.used: set[int] = set()

    def _match_all(self, images: Sequence[Path]) -> dict[Path, Any]:
        out: dict[Path, Any] = {}
        by_path = {p: i for i, (p, _) in enumerate(self.entries)}
        rest: list[Path] = []
        for image in images:
            i = by_path.get(_resolved(image))
            if i is None:
                rest.append(image)
            else:
                out[image] = i
                self.used.add(i)
        # Lists often name images relative to another folder: fall back to the file name,
        # only where name -> entry and entry -> image are both unambiguous.
        free: dict[str, list[int]] = {}
        for i, (p, _) in enumerate(self.entries):
            if i not in self.used:
                free.setdefault(p.name, []).append(i)
        wanted: dict[str, list[Path]] = {}
        for image in rest:
            if image.name in free:
                wanted.setdefault(image.name, []).append(image)
        for name, imgs in wanted.items():
            entries = free[name]
            if len(entries) == 1 and len(imgs) == 1:
                out[imgs[0]] = entries[0]
                self.used.add(entries[0])
                continue
            lines = ", ".join(
                self.entries[i][1].where(self.entries[i][1].line) for i in entries[:2]
            )
            for image in imgs:
                out[image] = FormatError(
                    f"cannot tell which list line is its own ({lines}); "
                    "give paths in the list or import the images separately"
                )
        return out

    def _read(self, ref: Any, width: int, height: int) -> ParsedAnnotation:
        return self.entries[int(ref)][1]

    def unused(self) -> list[str]:
        return [
            f"{ann.where(ann.line)}: image '{ann.image_name}' "
            + ("not found among the imported files" if p.exists() else "does not exist")
            for i, (p, ann) in enumerate(self.entries)
            if i not in self.used
        ]


class CocoSource(AnnotationSource):
    """One COCO ``annotations.json`` (the named file, or found in the folder or its parent,
    where an export puts it beside ``images/``). Its ``file_name`` entries are matched to
    the imported files by path (relative to the JSON's folder or its ``images/``), then by
    file name where that is unambiguous."""

    kind = "coco"

    def __init__(self, roots: Sequence[Path]) -> None:
        super().__init__()
        self.path = _find_coco_file(roots)
        self.doc = read_coco(self.path)
        base = self.path.parent
        self.entries: list[tuple[Path, Path, CocoImage]] = []  # (as named, under images/, entry)
        for im in self.doc.images.values():
            rel = Path(im.file_name.replace("\\", "/"))
            self.entries.append((_resolved(base / rel), _resolved(base / "images" / rel), im))
        self.used: set[int] = set()

    def _match_all(self, images: Sequence[Path]) -> dict[Path, Any]:
        out: dict[Path, Any] = {}
        by_path: dict[Path, int] = {}
        for i, (named, under, _) in enumerate(self.entries):
            by_path.setdefault(named, i)
            by_path.setdefault(under, i)
        rest: list[Path] = []
        for image in images:
            hit = by_path.get(_resolved(image))
            if hit is None or hit in self.used:
                rest.append(image)
            else:
                out[image] = hit
                self.used.add(hit)
        free: dict[str, list[int]] = {}
        for i, (_, _, im) in enumerate(self.entries):
            if i not in self.used:
                free.setdefault(Path(im.file_name.replace("\\", "/")).name, []).append(i)
        wanted: dict[str, list[Path]] = {}
        for image in rest:
            if image.name in free:
                wanted.setdefault(image.name, []).append(image)
        for name, imgs in wanted.items():
            ids = free[name]
            if len(ids) == 1 and len(imgs) == 1:
                out[imgs[0]] = ids[0]
                self.used.add(ids[0])
                continue
            for image in imgs:
                out[image] = FormatError(
                    f"{self.path}: cannot tell which image entry is its own (several are "
                    f"named '{name}'); import the images separately"
                )
        return out

    def _read(self, ref: Any, width: int, height: int) -> ParsedAnnotation:
        im = self.entries[int(ref)][2]
        return ParsedAnnotation(
            source=f"{self.path} (image id {im.id}, '{im.file_name}')",
            image_name=im.file_name,
            width=im.width or None,
            height=im.height or None,
            boxes=list(self.doc.boxes.get(im.id, [])),
        )

    def unused(self) -> list[str]:
        out = [
            f"{self.path}: image '{im.file_name}' (id {im.id}) not found among the imported files"
            for i, (_, _, im) in enumerate(self.entries)
            if i not in self.used
        ]
        if self.doc.crowd:
            out.append(
                f"{self.path}: {self.doc.crowd} crowd annotation(s) (iscrowd 1, a region of "
                "many objects) not imported as boxes"
            )
        return out


def _find_coco_file(roots: Sequence[Path]) -> Path:
    """The named JSON file, else ``annotations.json`` in a folder or its parent, else the
    one JSON file in a folder (or its ``annotations/``, CVAT's layout)."""
    for root in roots:
        if root.is_file() and root.suffix.lower() == ".json":
            return root
    for root in (r if r.is_dir() else r.parent for r in roots):
        for folder in (root, root.parent):
            if (folder / COCO_FILE).is_file():
                return folder / COCO_FILE
        for folder in (root, root / "annotations"):
            found = sorted(folder.glob("*.json")) if folder.is_dir() else []
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise FormatError(
                    f"{folder}: several JSON files ({found[0].name}, {found[1].name}); name "
                    "the COCO file with --annotations"
                )
    raise FormatError(
        f"{', '.join(map(str, roots))}: no COCO {COCO_FILE} found; name it with --annotations"
    )


def _resolved(path: Path) -> Path:
    """``path.resolve()``, or its absolute form when it cannot be resolved: a list line
    naming a link that loops must be reported as not found, not stop the import with a
    RuntimeError (Python < 3.13) or an OSError."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def beside_images(roots: Sequence[Path]) -> list[Path]:
    """Where to look for annotations when none were named: the image folders themselves plus
    their layout twins (``.../images/train`` -> ``.../labels/train``, ``JPEGImages`` ->
    ``Annotations``) when those exist."""
    out = list(roots)
    twins = {"images": "labels", "jpegimages": "Annotations"}
    for root in roots:
        folder = root if root.is_dir() else root.parent
        parts = list(folder.parts)
        for i in range(len(parts) - 1, -1, -1):
            twin = twins.get(parts[i].lower())
            if twin is not None:
                candidate = Path(*parts[:i], twin, *parts[i + 1 :])
                if candidate.is_dir() and candidate not in out:
                    out.append(candidate)
                break
    return out


def make_source(fmt: str, roots: Sequence[Path]) -> AnnotationSource:
    wanted = {"voc": ".xml", "yolo": ".txt", "coco": ".json"}.get(fmt)
    for r in roots:
        if not r.exists():
            raise FormatError(f"{r}: the annotation folder does not exist")
        if wanted and r.is_file() and r.suffix.lower() != wanted:
            # Otherwise it would be walked for *.xml / *.txt, find none, and import no boxes.
            raise FormatError(f"{r}: not a {fmt.upper()} annotation file ({wanted})")
    if fmt == "voc":
        return VocSource(roots)
    if fmt == "yolo":
        return YoloSource(roots)
    if fmt == "txt":
        return TxtListSource(roots)
    if fmt == "coco":
        return CocoSource(roots)
    raise FormatError(f"unknown annotation format '{fmt}' (one of {', '.join(FORMATS)})")


def guess_format(root: Path) -> str:
    """voc / txt / yolo from what an annotation folder holds (for --annotations alone)."""
    if root.is_file():
        suffix = root.suffix.lower()
        return {".xml": "voc", ".json": "coco"}.get(suffix, "txt")
    if walk_files(root, [".xml"]):
        return "voc"
    names = {n.lower() for n in LIST_FILE_NAMES}
    if any(f.name.lower() in names for f in walk_files(root, [".txt"])):
        return "txt"
    return "yolo"
