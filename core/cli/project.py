"""``clinlens project create|import|export|stats``: headless project work.

    project create DIR --labels xray|acne|FILE.yaml [--scales acne4,iga5,hyperpig] [--name N]
    project import DIR PATH... [--annotations ADIR --format voc|yolo|txt|coco] [--grades FILE.csv]
                   [--add-labels [--force]] [--map-labels auto|FILE.yaml] [--reviewed] [--json]
    project labels DIR [--add NAME...] [--force] [--json]
    project photo-view DIR [full_face|one_side]
    project export DIR --format voc|yolo|coco --out OUT [--split 0.8,0.1,0.1] [--seed N]
                   [--remap none|agnostic|sizes|FILE] [--tiles N|grid --tile-size S]
                   [--no-images] [--status LIST | --include-unreviewed]
                   [--pseudonymise|--no-pseudonymise] [--json]
    project stats DIR [--json]

Export and stats open the project read-only, so they work while the GUI edits it.
Export writes reviewed (done) images only unless --status or --include-unreviewed asks
for others; those are listed in OUT/unreviewed.lst (see ``core.project_io.exporter``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.annotations import GradingScale, LabelSet, builtin_label_set, builtin_scale
from core.annotations.labels import builtin_label_set_names, load_label_set_yaml
from core.annotations.scales import builtin_scale_names, load_scale_file
from core.cli import EXIT_USER_ERROR
from core.errors import ClinLensError, FormatError
from core.text import shorten


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "project",
        help="create, import into, export and count a project",
        description="Create a project, import images and annotations, export VOC/YOLO/COCO, stats.",
    )
    sub = parser.add_subparsers(dest="project_command", metavar="ACTION", required=True)

    p = sub.add_parser("create", help="create a project folder")
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument(
        "--labels",
        required=True,
        metavar="SET",
        help=f"built-in label set ({', '.join(builtin_label_set_names())}) or a YAML file",
    )
    p.add_argument(
        "--scales",
        default="",
        metavar="LIST",
        help=f"comma-separated grading scales ({', '.join(builtin_scale_names())}) or YAML files",
    )
    p.add_argument("--name", help="project name (default: the folder name)")
    p.add_argument("--author", help="who is creating it (default: the OS user)")
    p.set_defaults(func=run_create)

    p = sub.add_parser(
        "import",
        help="import images, annotations and grades",
        description="Import image files and folders (recursively), with their annotations "
        "and a grades CSV.",
        epilog=IMPORT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("paths", metavar="PATH", nargs="+", type=Path, help="image files or folders")
    p.add_argument("--annotations", type=Path, metavar="ADIR", help="annotation folder or file")
    p.add_argument(
        "--format",
        choices=("voc", "yolo", "txt", "coco"),
        help="annotation format (coco: PATH or --annotations may name the annotations.json)",
    )
    p.add_argument("--grades", type=Path, metavar="FILE.csv", help="grades CSV to import")
    p.add_argument(
        "--add-labels", action="store_true", help="add labels the project does not have yet"
    )
    p.add_argument(
        "--map-labels",
        metavar="auto|FILE",
        help="map dataset labels onto the project's: 'auto' maps a name that differs from "
        "one project label only by case, plural, spacing or punctuation; FILE is YAML "
        "'dataset name: project label'",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="with --add-labels: add labels even when they are near-twins of the project's",
    )
    p.add_argument(
        "--reviewed",
        action="store_true",
        help="mark each image that comes with an annotation file reviewed (done), so an "
        "existing labelled dataset trains at once; images without one stay new",
    )
    p.add_argument("--author", help="who is importing (default: the OS user)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run_import)

    p = sub.add_parser(
        "export",
        help="export a VOC, YOLO or COCO dataset (+ grades.csv)",
        description="Export a VOC, YOLO or COCO dataset (+ grades.csv) into OUT, a new or empty "
        "folder outside the project or inside DIR/exports/ (the project's other folders are "
        "refused). Outside the project, images are named by opaque ids (img-<content hash>) "
        "unless --no-pseudonymise is given.",
    )
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument(
        "--format",
        choices=("voc", "yolo", "coco"),
        required=True,
        help="coco: one OUT/annotations.json (+ OUT/images/); the split is not used",
    )
    p.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="OUT",
        help="new (or empty) folder; inside the project only under DIR/exports/",
    )
    p.add_argument("--split", default="0.8,0.1,0.1", help="train,val[,test] fractions")
    p.add_argument("--seed", type=int, default=0, help="split and tiling seed")
    p.add_argument("--remap", default="none", help="none, agnostic, sizes, or a YAML/JSON map")
    p.add_argument(
        "--tiles", default="0", metavar="N|grid", help="random positive tiles per image, or grid"
    )
    p.add_argument("--tile-size", type=int, default=640, metavar="S", help="tile side in px")
    p.add_argument("--tile-overlap", type=float, default=0.2, help="grid tile overlap (0..0.9)")
    p.add_argument(
        "--tile-min-fraction",
        type=float,
        default=0.3,
        help="drop a clipped box when less than this part of it stays in the tile",
    )
    p.add_argument("--no-images", action="store_true", help="write annotations only")
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--status",
        help="only images with these review statuses (comma-separated; default: done); "
        "images not done are listed in OUT/unreviewed.lst",
    )
    which.add_argument(
        "--include-unreviewed",
        action="store_true",
        help="also export images not reviewed yet (listed in OUT/unreviewed.lst; a YOLO "
        "export still leaves out those without boxes, which it would read as background)",
    )
    p.add_argument(
        "--include-suggested", action="store_true", help="also export unreviewed suggestions"
    )
    p.add_argument(
        "--boxes",
        default="all",
        metavar="all|consensus|READER",
        help="whose boxes: every reader's (default), the readers' majority consensus, or one "
        "reader's",
    )
    names = p.add_mutually_exclusive_group()
    names.add_argument(
        "--pseudonymise",
        dest="pseudonymise",
        action="store_true",
        default=None,
        help="name images img-<content hash> instead of by their file names, which can "
        "carry patient names; which image each id is stays in DIR/exports/pseudonyms/ "
        "(default when OUT is outside the project folder)",
    )
    names.add_argument(
        "--no-pseudonymise",
        dest="pseudonymise",
        action="store_false",
        help="keep the images' own file names (default for OUT inside DIR/exports/)",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run_export)

    p = sub.add_parser("stats", help="counts of images, boxes, grades and review status")
    p.add_argument("dir", metavar="DIR", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run_stats)

    from core.cli.readers import register_readers

    register_readers(sub)  # agreement, adjudication, adjudicate, blinded (several readers)

    from core.cli.project_labels import register_labels, register_photo_view

    register_labels(sub)
    register_photo_view(sub)


# --- create --------------------------------------------------------------------------
def _label_set(spec: str) -> LabelSet:
    if spec in builtin_label_set_names():
        return builtin_label_set(spec)
    path = Path(spec)
    try:
        exists = path.exists()
    except (OSError, ValueError):  # a name too long for the file system, or a NUL byte
        exists = False
    if path.suffix.lower() in (".yaml", ".yml") or exists:
        if not path.is_file():
            raise FormatError(f"label set file '{shorten(spec)}' does not exist")
        try:
            return load_label_set_yaml(path)
        except UnicodeDecodeError:
            raise FormatError(f"{path}: not UTF-8 text (save the label set as UTF-8)") from None
    raise FormatError(
        f"--labels '{shorten(spec)}': not a built-in set ({', '.join(builtin_label_set_names())}) "
        "or a YAML file"
    )


def _scales(spec: str) -> list[GradingScale]:
    scales: list[GradingScale] = []
    for item in (s.strip() for s in spec.split(",")):
        if not item:
            continue
        if item in builtin_scale_names():
            scales.append(builtin_scale(item))
            continue
        path = Path(item)
        try:
            is_file = path.is_file()
        except OSError:  # e.g. a name too long for the file system: not a file either
            is_file = False
        if not is_file:
            raise FormatError(
                f"--scales '{shorten(item)}': not a built-in scale "
                f"({', '.join(builtin_scale_names())}) or a YAML file"
            )
        # Bounded YAML, names checked, range sizes capped: the one reader of scale files.
        scales.extend(load_scale_file(path))
    return scales


def run_create(args: argparse.Namespace) -> int:
    from core.store import Project

    label_set = _label_set(args.labels)
    scales = _scales(args.scales)
    with Project.create(
        args.dir, label_set=label_set, scales=scales, name=args.name, author=args.author
    ) as project:
        names = ", ".join(shorten(s.name, 40) for s in scales) or "none"
        _out(
            f"created project '{project.name}' in {args.dir} "
            f"({len(label_set.labels)} labels from '{label_set.name}'; scales: {names})"
        )
    return 0


# --- import --------------------------------------------------------------------------
EXIT_PARTIAL_IMPORT = 3
IMPORT_EPILOG = """\
exit status:
  0  everything found was imported (images already in the project count as imported)
  3  partial import: some images were imported, others were not or only as errors;
     one summary line on stderr says how many (the report on stdout lists them)
  2  nothing was imported (no readable image, no image files found), or a user error

An image whose header reads but whose pixels would not decode (cut pixel data, garbage
JPEG 2000, ...) is imported marked as an error, with the reason: the image list shows
it and `project stats` counts and lists it. Files that are not readable images at all,
entries that cannot be followed (a link that loops, an unreadable folder) and images
whose annotation file is wrong are skipped with their reason. Grade rows that match no
image, or contradict each other, are not imported and are listed.
"""


def run_import(args: argparse.Namespace) -> int:
    from core.project_io import import_images
    from core.project_io.importer import COMPLETE, PARTIAL
    from core.store import Project

    with Project.open(args.dir, author=args.author) as project, _progress("importing") as show:
        report = import_images(
            project,
            args.paths,
            annotations=args.annotations,
            fmt=args.format,
            grades_csv=args.grades,
            add_labels=args.add_labels,
            map_labels=args.map_labels,
            force=args.force,
            reviewed=args.reviewed,
            progress=show,
        )
    _out(_json(report.to_dict()) if args.json else "\n".join(report.summary()))
    status = report.status
    if status == COMPLETE:
        return 0
    # One line on stderr, whatever stdout holds (text or JSON): scripts see the code and
    # a person sees why without reading the whole report.
    if status == PARTIAL:
        _err(f"clinlens: partial import: {report.outcome()}")
        return EXIT_PARTIAL_IMPORT
    _err(f"clinlens: error: {report.outcome()}")
    return EXIT_USER_ERROR


# --- export --------------------------------------------------------------------------
def run_export(args: argparse.Namespace) -> int:
    from core.formats.split import parse_split
    from core.project_io import ExportOptions, export_project
    from core.project_io.options import REVIEWED_STATUSES
    from core.store import Project

    tiles, grid = _tiles(args.tiles)
    statuses: tuple[str, ...] | None = REVIEWED_STATUSES
    if args.include_unreviewed:
        statuses = None
    elif args.status:
        statuses = tuple(s.strip() for s in args.status.split(",") if s.strip()) or statuses
    options = ExportOptions(
        fmt=args.format,
        out=args.out,
        split=parse_split(args.split),
        seed=args.seed,
        remap=args.remap,
        tiles=tiles,
        tile_grid=grid,
        tile_size=args.tile_size,
        tile_overlap=args.tile_overlap,
        tile_min_fraction=args.tile_min_fraction,
        images=not args.no_images,
        statuses=statuses,
        include_suggested=args.include_suggested,
        pseudonymise=args.pseudonymise,
        boxes=args.boxes,
    )
    with Project.open(args.dir, read_only=True) as project, _progress("exporting") as show:
        report = export_project(project, options, progress=show)
    _out(_json(report.to_dict()) if args.json else "\n".join(report.summary()))
    return 0


def _tiles(text: str) -> tuple[int, bool]:
    if text.strip().lower() == "grid":
        return 0, True
    try:
        n = int(text)
    except ValueError:
        raise ClinLensError(
            f"--tiles '{shorten(text, 40)}': give a number of tiles per image, or grid"
        ) from None
    if n < 0:
        raise ClinLensError("--tiles must not be negative")
    return n, False


# --- stats ---------------------------------------------------------------------------
def run_stats(args: argparse.Namespace) -> int:
    from core.store import Project

    with Project.open(args.dir, read_only=True) as project:
        stats = project.stats()
        stats["errors"] = stats.get("images_with_errors", 0)
        if stats["errors"]:
            stats["error_images"] = _error_images(project)
    if args.json:
        _out(_json(stats))
        return 0
    _out(_stats_text(stats))
    return 0


def _stats_text(stats: dict[str, Any]) -> str:
    lines = [
        f"project: {stats.get('name', '')}",
        f"images: {stats['images']}",
        f"boxes: {stats['boxes']}",
    ]
    for title, key in (
        ("boxes per label", "boxes_per_label"),
        ("human grades per scale", "grades_per_scale"),
        ("review status", "status_counts"),
    ):
        values = stats.get(key) or {}
        if values:
            lines.append(f"{title}:")
            lines.extend(f"  {k}: {v}" for k, v in values.items())
    heldout = stats.get("heldout")
    if heldout:
        lines.append(f"held-out images: {heldout['images']} ({heldout['reviewed']} reviewed)")
    if stats.get("errors"):
        lines.append(f"images with errors: {stats['errors']}")
        lines.extend(f"  #{e['id']} {e['image']}: {e['error']}" for e in stats["error_images"])
    return "\n".join(lines)


def _error_images(project: Any) -> list[dict[str, Any]]:
    """Each image stored with an error: id, name and the one-line reason.

    A file outside the project is stored under its absolute path, whose folders can
    name the patient: only its file name is shown; inside, the path in the project."""
    out = []
    for rec in project.images():
        if rec.error:
            stored = Path(rec.path)
            shown_as = stored.name if stored.is_absolute() else rec.path
            out.append({"id": rec.id, "image": shown_as, "error": shorten(rec.error, 300)})
    return out


# --- output --------------------------------------------------------------------------
def _out(text: str) -> None:
    """Print a line that cannot fail on odd text: file names that are not UTF-8 and label
    names the console's encoding lacks (e.g. cp1252 when redirected on Windows) come out
    as backslash escapes rather than an error after the work is done."""
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    sys.stdout.write((text + "\n").encode(encoding, "backslashreplace").decode(encoding))


def _err(text: str) -> None:
    """``_out`` for the one summary line on stderr (one line whatever the names hold)."""
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    line = " ".join(text.splitlines())
    sys.stderr.write((line + "\n").encode(encoding, "backslashreplace").decode(encoding))


def _json(data: dict[str, Any]) -> str:
    # ASCII-only JSON is valid whatever the console encoding; parsers read the escapes.
    return json.dumps(data, ensure_ascii=True)


@contextmanager
def _progress(what: str) -> Iterator[Callable[[int, int, str], None] | None]:
    """Progress on stderr, only for a person at a terminal (scripts get clean output); the
    line is ended on the way out, also when the work fails, so an error starts its own line."""
    if not sys.stderr.isatty():
        yield None
        return
    shown = False

    def show(done: int, total: int, _item: str) -> None:
        nonlocal shown
        shown = True
        sys.stderr.write(f"\r{what} {done}/{total}")
        sys.stderr.flush()

    try:
        yield show
    finally:
        if shown:
            sys.stderr.write("\n")
