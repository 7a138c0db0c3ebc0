"""The frozen bundle beside the source install, in one run.

    python benchmarks/frozen_bundle.py dist/ClinLens/ClinLens [--runs 3] [--display :87]
        [--skip-self-test] [--tarball dist/ClinLens-<v>-linux-x86_64.tar.zst]

Measures: bundle size (total, and the share of torch + CUDA libraries), the build's times
(``build-times.json`` written by packaging/build.py), cold start to a painted window under
Xvfb with the xcb plugin (frozen vs ``python main.py``, alternating, same machine, same
run), the frozen self-test's time, and the first suggestion from the detector worker child
(frozen executable vs ``python -m core.cli``) on a project with a tiny model, and with
``--tarball`` the release tarball's size, its unpack time and the start of the unpacked app.
Prints a Markdown table.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CUDA_WORDS = ("cuda", "cudnn", "cublas", "cufft", "curand", "cusolver", "cusparse", "nccl",
              "nvrtc", "nvjitlink", "cupti", "nvshmem", "cufile", "nvtx")  # fmt: skip


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def sizes(bundle: Path) -> dict[str, float]:
    internal = bundle / "_internal"
    total = du(bundle)
    torch = du(internal / "torch") if (internal / "torch").exists() else 0
    nvidia = du(internal / "nvidia") if (internal / "nvidia").exists() else 0
    loose_cuda = sum(
        p.stat().st_size
        for p in internal.glob("*.so*")
        if p.is_file() and not p.is_symlink() and any(w in p.name.lower() for w in CUDA_WORDS)
    )  # most are links into nvidia/, counted there
    cuda_in_torch = sum(
        p.stat().st_size
        for p in (internal / "torch" / "lib").glob("*.so*")
        if p.is_file() and any(w in p.name.lower() for w in CUDA_WORDS)
    ) if (internal / "torch" / "lib").exists() else 0  # fmt: skip
    triton = du(internal / "triton") if (internal / "triton").exists() else 0
    gib = 2**30
    return {
        "triton_gib": triton / gib,
        "total_gib": total / gib,
        "torch_gib": torch / gib,
        "nvidia_gib": (nvidia + loose_cuda) / gib,
        "cuda_in_torch_gib": cuda_in_torch / gib,
        "torch_cuda_share": (torch + nvidia + loose_cuda + triton) / total if total else 0.0,
        "qt_gib": du(internal / "PySide6") / gib if (internal / "PySide6").exists() else 0.0,
    }


def start_once(cmd: list[str], display: str, data: Path) -> float:
    probe = data / f"probe-{time.monotonic_ns()}.json"
    env = dict(os.environ, CLINLENS_DATA_DIR=str(data), CLINLENS_STARTUP_PROBE=str(probe),
               QT_QPA_PLATFORM="xcb", DISPLAY=display, PYTHONPATH=str(ROOT))  # fmt: skip
    t0 = time.time()
    subprocess.run(cmd, env=env, cwd=data, capture_output=True, timeout=300)
    info = json.loads(probe.read_text(encoding="utf-8"))
    return float(info["wall_time"]) - t0


def first_suggestion(argv_prefix: list[str], project: Path, data: Path) -> float:
    from core.workers import WorkerProcess

    env = dict(os.environ, CLINLENS_DATA_DIR=str(data), CLINLENS_DEVICE="cpu")
    worker = WorkerProcess([*argv_prefix, "detector-worker", str(project)], env=env)
    first: list[float] = []
    t0 = time.perf_counter()
    try:
        worker.request(
            "suggest",
            images=[1],
            device="cpu",
            conf=0.0001,
            on_event=lambda e: (
                first.append(time.perf_counter() - t0) if e.get("event") == "image" else None
            ),
        )
    finally:
        worker.close()
    return first[0]


def unpack_and_start(tarball: Path, display: str, runs: int) -> list[tuple[str, str]]:
    """What a clinic's IT does: unpack the release tarball, then start the app from it."""
    import shutil

    rows = [("release tarball (" + tarball.name + ")", f"{tarball.stat().st_size / 2**30:.2f} GiB")]
    with tempfile.TemporaryDirectory(prefix="clinlens unpack ", dir=tarball.parent) as tmp:
        dest = Path(tmp)
        zstd = tarball.suffix == ".zst"
        cmd = ["tar", *(["-I", "zstd"] if zstd else []), "-xf", str(tarball), "-C", str(dest)]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        rows.append(("unpack (`tar -xf`, one core for zstd)", f"{time.perf_counter() - t0:.0f} s"))
        exe = dest / "ClinLens" / "ClinLens"
        data = dest / "data"
        data.mkdir()
        starts = [start_once([str(exe)], display, data) for _ in range(runs)]
        rows.append(
            (
                "start to painted window from the unpacked tarball (first; then)",
                f"{starts[0]:.2f} s; " + ", ".join(f"{x:.2f}" for x in starts[1:]),
            )
        )
        shutil.rmtree(dest / "ClinLens")
    return rows


def make_model_project(folder: Path, data: Path) -> Path:
    os.environ["CLINLENS_DATA_DIR"] = str(data)
    from ml import registry
    from ml.selftest.steps_ml import DETECTOR_IMAGE, _xray_project
    from ml.selftest.tiny_model import build_checkpoint

    project = folder / "Projekt ü"
    _xray_project(project, [DETECTOR_IMAGE], reviewed=False)
    registry.import_model(project, build_checkpoint(folder), "detector", "bench")
    return project


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("exe", type=Path)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--display", default=os.environ.get("DISPLAY", ":87"))
    p.add_argument(
        "--build-times", type=Path, default=ROOT / "build" / "pyinstaller" / "build-times.json"
    )
    p.add_argument("--skip-self-test", action="store_true")
    p.add_argument("--tarball", type=Path, help="also unpack this release tarball and start it")
    args = p.parse_args()
    exe = args.exe.resolve()
    rows: list[tuple[str, str]] = []
    s = sizes(exe.parent)
    rows.append(("bundle size, total", f"{s['total_gib']:.2f} GiB"))
    rows.append(
        (
            "torch (incl. its own CUDA libs) + nvidia-* CUDA libs",
            f"{s['torch_gib'] + s['nvidia_gib']:.2f} GiB ({100 * s['torch_cuda_share']:.0f} %)",
        )
    )
    rows.append(("  of which nvidia-* CUDA runtime libraries", f"{s['nvidia_gib']:.2f} GiB"))
    rows.append(("  of which CUDA libraries inside torch/lib", f"{s['cuda_in_torch_gib']:.2f} GiB"))
    rows.append(("triton (left out by the spec)", f"{s['triton_gib']:.2f} GiB"))
    rows.append(("Qt (PySide6)", f"{s['qt_gib']:.2f} GiB"))
    if args.build_times.is_file():
        bt = json.loads(args.build_times.read_text())
        rows.append(
            ("build: clean environment from the pins", f"{bt.get('environment_s', 0):.0f} s")
        )
        rows.append(
            (
                "build: PyInstaller (notices, icons, analysis, collect)",
                f"{bt.get('pyinstaller_s', 0):.0f} s",
            )
        )
    with tempfile.TemporaryDirectory(prefix="clinlens bench ü ") as tmp:
        data = Path(tmp)
        frozen, source = [], []
        for _ in range(args.runs):  # alternate, so load changes hit both alike
            frozen.append(start_once([str(exe)], args.display, data))
            source.append(start_once([sys.executable, str(ROOT / "main.py")], args.display, data))
        f_med, s_med = statistics.median(frozen), statistics.median(source)
        rows.append(
            (
                "start to painted window, frozen (median; runs)",
                f"{f_med:.2f} s ({', '.join(f'{x:.2f}' for x in frozen)})",
            )
        )
        rows.append(
            (
                "start to painted window, source `python main.py`",
                f"{s_med:.2f} s ({', '.join(f'{x:.2f}' for x in source)})",
            )
        )
        rows.append(("frozen / source start (goal <= 1.5x)", f"{f_med / s_med:.2f}x"))
        project = make_model_project(data / "model", data)
        f_sug = first_suggestion([str(exe)], project, data)
        s_sug = first_suggestion([sys.executable, "-m", "core.cli"], project, data)
        rows.append(("first suggestion from a cold detector worker, frozen", f"{f_sug:.1f} s"))
        rows.append(("first suggestion from a cold detector worker, source", f"{s_sug:.1f} s"))
        if not args.skip_self_test:
            t0 = time.perf_counter()
            done = subprocess.run([str(exe), "self-test", "--json"], capture_output=True, text=True,
                                  env=dict(os.environ, CLINLENS_DATA_DIR=str(data)), timeout=1800)  # fmt: skip
            total = time.perf_counter() - t0
            doc = json.loads(done.stdout)
            rows.append(
                (
                    f"frozen self-test ({'passed' if doc['passed'] else 'FAILED'}, {doc['device']})",
                    f"{total:.0f} s",
                )
            )
            for st in doc["steps"]:
                rows.append((f"  {st['name']}", f"{st['seconds']:.1f} s"))
    if args.tarball:
        rows += unpack_and_start(args.tarball.resolve(), args.display, args.runs)
    print("| measure | value |\n|---|---:|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
