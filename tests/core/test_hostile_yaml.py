"""Hostile YAML in every reader: refused quickly, with one short line naming the file.

The corpus is generated here (no checked-in files). Each case goes through a real reader
(label set, scale file, class map, YOLO data.yaml) and must raise a typed FormatError
whose message is one line of at most ~300 characters; the bombs must be refused at the
first anchor, before anything is built (checked by behaviour, not by the clock).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from PIL import Image

import core.safe_yaml as safe_yaml
from core.annotations import builtin_label_set
from core.annotations.labels import load_label_set_yaml
from core.annotations.scales import load_scale_file
from core.errors import FormatError
from core.formats.remap import make_remap
from core.formats.yolo import data_yaml_text, read_class_names
from core.safe_yaml import MAX_DEPTH, load_yaml, read_yaml_file

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "main.py").is_file())
MAX_MESSAGE = 300
ONE_MB = 1_000_000


# --- the corpus ---------------------------------------------------------------------------
def billion_laughs() -> str:
    """The classic: 9 levels of 9 aliases, ~400 bytes that expand to 10^9 strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{cur}: &{cur} [{','.join(['*' + prev] * 9)}]")
    return "\n".join(lines) + "\n"


def alias_chain() -> str:
    """A data.yaml whose names are a 9-level doubling alias chain (the issue's 34 s file)."""
    lines = ["path: .", "names:", "  - &n0 [cat, dog]"]
    lines += [f"  - &n{i} [*n{i - 1}, *n{i - 1}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def anchor_and_merge() -> str:
    return "base: &base {color: '#ff0000'}\nlabels:\n  - <<: *base\n    name: cat\n"


def deep_flow() -> str:
    return "[" * 10_000


def deep_block() -> str:
    return "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "x\n"


def oversized() -> str:
    return "# padding\n" * 120_000 + "labels: [cat]\n"  # 1.2 MB


def undefined_alias() -> str:
    return "labels: [*nowhere]\n"


def python_tag() -> str:
    return "labels: !!python/object/apply:os.system ['echo owned']\n"


BOMBS: dict[str, Callable[[], str]] = {
    "billion-laughs": billion_laughs,
    "9-level-alias-chain": alias_chain,
    "anchor-and-merge-key": anchor_and_merge,
    "10000-open-brackets": deep_flow,
    "200-levels-of-block-mapping": deep_block,
    "oversized-file": oversized,
    "undefined-alias": undefined_alias,
    "python-tag": python_tag,
}


def long_value_text(reader: str) -> str:
    """A file whose one line holds a 1 MB value, shaped so each reader gets to echo it."""
    big = "x" * ONE_MB
    if reader == "labels":
        return f"name: derm\nlabels: [{big}]\n"
    if reader == "scales":  # the scale's name (an explicit key: YAML caps implicit ones)
        return f"? {big}\n: {{values: [{{value: 0}}, {{value: 1}}]}}\n"
    if reader == "remap":
        return f"zipper: {big}\n"
    return f"names: [{big}]\n"  # yolo


# --- the readers --------------------------------------------------------------------------
def read_labels(path: Path) -> Any:
    return load_label_set_yaml(path)


def read_scales(path: Path) -> Any:
    return load_scale_file(path)


XRAY = builtin_label_set("xray")  # loaded (and built) before any test counts constructions


def read_remap(path: Path) -> Any:
    return make_remap(path, XRAY)


def read_yolo(path: Path) -> Any:
    return read_class_names(path)


READERS: dict[str, tuple[str, Callable[[Path], Any]]] = {
    "labels": ("labels.yaml", read_labels),
    "scales": ("scales.yaml", read_scales),
    "remap": ("map.yaml", read_remap),
    "yolo": ("data.yaml", read_yolo),
}


def refused(tmp_path: Path, reader: str, text: str) -> str:
    name, func = READERS[reader]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError) as err:
        func(path)
    message = str(err.value)
    assert "\n" not in message and "\r" not in message, "one line"
    assert len(message) <= MAX_MESSAGE, f"{len(message)} characters: {message[:200]}..."
    assert name in message, "the message names the file"
    return message


@pytest.fixture
def constructor_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts objects built from YAML nodes: a bomb must be refused before the first."""
    calls: list[int] = []
    original = yaml.constructor.BaseConstructor.construct_object

    def counting(self: Any, node: Any, deep: bool = False) -> Any:
        calls.append(1)
        return original(self, node, deep)

    monkeypatch.setattr(yaml.constructor.BaseConstructor, "construct_object", counting)
    return calls


# --- every bomb in every reader -------------------------------------------------------------
@pytest.mark.parametrize("bomb", list(BOMBS))
@pytest.mark.parametrize("reader", list(READERS))
def test_hostile_yaml_is_refused_by_every_reader_in_one_short_line(
    tmp_path: Path, reader: str, bomb: str, constructor_calls: list[int]
) -> None:
    message = refused(tmp_path, reader, BOMBS[bomb]())
    if bomb in ("billion-laughs", "9-level-alias-chain", "anchor-and-merge-key"):
        assert "anchors and aliases" in message
        # Stopped at the first anchor, on its line, before anything was constructed: the
        # expansion never started (no wall clock needed to know it was quick).
        first = next(i for i, ln in enumerate(BOMBS[bomb]().splitlines(), 1) if "&" in ln)
        assert f"line {first}:" in message
        assert constructor_calls == []
    elif bomb == "undefined-alias":
        assert "anchors and aliases" in message and constructor_calls == []
    elif bomb in ("10000-open-brackets", "200-levels-of-block-mapping"):
        assert "nested" in message or "nesting" in message
        assert constructor_calls == []
    elif bomb == "oversized-file":
        assert "larger than" in message and constructor_calls == []
    else:
        assert "malformed YAML" in message and "constructor" in message


@pytest.mark.parametrize("reader", list(READERS))
def test_a_one_megabyte_value_is_echoed_shortened(tmp_path: Path, reader: str) -> None:
    message = refused(tmp_path, reader, long_value_text(reader))
    assert "xxxx" in message and "…" in message  # shown, but cut
    assert "1,000,000 characters" in message


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[" * 100_000, "nested too deeply"),
        ('{"zipper": ' + "9" * 5000 + "}", "malformed JSON (Exceeds the limit"),
        ('{"zipper": "' + "=x" * 500_000 + '"}', "1,000,000 characters"),
    ],
)
def test_a_hostile_json_class_map_is_refused_in_one_short_line(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "map.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(FormatError) as err:
        make_remap(path, XRAY)
    assert needle in str(err.value) and len(str(err.value)) <= MAX_MESSAGE


# --- the loader itself, both implementations ----------------------------------------------
@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run with libyaml's parser (the wheels) and with the pure-Python fallback."""
    if request.param == "pure-python":
        monkeypatch.setattr(safe_yaml, "_LOADER", safe_yaml.BoundedSafeLoader)
    elif safe_yaml._LOADER is safe_yaml.BoundedSafeLoader:
        pytest.skip("PyYAML built without libyaml")
    return str(request.param)


@pytest.mark.parametrize("bomb", ["billion-laughs", "9-level-alias-chain", "anchor-and-merge-key"])
def test_both_loaders_refuse_at_the_first_anchor(
    loader: str, bomb: str, constructor_calls: list[int]
) -> None:
    with pytest.raises(FormatError, match=r"^bomb\.yaml, line \d+: YAML anchors"):
        load_yaml(BOMBS[bomb](), "bomb.yaml")
    assert constructor_calls == []


def test_both_loaders_cap_nesting_and_node_count(loader: str) -> None:
    with pytest.raises(FormatError, match=f"nested more than {MAX_DEPTH} levels"):
        load_yaml("- " * (MAX_DEPTH + 1) + "x\n", "deep.yaml")
    load_yaml("- " * (MAX_DEPTH - 1) + "x\n", "ok.yaml")  # the cap, not a lower one
    many = "names: [" + ",".join("c" for _ in range(safe_yaml.MAX_NODES)) + "]\n"
    with pytest.raises(FormatError, match="more than 20,000 values"):
        load_yaml(many, "many.yaml")


def test_both_loaders_read_ordinary_files_as_safe_load_does(loader: str) -> None:
    text = (ROOT / "resources" / "label_sets.yaml").read_text(encoding="utf-8")
    assert load_yaml(text, "label_sets.yaml") == yaml.safe_load(text)
    text = (ROOT / "resources" / "grading_scales.yaml").read_text(encoding="utf-8")
    assert load_yaml(text, "grading_scales.yaml") == yaml.safe_load(text)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("a: 1\nb: \x00\n", "line 2: malformed YAML (character U+0000"),
        ("n: " + "7" * 5000 + "\n", "a value cannot be read"),  # beyond int's digit limit
        ("d: 2001-02-30\n", "a value cannot be read (day is out of range"),
        ("a: [1, 2\n", "malformed YAML"),
        ("--- 1\n--- 2\n", "malformed YAML (but found another document"),
    ],
)
def test_odd_values_are_format_errors_not_tracebacks(text: str, needle: str) -> None:
    with pytest.raises(FormatError) as err:
        load_yaml(text, "odd.yaml")
    assert needle in str(err.value) and len(str(err.value)) <= MAX_MESSAGE


def test_a_device_that_claims_size_zero_is_read_only_up_to_the_cap(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    with pytest.raises(FormatError, match="larger than"):
        read_yaml_file("/dev/zero")


def test_clinlens_own_data_yaml_never_holds_aliases_so_it_reads_back(tmp_path: Path) -> None:
    text = data_yaml_text(tmp_path, ["train", "val"], {0: "cat", 1: "dog"})
    assert "&" not in text and "*" not in text
    (tmp_path / "data.yaml").write_text(text, encoding="utf-8")
    assert read_class_names(tmp_path / "data.yaml") == {0: "cat", 1: "dog"}


# --- through the CLI: exit code 2 and one line ---------------------------------------------
def run_main(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def assert_one_line_refusal(result: subprocess.CompletedProcess[str], *words: str) -> None:
    assert result.returncode == 2, result.stderr[-2000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("clinlens: error: ") and len(lines[0]) <= MAX_MESSAGE + 20
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("bomb", ["billion-laughs", "10000-open-brackets"])
def test_cli_project_create_refuses_a_bomb_label_set(tmp_path: Path, bomb: str) -> None:
    (tmp_path / "bomb.yaml").write_text(BOMBS[bomb](), encoding="utf-8")
    result = run_main(
        "project", "create", str(tmp_path / "p"), "--labels", str(tmp_path / "bomb.yaml")
    )
    assert_one_line_refusal(result, "bomb.yaml")
    assert not (tmp_path / "p").exists(), "nothing created"


def test_cli_project_create_refuses_a_bomb_scale_file(tmp_path: Path) -> None:
    (tmp_path / "scales.yaml").write_text(alias_chain(), encoding="utf-8")
    result = run_main(
        "project",
        "create",
        str(tmp_path / "p"),
        "--labels",
        "xray",
        "--scales",
        str(tmp_path / "scales.yaml"),
    )
    assert_one_line_refusal(result, "scales.yaml, line 3", "anchors and aliases")


def test_cli_export_refuses_a_bomb_class_map(tmp_path: Path) -> None:
    from core.store import Project

    with Project.create(tmp_path / "p", label_set=builtin_label_set("xray"), scales=[]):
        pass
    (tmp_path / "map.yaml").write_text(billion_laughs(), encoding="utf-8")
    result = run_main(
        "project",
        "export",
        str(tmp_path / "p"),
        "--format",
        "yolo",
        "--out",
        str(tmp_path / "out"),
        "--remap",
        str(tmp_path / "map.yaml"),
    )
    assert_one_line_refusal(result, "map.yaml, line 1", "anchors and aliases")


def test_cli_yolo_import_refuses_a_bomb_data_yaml(tmp_path: Path) -> None:
    from core.store import Project

    with Project.create(tmp_path / "p", label_set=builtin_label_set("xray"), scales=[]):
        pass
    ds = tmp_path / "ds"
    ds.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(ds / "a.png")
    (ds / "a.txt").write_text("0 0.5 0.5 0.5 0.5\n", encoding="utf-8")
    (ds / "data.yaml").write_text(alias_chain(), encoding="utf-8")
    result = run_main(
        "project",
        "import",
        str(tmp_path / "p"),
        str(ds / "a.png"),
        "--annotations",
        str(ds),
        "--format",
        "yolo",
    )
    assert_one_line_refusal(result, "data.yaml, line 3", "anchors and aliases")
