"""Reader agreement speed and agreement with the reference libraries, same data, same run.

    .venv/bin/python benchmarks/agreement.py [--images 5000] [--readers 3] [--runs 5]

Data: N images graded by R readers on the 0-9 hyperpigmentation scale (steps of 0.5;
each reader = a true grade + noise, 5 % of ratings missing), seeded. Rows:
  * ClinLens ICC(2,1)/(3,1) with CIs (``core.agreement.stats.icc``) vs pingouin's
    ``intraclass_corr`` (the peer; also the largest absolute difference of the figures);
  * Fleiss' kappa vs statsmodels' ``fleiss_kappa`` (with ``aggregate_raters``);
  * the whole ``project agreement`` report from a project on disk (store reads included),
    and the first-time migration of an older project holding those grades.
Times: wall-clock milliseconds, median and minimum of the runs.
"""

from __future__ import annotations

import argparse
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np


def _time(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    out, times = None, []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), min(times), out


def _ratings(n: int, k: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 9, n)
    r = np.clip(np.round((truth[:, None] + rng.normal(0, 0.8, (n, k))) * 2) / 2, 0, 9)
    r[rng.random((n, k)) < 0.05] = np.nan
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=5000)
    ap.add_argument("--readers", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import pandas as pd
    import pingouin
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    from core.agreement import stats
    from core.agreement.report import agreement_report
    from core.annotations import builtin_label_set, builtin_scale
    from core.store import NewImage, Project, schema

    ratings = _ratings(args.images, args.readers)
    cats = [i / 2 for i in range(19)]
    rows = []
    ours = _time(lambda: stats.icc(ratings), args.runs)
    long = pd.DataFrame(
        [
            {"t": i, "r": j, "s": v}
            for i, row in enumerate(ratings)
            for j, v in enumerate(row)
            if v == v
        ]
    )
    pingouin.options["round.column.CI95"] = None

    def peer() -> Any:
        return pingouin.intraclass_corr(
            data=long, targets="t", raters="r", ratings="s", nan_policy="omit"
        ).set_index("Type")

    theirs = _time(peer, args.runs)
    diff = max(
        abs(ours[2]["icc2_1"]["value"] - theirs[2].at["ICC(A,1)", "ICC"]),
        abs(ours[2]["icc3_1"]["ci95"][1] - theirs[2].at["ICC(C,1)", "CI95"][1]),
    )
    rows.append(("ICC(2,1)+(3,1) with CIs", ours, theirs, f"{diff:.1e}"))
    complete = stats.complete_rows(ratings)
    f_ours = _time(lambda: stats.fleiss_kappa(ratings, cats), args.runs)
    f_theirs = _time(
        lambda: fleiss_kappa(aggregate_raters((complete * 2).astype(int), n_cat=19)[0]),
        args.runs,
    )
    rows.append(("Fleiss' kappa", f_ours, f_theirs, f"{abs(f_ours[2] - f_theirs[2]):.1e}"))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "p"
        with Project.create(
            folder,
            label_set=builtin_label_set("xray"),
            scales=[builtin_scale("hyperpig")],
            author="bench",
        ) as project:
            ids = project.add_images(
                NewImage(f"/scans/{i:06d}.png", 64, 64) for i in range(args.images)
            )
            with project.batch():
                for j in range(args.readers):
                    for image_id, v in zip(ids, ratings[:, j], strict=True):
                        if v == v:
                            project.set_grade(image_id, "hyperpig", float(v), author=f"r{j}")
        with Project.open(folder, read_only=True) as project:
            report = _time(lambda: agreement_report(project, "hyperpig"), args.runs)
        # The migration on an older project with one grade per image: step back one version.
        db = folder / "project.clinlens"
        with sqlite3.connect(db) as conn:
            conn.execute("DELETE FROM grades WHERE reader != 'r0'")
            conn.execute("DROP VIEW final_grades")
            conn.execute("DROP TABLE adjudicated_grades")
            step = next(i for i, m in enumerate(schema.MIGRATIONS) if m.apply is schema._readers)
            conn.execute(f"PRAGMA user_version = {step}")
        migrate = _time(lambda: _migrate(db, step), 1)
    print(
        f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}"
    )
    print(f"{args.images} images x {args.readers} readers, hyperpig, {args.runs} runs\n")
    print("| what | ClinLens ms (median/min) | peer ms (median/min) | ratio | max abs diff |")
    print("|---|---|---|---|---|")
    for name, a, b, d in rows:
        print(f"| {name} | {a[0]:.1f} / {a[1]:.1f} | {b[0]:.1f} / {b[1]:.1f} | "
              f"{b[0] / a[0]:.1f}x faster | {d} |")  # fmt: skip
    print(f"| whole agreement report from the project | {report[0]:.0f} / {report[1]:.0f} | | | |")
    print(f"| migration of {args.images} grades to per-reader | {migrate[0]:.0f} | | | |")
    return 0


def _migrate(db: Path, step: int) -> None:
    from core.store import schema

    conn = sqlite3.connect(db, isolation_level=None)
    try:
        # Rebuild what the step expects (the old grades table shape is a superset: the
        # extra reader column is dropped by the copy), then run it.
        conn.execute("BEGIN")
        conn.execute("ALTER TABLE grades RENAME TO grades_old")
        conn.execute(
            "CREATE TABLE grades AS SELECT id, image_id, scale, value, author, source, "
            "model_version, confidence, created_at, updated_at FROM grades_old"
        )
        conn.execute("DROP TABLE grades_old")
        conn.execute("COMMIT")
        schema.migrate(conn, "bench")
    finally:
        conn.close()


if __name__ == "__main__":
    raise SystemExit(main())
