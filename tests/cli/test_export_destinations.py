"""``python main.py project export ... --out OUT`` with hostile destinations.

Each refusal must be one line on stderr with exit code 2, no traceback, and leave the
project exactly as it was; the harmless odd places (spaces, non-ASCII, a link to an
outside folder, a folder in exports/) must work.
"""

from __future__ import annotations

import errno
import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from core.store import DB_NAME
from tests.core.conftest import annotated_project

ROOT = Path(__file__).resolve().parents[2]
SIDE = ("-wal", "-shm", "-journal", ".clinlens.lock")

# Runs main.py with os.mkdir failing under one folder, as on a read-only or immutable
# folder (the tests run as root, which chmod cannot stop, and chattr is unavailable).
_DENY_MKDIR = """
import errno, os, runpy, sys
deny, code = sys.argv.pop(1), int(sys.argv.pop(1))
real_mkdir = os.mkdir
def mkdir(path, *args, **kwargs):
    if os.path.abspath(os.fspath(path)).startswith(deny):
        raise OSError(code, os.strerror(code), os.fspath(path))
    return real_mkdir(path, *args, **kwargs)
os.mkdir = mkdir
sys.argv[0] = {main!r}
runpy.run_path({main!r}, run_name="__main__")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("dest")
    p = annotated_project(base, n=3, with_16bit=False)
    folder = p.folder
    (folder / "models" / "detector.pt").write_bytes(b"trusted weights")
    (folder / ".cache" / "thumbs").mkdir(parents=True)
    (folder / ".cache" / "thumbs" / "1-abc.png").write_bytes(b"thumb")
    (folder / "cache").mkdir()
    p.close()
    return folder


def _snapshot(folder: Path) -> dict[str, object]:
    """What must not change: every file's bytes (but the database's, whose WAL may be
    checkpointed by a reader) and the database's content."""
    files = {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.name.startswith(DB_NAME) and not p.name.endswith(SIDE)
    }
    dirs = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_dir())
    conn = sqlite3.connect(f"{(folder / DB_NAME).as_uri()}?mode=ro", uri=True)
    try:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        counts = {
            t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("images", "boxes", "grades", "audit", "labels")
        }
    finally:
        conn.close()
    return {"files": files, "dirs": dirs, "integrity": check, "counts": counts}


def _export(project: Path, out: Path | str, *extra: str, wrap: list[str] | None = None):  # type: ignore[no-untyped-def]
    env = {**os.environ, "CLINLENS_DATA_DIR": str(project.parent / "data")}
    argv = ["project", "export", str(project), "--format", "voc", "--out", str(out)]
    argv += ["--include-unreviewed", *extra]  # its images are not reviewed
    if wrap is None:
        cmd = [sys.executable, str(ROOT / "main.py"), *argv]
    else:
        script = _DENY_MKDIR.format(main=str(ROOT / "main.py"))
        cmd = [sys.executable, "-c", script, *wrap, *argv]
    return subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=120, check=False, cwd=ROOT
    )


# Each case: (id, set-up giving the --out value, words the one error line must hold).
Setup = Callable[[Path, Path], Path | str]


def _link(tmp: Path, target: Path, name: str = "link") -> Path:
    link = tmp / name
    link.symlink_to(target, target_is_directory=True)
    return link


def _fifo(tmp: Path, _project: Path) -> Path:
    os.mkfifo(tmp / "pipe")
    return tmp / "pipe"


def _file(tmp: Path, _project: Path) -> Path:
    (tmp / "notes.txt").write_text("mine")
    return tmp / "notes.txt"


def _full(tmp: Path, _project: Path) -> Path:
    (tmp / "full").mkdir()
    (tmp / "full" / "keep.txt").write_text("mine")
    return tmp / "full"


def _loop(tmp: Path, _project: Path) -> Path:
    (tmp / "a").symlink_to(tmp / "b")
    (tmp / "b").symlink_to(tmp / "a")
    return tmp / "a"


def _broken(tmp: Path, _project: Path) -> Path:
    (tmp / "dangling").symlink_to(tmp / "nowhere" / "at-all")
    return tmp / "dangling"


REFUSED: list[tuple[str, Setup, str]] = [
    ("project-root", lambda t, p: p, "project folder itself"),
    ("project-root-dotted", lambda t, p: p / "exports" / "..", "project folder itself"),
    ("models", lambda t, p: p / "models", "models/"),
    ("inside-models", lambda t, p: p / "models" / "new", "models/"),
    ("dot-cache", lambda t, p: p / ".cache", "cache"),
    ("inside-thumbs", lambda t, p: p / ".cache" / "thumbs" / "x", "cache"),
    ("feature-cache", lambda t, p: p / "cache" / "x", "cache"),
    ("database", lambda t, p: p / DB_NAME, "project database"),
    ("database-wal", lambda t, p: p / f"{DB_NAME}-wal", "project database"),
    ("database-backup", lambda t, p: p / f"{DB_NAME}.v1.bak", "project database"),
    ("lock-file", lambda t, p: p / ".clinlens.lock", "lock file"),
    ("link-to-models", lambda t, p: _link(t, p / "models"), "leads to"),
    ("below-link-to-models", lambda t, p: _link(t, p / "models") / "new", "models/"),
    ("dotdot-into-models", lambda t, p: p / "exports" / ".." / "models" / "x", "models/"),
    # Physically, link/.. is the project folder (not the folder holding the link).
    ("dotdot-after-a-link", lambda t, p: _link(t, p / "exports") / ".." / "models", "models/"),
    ("exports-itself", lambda t, p: p / "exports", "exports folder itself"),
    ("pseudonym-lists", lambda t, p: p / "exports" / "pseudonyms" / "x", "exports/pseudonyms/"),
    ("other-project-folder", lambda t, p: p / "src2", "only exports/"),
    ("fifo", _fifo, "named pipe (FIFO)"),
    ("dev-null", lambda t, p: "/dev/null", "is a device"),
    ("existing-file", _file, "an existing file"),
    ("below-a-file", lambda t, p: _file(t, p) / "sub", "is a file, not a folder"),
    ("not-empty", _full, "not empty"),
    ("broken-link", _broken, "broken symbolic link"),
    ("link-loop", _loop, "round in a circle"),
]


@pytest.mark.parametrize(("setup", "needle"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_a_hostile_destination_is_refused_in_one_line_and_the_project_is_unchanged(
    tmp_path: Path, project: Path, setup: Setup, needle: str
) -> None:
    out = setup(tmp_path, project)
    before = _snapshot(project)
    done = _export(project, out)
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stderr and "nothing was written" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("clinlens: error: ")
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr
    assert _snapshot(project) == before and before["integrity"] == "ok"
    assert not list(tmp_path.glob(".*.partial-*")) and not list(project.glob(".*.partial-*"))


@pytest.mark.parametrize(
    ("code", "needle"),
    [(errno.EACCES, "permission denied"), (errno.EPERM, "permission denied"),
     (errno.EROFS, "read-only")],
    ids=["read-only-folder", "immutable-folder", "read-only-disk"],
)  # fmt: skip
def test_an_unwritable_destination_gets_a_clear_message(
    tmp_path: Path, project: Path, code: int, needle: str
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    before = _snapshot(project)
    done = _export(project, locked / "voc", wrap=[str(locked), str(code)])
    assert done.returncode == 2, done.stdout + done.stderr
    assert needle in done.stderr and "nothing was written" in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "unexpected" not in done.stderr
    assert _snapshot(project) == before and not list(locked.iterdir())


def test_spaces_non_ascii_and_links_to_outside_folders_work(tmp_path: Path, project: Path) -> None:
    before = _snapshot(project)
    odd = tmp_path / "Ausgabe für Dr. Ünal" / "数据 set 1"
    done = _export(project, odd)
    assert done.returncode == 0, done.stderr
    assert "pseudonymised" in done.stdout and len(list((odd / "Annotations").iterdir())) == 3
    assert all(p.name.startswith("img-") for p in (odd / "Annotations").iterdir())
    # A link to an (empty) outside folder: the export lands in the folder it leads to.
    (tmp_path / "real").mkdir()
    done = _export(project, _link(tmp_path, tmp_path / "real", "to-real"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "real" / "Annotations").is_dir()
    after = _snapshot(project)
    # The only change: the id lists of the two pseudonymised exports, kept in the project.
    new = set(after["files"]) - set(before["files"])  # type: ignore[arg-type]
    assert len(new) == 2 and all(n.startswith(os.path.join("exports", "pseudonyms")) for n in new)
    assert after["counts"] == before["counts"] and after["integrity"] == "ok"


def test_a_new_folder_in_exports_works_and_keeps_the_names(tmp_path: Path, project: Path) -> None:
    out = project / "exports" / f"in-project-{tmp_path.name}"
    done = _export(project, out, "--no-images")
    assert done.returncode == 0, done.stderr
    assert "pseudonymised" not in done.stdout
    assert sorted(p.name for p in (out / "Annotations").iterdir()) == [
        "img00.xml", "img01.xml", "img02.xml",
    ]  # fmt: skip
    done = _export(project, tmp_path / "anon", "--no-images", "--no-pseudonymise")
    assert done.returncode == 0 and (tmp_path / "anon" / "Annotations" / "img00.xml").is_file()
