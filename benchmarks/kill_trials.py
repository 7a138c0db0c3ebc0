"""Kill trials: the real window under Xvfb, SIGKILLed at random moments mid-edit.

    .venv/bin/python benchmarks/kill_trials.py [--trials 20] [--seed 0] [--max-delay 4]
                                               [--nudge-presses 90] [--dir DIR]

1. ``--trials`` times: start the app on one project (``python main.py PROJECT`` in a child,
   xcb on a private Xvfb) with a driver making random edits through keys and the mouse
   (draw, move, nudge, relabel, grade, mark done, undo), kill it with SIGKILL after a seeded
   random delay, reopen the project read-only, run ``PRAGMA integrity_check`` and check that
   every edit the window had shown as saved is stored. The driver, the journal and the
   checker live in ``tests/e2e/test_kill_trials.py`` (its docstring says how "shown as
   saved" is told apart from "in flight").
2. The cost of saving every arrow-key press: a held arrow key at auto-repeat speed (30/s)
   in the real window (each press a transaction with fsync, then the redraw), and the store
   update alone with ``synchronous=FULL`` (what ClinLens uses) against ``OFF`` (no fsync),
   to show the fsync's share.

Exit status 1 when an edit was lost or the integrity check failed. Needs Xvfb.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.annotations import Box  # noqa: E402
from core.store import Project  # noqa: E402
from tests.e2e.conftest import xvfb  # noqa: E402
from tests.e2e.test_kill_trials import (  # noqa: E402
    child_command,
    child_env,
    make_trial_project,
    run_trials,
)


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(values):.1f} | {p95:.1f} | {max(values):.1f}"


def held_arrow_key(work: Path, display: str, presses: int) -> dict:
    folder = work / "nudge-proj"
    image_ids = make_trial_project(folder, 1)
    out = work / "nudge.json"
    subprocess.run(
        child_command("nudge-bench", str(folder), str(image_ids[0]), str(out), str(presses)),
        cwd=ROOT,
        env=child_env(display, work / "nudge-data"),
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads(out.read_text())


def store_update_ms(work: Path, sync: str, n: int = 300) -> list[float]:
    """Per ``update_box`` (one transaction each), as a nudge saves it."""
    folder = work / f"store-{sync}"
    image_id = make_trial_project(folder, 1)[0]
    project = Project.open(folder)
    try:
        project._connection().execute(f"PRAGMA synchronous = {sync}")
        box = project.add_box(image_id, Box(20, 20, 80, 60, "zipper"))
        times = []
        for i in range(n):
            x = 20 + (i % 100)
            t0 = time.perf_counter()
            project.update_box(box.id, x1=x, x2=x + 60)
            times.append((time.perf_counter() - t0) * 1000)
        return times
    finally:
        project.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-delay", type=float, default=4.0, help="seconds after ready")
    parser.add_argument("--nudge-presses", type=int, default=90, help="0: skip part 2")
    parser.add_argument("--dir", type=Path, default=None, help="work folder (default: temp)")
    args = parser.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="clinlens-kill-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} logical CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load "
        f"{os.getloadavg()[0]:.2f} at start; work folder {work}"
    )
    t0 = time.monotonic()
    with xvfb() as display:
        report = run_trials(
            work,
            trials=args.trials,
            seed=args.seed,
            display=display,
            max_delay_s=args.max_delay,
            log=lambda line: print(line, flush=True),
        )
        held = held_arrow_key(work, display, args.nudge_presses) if args.nudge_presses else None
    print(f"\n## Kill trials ({time.monotonic() - t0:.0f} s)\n")
    print(report.table())
    print()
    print(report.trial_table())
    if report.driver_errors:
        print("\ndriver errors:\n" + "\n".join(report.driver_errors))
    if held is not None:
        full, off = store_update_ms(work, "FULL"), store_update_ms(work, "OFF")
        starts = held["starts_ms"]
        gaps = [b - a for a, b in itertools.pairwise(starts)]
        # How far the last press fell behind the first one's schedule: a save slower than
        # the interval would make this grow with every press.
        drift = starts[-1] - starts[0] - (len(starts) - 1) * held["interval_ms"]
        print(f"\n## A held arrow key, 30 presses/s ({held['platform']})\n")
        print("| what | median ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|")
        print(
            f"| one press in the window: key → saved (fsync) → redrawn | {_ms(held['handling_ms'])} |"
        )
        print(f"| time between press starts (timer: {held['interval_ms']} ms) | {_ms(gaps)} |")
        print(f"| store update alone, synchronous=FULL (ClinLens) | {_ms(full)} |")
        print(f"| store update alone, synchronous=OFF (no fsync; baseline) | {_ms(off)} |")
        print(
            f"\n{held['presses']} presses in {held['wall_s']:.2f} s "
            f"(ideal {held['presses'] / 30:.2f} s), the last press {drift:.1f} ms behind the "
            f"first one's schedule; box moved {held['moved_px']:g} px "
            f"(every press stored); undo steps the run added: {held['undo_steps_added']}"
        )
    failed = report.lost or report.integrity_failures or report.driver_errors
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
