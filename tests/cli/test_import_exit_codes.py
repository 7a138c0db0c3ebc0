"""``project import`` exit codes and counts that tell the truth.

0 only when everything found was imported (images already in the project count), 3 for a
partial import, 2 when nothing was imported; a partial or failed import prints one
summary line on stderr. Entries of a folder that cannot be followed (a link that loops,
a dangling link, a FIFO, an unreadable folder or file) are skipped with their reason and
never stop the rest; conflicting grade rows are reported; the pixel-limit message states
the limit that was applied; a refused VOC annotation says so; no output names a folder
the user did not type.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

import core.imaging.limits as limits
import core.imaging.sniff as sniff
from core.cli import main as cli
from core.formats.voc import VocObject, voc_xml
from core.store import DB_NAME, Project
from tests.core.conftest import new_project, write_rgb

ROOT = Path(__file__).resolve().parents[2]
needs_links = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    try:
        code = cli([str(a) for a in argv])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    new_project(tmp_path / "p").close()
    return tmp_path / "p"


def broken_png(path: Path) -> Path:
    data = write_rgb(path, seed=77).read_bytes()
    path.write_bytes(data[: len(data) // 2])  # header whole, pixels cut: an error row
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + chunk(b"IEND", b"")
    )  # fmt: skip
    return path


def integrity(project: Path) -> str:
    with sqlite3.connect(project / DB_NAME) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


# --- the three codes -----------------------------------------------------------------------
def test_everything_imported_exits_0_with_nothing_on_stderr(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(3):
        write_rgb(tmp_path / "imgs" / f"{i}.png", seed=i)
    code, out, err = run(capsys, "project", "import", proj, tmp_path / "imgs")
    assert (code, err) == (0, "") and out.startswith("imported 3 image(s)")


def test_importing_the_same_folder_again_is_complete(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "a.png")
    run(capsys, "project", "import", proj, tmp_path / "imgs")
    code, out, err = run(capsys, "project", "import", proj, tmp_path / "imgs", "--json")
    assert (code, err) == (0, "") and json.loads(out)["status"] == "complete"


def test_a_partial_import_exits_3_with_one_summary_line(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    broken_png(tmp_path / "imgs" / "cut.png")
    (tmp_path / "imgs" / "notes.png").write_bytes(b"not an image at all")
    code, out, err = run(capsys, "project", "import", proj, tmp_path / "imgs")
    assert code == 3
    (line,) = err.splitlines()
    assert line.startswith(
        "clinlens: partial import: imported 1 of 3 image(s); 1 marked as errors "
        f"(see `project stats`); 1 skipped: {tmp_path / 'imgs' / 'notes.png'}: 'notes.png' is "
        "damaged or not really a PNG file"
    )
    assert out.startswith("imported 1 image(s), 0 box(es), 0 grade(s); 1 more kept as errors")
    assert "1 image(s) marked as errors (in the project, with the reason):" in out


def test_nothing_imported_exits_2(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "a.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 20)
    code, _, err = run(capsys, "project", "import", proj, tmp_path / "imgs")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("clinlens: error: imported 0 of 1 image(s); 1 skipped:")


def test_a_folder_without_images_exits_2(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("hello")
    code, _, err = run(capsys, "project", "import", proj, tmp_path / "empty")
    assert code == 2
    assert err == "clinlens: error: no image files found (1 other file(s)); nothing was imported\n"


def test_the_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "project", "import", "--help")
    assert code == 0 and "exit status:" in out
    assert "3  partial import" in out and "2  nothing was imported" in out


def test_main_py_partial_import_prints_no_traceback(proj: Path, tmp_path: Path) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    broken_png(tmp_path / "imgs" / "cut.png")
    done = subprocess.run(
        [sys.executable, str(ROOT / "main.py"), "project", "import", str(proj), str(tmp_path / "imgs")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 1


# --- folder entries that cannot be followed -------------------------------------------------
@needs_links
def test_links_that_loop_or_dangle_are_skipped_and_the_rest_imported(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    imgs = tmp_path / "imgs"
    write_rgb(imgs / "good.png")
    write_rgb(imgs / "sub" / "deep.png", seed=2)
    os.symlink("b.png", imgs / "a.png")
    os.symlink("a.png", imgs / "b.png")
    os.symlink("gone.png", imgs / "dangling.png")
    os.symlink("..", imgs / "sub" / "up")  # a folder link back to its parent
    code, out, err = run(capsys, "project", "import", proj, imgs, "--json")
    assert code == 3, err
    report = json.loads(out)
    assert report["added"] == 2 and report["found"] == 5
    skipped = dict(line.split(": ", 1) for line in report["skipped"])
    assert "loops" in skipped[str(imgs / "a.png")] and "loops" in skipped[str(imgs / "b.png")]
    assert "does not exist" in skipped[str(imgs / "dangling.png")]
    assert "loops back to a folder above it" in skipped[str(imgs / "sub" / "up")]
    assert "imported 2 of 5 image(s); 4 skipped:" in err and err.count("\n") == 1
    assert integrity(proj) == "ok"


@needs_links
def test_a_link_to_another_folder_is_reported_not_followed(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    write_rgb(tmp_path / "elsewhere" / "other.png", seed=3)
    os.symlink(tmp_path / "elsewhere", tmp_path / "imgs" / "more")
    code, out, _ = run(capsys, "project", "import", proj, tmp_path / "imgs", "--json")
    assert code == 3
    (line,) = json.loads(out)["skipped"]
    assert line.startswith(str(tmp_path / "imgs" / "more")) and "not followed" in line


@needs_fifo
def test_a_fifo_named_like_an_image_is_skipped_without_blocking(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    os.mkfifo(tmp_path / "imgs" / "pipe.png")
    os.mkfifo(tmp_path / "imgs" / "IMG0001")  # no suffix: would be opened to look for DICM
    code, out, err = run(capsys, "project", "import", proj, tmp_path / "imgs", "--json")
    assert code == 3, err
    report = json.loads(out)
    assert report["added"] == 1 and report["other_files"] == 1
    assert report["skipped"] == [
        f"{tmp_path / 'imgs' / 'pipe.png'}: not a regular file (a pipe, socket or device)"
    ]


def test_an_unreadable_folder_is_skipped_with_its_reason(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    write_rgb(tmp_path / "imgs" / "locked" / "hidden.png", seed=4)
    locked = str(tmp_path / "imgs" / "locked")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:
        # chmod 000 does not stop root (the tests' user here): the OS's answer, simulated.
        if os.fspath(path) == locked:  # type: ignore[arg-type]
            raise PermissionError(13, "Permission denied", locked)
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = run(capsys, "project", "import", proj, tmp_path / "imgs", "--json")
    assert code == 3, err
    report = json.loads(out)
    assert report["added"] == 1
    assert report["skipped"] == [f"{locked}: a folder that cannot be read (Permission denied)"]


def test_an_unreadable_file_is_skipped_and_the_rest_imported(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    write_rgb(tmp_path / "imgs" / "secret.png", seed=5)
    real_open = open

    def sniffing_open(path: object, *args: object, **kwargs: object) -> object:
        if str(path).endswith("secret.png"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(sniff, "open", sniffing_open, raising=False)
    code, out, _ = run(capsys, "project", "import", proj, tmp_path / "imgs", "--json")
    assert code == 3
    (line,) = json.loads(out)["skipped"]
    assert "secret.png" in line and "Permission denied" in line


# --- grades, limits, VOC, paths ---------------------------------------------------------
def test_conflicting_grade_rows_are_reported_not_collapsed(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "a.png")
    write_rgb(tmp_path / "imgs" / "b.png", seed=1)
    grades = tmp_path / "g.csv"
    grades.write_text(
        "image,scale,value,author\n"
        "a.png,acne4,1,dr a\n"
        "b.png,acne4,2,dr a\n"
        "a.png,acne4,3,dr a\n"  # the same image, scale and author: which one is right?
        "b.png,acne4,2,dr a\n"  # an exact repeat: counted once, not a conflict
    )
    code, out, err = run(
        capsys, "project", "import", proj, tmp_path / "imgs", "--grades", grades, "--json"
    )
    assert code == 3
    report = json.loads(out)
    assert report["grades"] == 1
    (line,) = report["skipped_grades"]
    assert line.startswith(f"{grades}, lines 2, 4: conflicting human grades for 'a.png'")
    assert "dr a: 1; dr a: 3" in line and "none of them was imported" in line
    assert "1 grade row(s) not imported" in err
    with Project.open(proj, read_only=True) as project:
        grades_of = {Path(r.path).name: project.grades(r.id) for r in project.images()}
    assert grades_of["a.png"] == [] and [g.value for g in grades_of["b.png"]] == [2.0]


def test_two_readers_grading_one_image_load_as_two_readers(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The author column is the reader (several readers, issue #15): not a conflict.
    write_rgb(tmp_path / "imgs" / "a.png")
    grades = tmp_path / "g.csv"
    grades.write_text("image,scale,value,author\na.png,acne4,1,dr a\na.png,acne4,2,dr b\n")
    code, out, _ = run(
        capsys, "project", "import", proj, tmp_path / "imgs", "--grades", grades, "--json"
    )
    assert code == 0 and json.loads(out)["grades"] == 2
    with Project.open(proj, read_only=True) as project:
        (image_id,) = [r.id for r in project.images()]
        assert {(g.author, g.value) for g in project.grades(image_id)} == {
            ("dr a", 1.0),
            ("dr b", 2.0),
        }
        assert project.readers.final_grade(image_id, "acne4").basis == "disputed"


@pytest.mark.parametrize(
    ("size", "words"),
    [
        ((25_000, 20_000), "25,000 x 20,000 = 500,000,000 pixels, beyond the safe limit of "
                           "400,000,000 pixels (400 million)"),
        ((40_000, 100), "40,000 x 100 pixels, beyond the safe limit of 30,000 pixels a side"),
    ],
)  # fmt: skip
def test_the_pixel_limit_message_states_the_limit_that_was_applied(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], size: tuple[int, int],
    words: str,
) -> None:  # fmt: skip
    png_claiming(tmp_path / "imgs" / "huge.png", *size)
    code, _, err = run(capsys, "project", "import", proj, tmp_path / "imgs")
    assert code == 2 and words in err, err


def test_the_limit_message_follows_an_adjusted_limit(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_SIDE", 50)  # a site's own, lower limit
    write_rgb(tmp_path / "imgs" / "a.png", 64, 48)
    code, _, err = run(capsys, "project", "import", proj, tmp_path / "imgs")
    assert code == 2 and "beyond the safe limit of 50 pixels a side" in err


def test_a_voc_box_outside_the_image_says_it_was_refused(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "a.png", 64, 48)
    write_rgb(tmp_path / "imgs" / "b.png", 64, 48, seed=1)
    (tmp_path / "ann").mkdir()
    for name, box in (
        ("a", VocObject("zipper", 1, 1, 200, 40)),
        ("b", VocObject("watch", 1, 1, 9, 9)),
    ):
        (tmp_path / "ann" / f"{name}.xml").write_bytes(
            voc_xml(filename=f"{name}.png", width=64, height=48, depth=3, objects=[box])
        )
    code, out, err = run(
        capsys, "project", "import", proj, tmp_path / "imgs",
        "--annotations", tmp_path / "ann", "--format", "voc", "--json",
    )  # fmt: skip
    assert code == 3
    (line,) = json.loads(out)["skipped"]
    assert "lies outside the 64x48 image" in line
    assert "refused: neither the image nor its annotation was imported" in line
    assert "1 skipped:" in err


def test_output_names_files_only_as_typed_never_by_absolute_path(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "Doe_John" / "scan.png"  # a folder named after the patient
    write_rgb(elsewhere, seed=8)
    run(capsys, "project", "import", proj, elsewhere)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "copy.png").write_bytes(elsewhere.read_bytes())  # a duplicate
    broken_png(tmp_path / "imgs" / "cut.png")
    write_rgb(tmp_path / "imgs" / "new.png", seed=9)
    code, out, err = run(capsys, "project", "import", "p", "imgs")
    assert code == 3
    assert "imported 1 of 2 image(s); 1 already in the project; 1 marked as errors" in err
    assert str(tmp_path) not in out + err and "Doe_John" not in out + err
    assert "imgs/copy.png: already in the project (same content as 'scan.png', image #1)" in out
    code, out, _ = run(capsys, "project", "stats", "p", "--json")
    (error,) = json.loads(out)["error_images"]
    assert error["image"] == "cut.png" and str(tmp_path) not in out


def test_json_report_and_stats_agree_on_the_errors(
    proj: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_rgb(tmp_path / "imgs" / "good.png")
    broken_png(tmp_path / "imgs" / "c1.png")
    broken_png(tmp_path / "imgs" / "c2.png")
    write_rgb(tmp_path / "imgs" / "c2.png", seed=3)  # rewritten whole: only c1 stays broken
    code, out, _ = run(capsys, "project", "import", proj, tmp_path / "imgs", "--json")
    report = json.loads(out)
    assert code == 3 and report["added"] == 2 and len(report["errors"]) == 1
    code, out, _ = run(capsys, "project", "stats", proj, "--json")
    stats = json.loads(out)
    assert stats["errors"] == 1 and stats["error_images"][0]["image"].endswith("c1.png")
    assert "ends early" in stats["error_images"][0]["error"]


def test_an_overlong_labels_value_is_one_clear_line(tmp_path: Path) -> None:
    # Path.exists() raises on a name longer than the file system allows.
    result = subprocess.run(
        [
            sys.executable,
            "main.py",
            "project",
            "create",
            str(tmp_path / "p"),
            "--labels",
            "x" * 5000,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "unexpected" not in result.stderr and "not a built-in set" in result.stderr
