"""Pack the one-folder Linux build with its menu entry: ``python packaging/linux/make_tarball.py``.

Reads ``DIR/ClinLens`` (default ``dist/``), adds ``clinlens.desktop``, the icon and
``install.sh``, and writes ``DIR/ClinLens-<version>-linux-x86_64.tar.zst`` (zstd when the
``zstd`` tool exists, else ``.tar.gz``). The tarball unpacks into ``ClinLens/``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "packaging"))


def main(argv: list[str] | None = None) -> int:
    from make_icons import write_icons

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dist", type=Path, default=ROOT / "dist")
    args = p.parse_args(argv)
    folder = args.dist / "ClinLens"
    if not (folder / "ClinLens").is_file():
        print(f"tarball: {folder}/ClinLens is missing: build it first (packaging/build.py)")
        return 2
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    shutil.copy(HERE / "clinlens.desktop", folder / "clinlens.desktop")
    shutil.copy(HERE / "install.sh", folder / "install.sh")
    shutil.copy(write_icons(ROOT / "build" / "icons")["png"], folder / "clinlens.png")
    stem = args.dist / f"ClinLens-{version}-linux-x86_64.tar"
    if shutil.which("zstd"):
        target = stem.with_suffix(".tar.zst")
        cmd = ["tar", "-I", "zstd -T0 -10", "-cf", str(target), "-C", str(args.dist), "ClinLens"]
    else:
        target = stem.with_suffix(".tar.gz")
        cmd = ["tar", "-czf", str(target), "-C", str(args.dist), "ClinLens"]
    subprocess.run(cmd, check=True)
    print(f"tarball: {target} ({target.stat().st_size / 2**30:.2f} GiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
