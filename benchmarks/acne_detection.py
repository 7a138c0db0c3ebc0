"""Acne lesion detection trained inside ClinLens on real photos (#11, quality).

Reads the ACNE04 development split (``../shared/data/acne04-dev``: 640 x 640 photos, VOC
boxes, the grade in the file name; research-only, never copied anywhere but a temporary
project). Its box labels name the photo's grade, not a lesion type (see its README), so every
box becomes the acne label set's untyped ``lesion``. Each photo is reviewed (done) and
graded on ``acne4`` from its name; the frozen held-out set (20 %, stratified) is ClinLens'
own. Then, through the real CLI and training worker:

    main.py model train P --preset acne --from scratch --epochs N --json
    main.py model evaluate P --json

and prints held-out precision, recall, F1, AP50 and the lesion-count error per grade, beside
the acne-detection study's AP50 (0.536, YOLOv4 0.526) and the count of a "model" that
predicts each grade's mean training count (a baseline the count error must beat).

Usage: ``.venv/bin/python benchmarks/acne_detection.py [--epochs 30] [--imgsz 640]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "acne04-dev"
STUDY_AP50 = 0.536
GRADE = re.compile(r"^levle(\d)_")


def make_project(folder: Path, source: Path) -> tuple[int, dict[int, int]]:
    """A reviewed acne project of the development photos; returns (images, grade counts)."""
    from core.annotations import Box, builtin_label_set
    from core.annotations.scales import builtin_scale
    from core.formats.voc import read_voc
    from core.imaging import read_header
    from core.store import NewImage, Project

    photos = sorted(p for p in source.glob("*.jpg") if GRADE.match(p.name))
    grades: dict[int, int] = {}
    with Project.create(
        folder, label_set=builtin_label_set("acne"), scales=[builtin_scale("acne4")]
    ) as project:
        items = []
        for p in photos:
            head = read_header(p)
            items.append(NewImage(path=str(p), width=head.width, height=head.height, bit_depth=8))
        ids = project.add_images(items)
        for image_id, photo in zip(ids, photos, strict=True):
            ann = read_voc(photo.with_suffix(".xml"))
            project.add_boxes(
                image_id, [Box(b.x1, b.y1, b.x2, b.y2, label="lesion") for b in ann.boxes]
            )
            grade = int(GRADE.match(photo.name).group(1))  # type: ignore[union-attr]
            grades[grade] = grades.get(grade, 0) + 1
            project.set_grade(image_id, "acne4", float(grade))
            project.set_review_status(image_id, "done")
    return len(photos), grades


def grade_mean_baseline(folder: Path) -> dict:
    """Count errors of predicting, for each held-out photo, its grade's mean training count."""
    from core.store import Project
    from ml.evaluation import count_error_stats
    from ml.training.dataset import HELDOUT, reviewed_images

    with Project.open(folder, read_only=True) as project:
        grades = {i: g for i, gs in project.grades_by_image().items() for g in gs[:1]}
        images = reviewed_images(project)
    train: dict[int, list[int]] = {}
    held: list[tuple[int, int]] = []
    for im in images:
        grade = int(grades[im.image_id].value)
        if im.role == HELDOUT:
            held.append((grade, len(im.boxes)))
        else:
            train.setdefault(grade, []).append(len(im.boxes))
    means = {g: sum(c) / len(c) for g, c in train.items()}
    pred = [round(means.get(g, 0.0)) for g, _ in held]
    return count_error_stats(pred, [c for _, c in held], [g for g, _ in held]).to_dict()


def _num(value: object) -> str:
    """A metric, or "—" where it is undefined (e.g. precision with no predicted box)."""
    return "—" if value is None else f"{float(value):.3f}"  # type: ignore[arg-type]


def cli(*args: str, env: dict[str, str], progress: bool = False) -> dict:
    """One CLI call's JSON; with ``progress`` its stderr (per-epoch lines) goes to ours, so a
    long run can be followed in its log."""
    res = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        stdout=subprocess.PIPE,
        stderr=None if progress else subprocess.PIPE,
        text=True,
        env=env,
        timeout=6 * 3600,
    )
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(args[:2])} failed: {(res.stderr or '').strip()[-600:]}")
    return json.loads(res.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--patience", type=int, help="early-stopping patience (preset's default)")
    ap.add_argument("--hours", type=float, help="wall-time budget; epochs are fitted to it")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, help="also write the markdown here")
    ap.add_argument("--keep", type=Path, help="copy the trained project here (to re-evaluate)")
    args = ap.parse_args()
    if not args.data.is_dir():
        print(f"no development photos at {args.data}: nothing to measure (see the README)")
        return 0

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        env = {**os.environ, "CLINLENS_DATA_DIR": str(tmp / "appdata")}
        project = tmp / "acne-project"
        n, grades = make_project(project, args.data)
        t = time.perf_counter()
        trained = cli(
            "model",
            "train",
            str(project),
            "--preset",
            "acne",
            "--from",
            "scratch",
            "--epochs",
            str(args.epochs),
            "--imgsz",
            str(args.imgsz),
            "--batch",
            str(args.batch),
            "--device",
            args.device,
            *(["--patience", str(args.patience)] if args.patience else []),
            *(["--hours", str(args.hours)] if args.hours else []),
            "--json",
            env=env,
            progress=True,
        )
        train_s = time.perf_counter() - t
        report = cli("model", "evaluate", str(project), "--json", env=env)
        # The same model at a low score threshold: where the operating one keeps (almost)
        # nothing, this says whether the lesions are found at all, only with low scores.
        low = cli("model", "evaluate", str(project), "--conf", "0.05", "--json", env=env)
        base = grade_mean_baseline(project)
        if args.keep:
            import shutil

            shutil.copytree(project, args.keep, dirs_exist_ok=True)
            shutil.copytree(tmp / "appdata", args.keep / "_appdata", dirs_exist_ok=True)

    held = trained["heldout"]
    count = report.get("count") or {}
    lines = [
        "### Acne lesion detection on the ACNE04 development photos (`benchmarks/acne_detection.py`)",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} logical CPUs, device "
        f"{trained.get('device')}, Python {platform.python_version()}. Date "
        f"{date.today().isoformat()}. Load average at the end: {os.getloadavg()[0]:.1f}.",
        f"Command: `.venv/bin/python benchmarks/acne_detection.py --epochs {args.epochs} "
        f"--imgsz {args.imgsz} --batch {args.batch} --device {args.device}"
        + (f" --patience {args.patience}" if args.patience else "")
        + (f" --hours {args.hours}" if args.hours else "")
        + "`.",
        f"{n} photos (grades 0-3: {', '.join(str(grades.get(g, 0)) for g in range(4))}), "
        f"boxes as untyped `lesion`; acne preset, YOLOv8n config from scratch (no pretrained "
        f"weights ship), {trained['epochs']} epochs in {train_s / 60:.1f} min; "
        f"{held['images']} frozen held-out photos.",
        "",
        "| held-out | precision | recall | F1 | AP50 |",
        "|---|---:|---:|---:|---:|",
        f"| ClinLens `{trained['model']}` | {_num(held.get('precision'))} | "
        f"{_num(held.get('recall'))} | {_num(held.get('f1'))} | {_num(held.get('ap50'))} |",
        f"| same model at score >= 0.05 | {_num(low.get('precision'))} | "
        f"{_num(low.get('recall'))} | {_num(low.get('f1'))} | {_num(low.get('ap50'))} |",
        f"| acne-detection study (pretrained, full ACNE04 training split) | | | | {STUDY_AP50} |",
        "",
    ]

    def cells(row: dict) -> str:
        sd = row.get("std")
        return (
            f"{row['n']} | {row['mae']:.1f} | {row['rmse']:.1f} | {row['mean']:+.1f} | "
            f"{'' if sd is None else f'{sd:.1f}'}"
        )

    lines += [
        "Lesion-count error on the held-out photos (predicted - human count per photo; the "
        "baseline predicts each grade's mean training count, knowing the grade):",
        "",
        "| counted by | score threshold | grade | photos | MAE | RMSE | mean | SD |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for who, rep in (("model", count), ("model", low.get("count") or {}), ("baseline", base)):
        if not rep:
            continue
        thr = "—" if rep.get("threshold") is None else f"{float(rep['threshold']):.3f}"
        lines.append(f"| {who} | {thr} | all | {cells(rep)} |")
        for grade, row in sorted((rep.get("by_grade") or {}).items()):
            lines.append(f"| {who} | {thr} | {grade} | {cells(row)} |")
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    sys.stdout.write(
        json.dumps({"train": trained, "evaluate": report, "low": low}, default=str)[:6000] + "\n"
    )
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
