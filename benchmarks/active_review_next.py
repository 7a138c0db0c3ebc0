"""Review next (#12): milliseconds to answer from stored scores at 20,000 images, cold and warm.

    .venv/bin/python benchmarks/active_review_next.py [--images 20000] [--runs 3]

Two projects of ``--images`` images (30 % reviewed: a fresh version; 98 % reviewed: a
long-running project, where the best scores belong to reviewed images), a fifth held out
by the store's own split, a stored score for every training image, reviewed ones
included, as a real project keeps them and, per way of answering, ``--runs`` fresh processes: each opens the
project (a fresh SQLite connection, empty SQLite page cache; the OS file cache is not
dropped) and answers once (*cold*), then five more times (*warm*, the median). Ways:

* **ClinLens** — ``ReviewQueueController.next_image`` (the app's Review next without the
  status bar): the active version from the model registry, then
  ``core.active.queue.next_from_store``: a few indexed queries with LIMIT 1;
* **before** — what it did until this change: every stored score and every candidate
  read into Python, then ``build_queue`` (the first call filled the score cache);
* **baseline** — plain file-order next: the first unreviewed image (``images(limit=1)``),
  no scores, no held-out rule: what "next image" costs in any annotator.

Also callable from ``benchmarks/active_learning.py --part speed``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

UNREVIEWED = ["new", "in_progress", "to_review"]
MODEL = "det:1"
WAYS = ("ClinLens (next_from_store)", "before (all scores + build_queue)", "baseline (file order)")


def build(folder: Path, n: int, done_share: float = 0.3) -> None:
    import numpy as np

    from core.annotations import builtin_label_set
    from core.store import NewImage, Project
    from core.store.scores import StoredScore

    with Project.create(folder, label_set=builtin_label_set("xray"), scales=[]) as project:
        ids = project.add_images(
            [NewImage(str(folder / f"img{i:05d}.png"), 64, 64) for i in range(n)]
        )
        rng = np.random.default_rng(0)
        done = [i for i in ids if rng.random() < done_share]
        with project.batch():
            for i in done:
                project.set_review_status(i, "done")
        roles = project.heldout.roles()
        project.scores.put(
            "detector",
            MODEL,
            [
                StoredScore(i, float(rng.random()), ("2 uncertain boxes",))
                for i in ids
                if roles[i] == "train"
            ],
        )


def _answer(way: str, project: Any, controller: Any) -> int | None:
    if way.startswith("ClinLens"):
        q = controller.next_image()
    elif way.startswith("before"):
        from core.active.queue import build_queue

        if controller.cache is None:
            controller.cache = project.scores.scores("detector", MODEL)
        cands = [(i, "") for i in project.image_ids_where(status=UNREVIEWED)]
        summary = project.heldout.summary()
        done = project.image_count(status="done")
        q = build_queue(
            cands,
            project.heldout.roles(),
            controller.cache,
            1,
            model=MODEL,
            fraction=project.heldout.fraction(),
            reviewed=(done - summary["reviewed"], summary["reviewed"]),
        )
    else:
        rows = project.images(status=UNREVIEWED, limit=1)
        return rows[0].id if rows else None
    return q.items[0].image_id if q.items else None


def probe(folder: Path, way: str) -> dict[str, Any]:
    """In a fresh process: open, answer once (cold), five more (warm)."""
    t0 = time.perf_counter()
    import app.controllers.review_queue as rq
    from core.store import Project

    imports = time.perf_counter() - t0
    t = time.perf_counter()
    project = Project.open(folder, read_only=False)
    opened = time.perf_counter() - t
    controller = rq.ReviewQueueController(None, lambda: None)  # type: ignore[arg-type]
    controller.project = controller_project = project
    controller.cache = None  # type: ignore[attr-defined]
    # The registry read is part of the answer: the real function on this folder (it has
    # no registry: None), then the active version the scores belong to.
    real_ref = rq.active_detector_ref

    def ref(f: Any) -> str:
        real_ref(f)
        return MODEL

    rq.active_detector_ref = ref  # type: ignore[assignment]
    times, answers = [], []
    for _ in range(6):
        t = time.perf_counter()
        answers.append(_answer(way, controller_project, controller))
        times.append((time.perf_counter() - t) * 1000)
    project.close()
    return {
        "imports_ms": imports * 1000,
        "open_ms": opened * 1000,
        "cold_ms": times[0],
        "warm_ms": statistics.median(times[1:]),
        "answer": answers[0],
    }


SHARES = (0.3, 0.98)  # reviewed share: a fresh version / a long-running project


def measure(work: Path, n: int = 20_000, runs: int = 3) -> list[dict[str, Any]]:
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for share in SHARES:
        folder = work / f"review-next-{share}"
        t = time.perf_counter()
        build(folder, n, share)
        print(f"review next: {n} images built in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        for way in WAYS:
            got = []
            for _ in range(runs):
                out = subprocess.run(
                    [sys.executable, __file__, "--probe", str(folder), way],
                    capture_output=True,
                    text=True,
                    env=env,
                    check=True,
                )
                got.append(json.loads(out.stdout.strip().splitlines()[-1]))
            rows.append(
                {
                    "way": f"{way}, {share:.0%} reviewed",
                    "share": share,
                    "cold_ms": statistics.median(g["cold_ms"] for g in got),
                    "cold_max_ms": max(g["cold_ms"] for g in got),
                    "warm_ms": statistics.median(g["warm_ms"] for g in got),
                    "open_ms": statistics.median(g["open_ms"] for g in got),
                    "answer": got[0]["answer"],
                }
            )
        mine = [r for r in rows if r["share"] == share]
        assert mine[0]["answer"] == mine[1]["answer"], "the new query answers as before"
    return rows


def table(rows: list[dict[str, Any]], n: int) -> str:
    lines = [
        f"| review next, {n:,} images (fresh process each) | cold ms (median / max) | "
        "warm ms (median) | cold vs baseline | project open ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        base = next(b for b in rows if b["way"].startswith("baseline") and b["share"] == r["share"])
        lines.append(
            f"| {r['way']} | {r['cold_ms']:.1f} / {r['cold_max_ms']:.1f} | {r['warm_ms']:.2f} | "
            f"{r['cold_ms'] / max(base['cold_ms'], 1e-6):.1f}x | {r['open_ms']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--probe", nargs=2, metavar=("FOLDER", "WAY"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(Path(args.probe[0]), args.probe[1])))
        return 0
    with tempfile.TemporaryDirectory(prefix="clinlens-next-") as tmp:
        rows = measure(Path(tmp), args.images, args.runs)
    print(table(rows, args.images))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
