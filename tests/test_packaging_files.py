"""The packaging recipes that cannot run here are at least well-formed: the GitHub workflow
(yamllint and GitHub's workflow schema), the macOS Info.plist, the Linux menu entry, the
Inno Setup script; the build reads the project's own pins; the icons are drawn."""

from __future__ import annotations

import configparser
import plistlib
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
WORKFLOW = ROOT / ".github" / "workflows" / "package.yml"


def test_the_workflow_passes_yamllint() -> None:
    from yamllint import linter
    from yamllint.config import YamlLintConfig

    config = YamlLintConfig(file=str(ROOT / ".yamllint.yaml"))
    problems = list(linter.run(WORKFLOW.read_text(encoding="utf-8"), config))
    assert problems == []


@pytest.mark.skipif(
    not Path(sys.executable).with_name("check-jsonschema").exists(), reason="no check-jsonschema"
)
def test_the_workflow_matches_githubs_schema_and_runs_the_self_test_on_three_platforms() -> None:
    import yaml

    exe = Path(sys.executable).with_name("check-jsonschema")
    done = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    doc = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    job = doc["jobs"]["bundle"]
    assert len(job["strategy"]["matrix"]["os"]) == 3
    runs = " ".join(str(s.get("run", "")) for s in job["steps"])
    assert "packaging/build.py" in runs and "packaging/frozen_check.py" in runs


def test_the_build_installs_exactly_the_projects_pins() -> None:
    sys.path.insert(0, str(PACKAGING))
    try:
        import build as build_script
    finally:
        sys.path.remove(str(PACKAGING))
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert build_script.project_pins() == pins["dependencies"]
    reqs = (PACKAGING / "requirements-build.txt").read_text(encoding="utf-8")
    assert "pyinstaller==" in reqs


def test_the_spec_takes_hidden_imports_from_the_one_command_list() -> None:
    spec = (PACKAGING / "clinlens.spec").read_text(encoding="utf-8")
    assert "command_modules()" in spec
    assert "upx=False" in spec and "exclude_binaries=True" in spec  # one-folder, no UPX
    for needle in ("pylibjpeg.pixel_data_decoders", 'collect_submodules("imagecodecs")',
                   "shape_predictor_68_face_landmarks.dat", "haarcascade_", "rthook_clinlens.py"):  # fmt: skip
        assert needle in spec


def test_the_macos_plist_and_the_linux_menu_entry_are_valid() -> None:
    plist = plistlib.loads((PACKAGING / "macos" / "Info.plist").read_bytes())
    assert plist["CFBundleExecutable"] == "ClinLens" and plist["CFBundleIconFile"].endswith(".icns")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert plist["CFBundleShortVersionString"] == version["version"]
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(PACKAGING / "linux" / "clinlens.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application" and desktop["Exec"].startswith("@EXEC@")
    assert desktop["Categories"].endswith(";")


def test_the_inno_setup_script_has_a_start_menu_entry_and_an_uninstaller() -> None:
    iss = (PACKAGING / "windows" / "clinlens.iss").read_text(encoding="utf-8")
    assert 'Name: "{group}\\{#AppName}"; Filename: "{app}\\ClinLens.exe"' in iss
    assert "{uninstallexe}" in iss and "DefaultDirName={autopf}" in iss


def test_the_icons_are_drawn_in_the_three_formats(tmp_path: Path) -> None:
    sys.path.insert(0, str(PACKAGING))
    try:
        from make_icons import write_icons
    finally:
        sys.path.remove(str(PACKAGING))
    from PIL import Image

    paths = write_icons(tmp_path)
    assert Image.open(paths["png"]).size == (256, 256)
    assert Image.open(paths["ico"]).format == "ICO"
    assert Image.open(paths["icns"]).format == "ICNS"


def test_the_runtime_hook_sends_library_settings_to_the_users_data_folder(tmp_path: Path) -> None:
    code = (
        "import os, runpy; runpy.run_path(os.environ['HOOK']);"
        "print(os.environ['YOLO_CONFIG_DIR']); print(os.environ['MPLCONFIGDIR']);"
        "print(os.environ['TORCH_HOME'])"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "CLINLENS_DATA_DIR": str(tmp_path / "Daten ü"),
        "HOOK": str(PACKAGING / "hooks" / "rthook_clinlens.py"),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.returncode == 0, out.stderr
    dirs = out.stdout.splitlines()
    assert dirs[0] == str(tmp_path / "Daten ü" / "ultralytics")
    assert all(d.startswith(str(tmp_path / "Daten ü")) for d in dirs)


@pytest.mark.parametrize("fmt", ["gz", "zst"])
def test_the_tarball_unpacks_into_clinlens_and_its_sha256_checks(tmp_path: Path, fmt: str) -> None:
    import hashlib
    import shutil
    import tarfile

    if fmt == "zst" and shutil.which("zstd") is None:
        pytest.skip("no zstd tool (the .tar.gz path is tested)")
    sys.path.insert(0, str(PACKAGING / "linux"))
    try:
        from make_tarball import pack
    finally:
        sys.path.remove(str(PACKAGING / "linux"))
    bundle = tmp_path / "dist" / "ClinLens"
    (bundle / "_internal").mkdir(parents=True)
    (bundle / "ClinLens").write_bytes(b"\x7fELF fake")
    (bundle / "_internal" / "libü.so").write_bytes(b"x" * 5000)
    target, sums = pack(tmp_path / "dist", tmp_path / "out dir", "1.2.3", fmt)
    assert target.name == f"ClinLens-1.2.3-linux-x86_64.tar.{fmt}"
    digest, name = sums.read_text(encoding="utf-8").split()
    assert name == target.name and digest == hashlib.sha256(target.read_bytes()).hexdigest()
    checked = subprocess.run(["sha256sum", "-c", sums.name], cwd=sums.parent, capture_output=True)
    assert checked.returncode == 0, checked.stdout
    unpacked = tmp_path / "unpacked"
    unpacked.mkdir()
    if fmt == "zst":
        subprocess.run(["tar", "-I", "zstd", "-xf", str(target), "-C", str(unpacked)], check=True)
    else:
        with tarfile.open(target) as tar:
            tar.extractall(unpacked, filter="data")
    assert (unpacked / "ClinLens" / "ClinLens").read_bytes() == b"\x7fELF fake"
    assert (unpacked / "ClinLens" / "_internal" / "libü.so").stat().st_size == 5000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux library names")
def test_the_bundle_check_names_torchvisions_missing_operator_library(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sys.path.insert(0, str(PACKAGING))
    try:
        from frozen_check import bundle_files
    finally:
        sys.path.remove(str(PACKAGING))
    exe = tmp_path / "ClinLens" / "ClinLens"
    (exe.parent / "_internal" / "torchvision").mkdir(parents=True)
    exe.write_bytes(b"")
    assert not bundle_files(exe)
    assert "torchvision/_C_stable.so" in capsys.readouterr().out
    (exe.parent / "_internal" / "torchvision" / "_C_stable.so").write_bytes(b"")
    assert bundle_files(exe)
