"""Pack the one-folder Linux build with its menu entry: ``python packaging/linux/make_tarball.py``.

    python packaging/linux/make_tarball.py [--dist DIR] [--out DIR] [--format zst|gz]

Reads ``DIR/ClinLens`` (default ``dist/``), adds ``clinlens.desktop``, the icon and
``install.sh``, and writes ``OUT/ClinLens-<version>-linux-x86_64.tar.zst`` (zstd when the
``zstd`` tool exists, else ``.tar.gz``; ``OUT`` defaults to ``DIR``) and beside it
``<tarball>.sha256`` in ``sha256sum`` format (``sha256sum -c`` checks it). The tarball
unpacks into ``ClinLens/``.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "packaging"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pack(dist: Path, out: Path, version: str, fmt: str | None = None) -> tuple[Path, Path]:
    """Write the tarball of ``dist/ClinLens`` and its ``.sha256``; return both paths."""
    if fmt is None:
        fmt = "zst" if shutil.which("zstd") else "gz"
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"ClinLens-{version}-linux-x86_64.tar.{fmt}"
    if fmt == "zst":
        # -10: within a few % of -19's size on these libraries, several times faster.
        cmd = ["tar", "-I", "zstd -T0 -10", "-cf", str(target), "-C", str(dist), "ClinLens"]
    elif fmt == "gz":
        cmd = ["tar", "-czf", str(target), "-C", str(dist), "ClinLens"]
    else:
        raise ValueError(f"unknown format {fmt!r} (zst or gz)")
    subprocess.run(cmd, check=True)
    sums = target.with_name(target.name + ".sha256")
    sums.write_text(f"{sha256_file(target)}  {target.name}\n", encoding="utf-8")
    return target, sums


def main(argv: list[str] | None = None) -> int:
    from make_icons import write_icons

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist")
    p.add_argument("--out", type=Path, help="where the tarball goes (default: --dist)")
    p.add_argument("--format", choices=("zst", "gz"), help="default: zst when zstd exists")
    args = p.parse_args(argv)
    folder = args.dist / "ClinLens"
    if not (folder / "ClinLens").is_file():
        print(f"tarball: {folder}/ClinLens is missing: build it first (packaging/build.py)")
        return 2
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shutil.copy(HERE / "clinlens.desktop", folder / "clinlens.desktop")
    shutil.copy(HERE / "install.sh", folder / "install.sh")
    shutil.copy(write_icons(ROOT / "build" / "icons")["png"], folder / "clinlens.png")
    start = time.perf_counter()
    target, sums = pack(args.dist, args.out or args.dist, version, args.format)
    seconds = time.perf_counter() - start
    print(f"tarball: {target} ({target.stat().st_size / 2**30:.2f} GiB, {seconds:.0f} s)")
    print(f"tarball: {sums}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
