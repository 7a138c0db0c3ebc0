"""The one YAML loader ClinLens uses for files from outside: bounded before it parses.

``yaml.safe_load`` refuses Python objects but not parser bombs. A few hundred bytes of
nested aliases ("billion laughs") load into a graph that expands to gigabytes as soon as
anything walks or prints it; a 9-level alias chain in a ``data.yaml`` took 34 s and 2.8 GB
and wrote a 226 MB error line. Nothing ClinLens reads (label sets, grading scales, class
maps, YOLO ``data.yaml``) needs anchors or aliases, so this loader refuses them at the
first ``&`` or ``*`` event, before the node is built, with a FormatError naming the file
and line. It also caps the file size (checked before reading), the nesting depth (10,000
``[`` would otherwise exhaust the composer's recursion) and the number of nodes (so a
file under the size cap still loads in about a second).

With libyaml (the usual wheel) the events come from its C parser and only composing runs
in Python, where the checks live; without it the pure-Python ``SafeLoader`` does both.
Construction is PyYAML's ``SafeConstructor`` either way: plain data, no Python tags.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

from core.errors import FormatError
from core.text import shorten

# Module attributes so a site (or a test) can adjust them; far above any real file:
# the built-in label sets and scales are ~2 KB, a 1,000-class data.yaml ~30 KB.
MAX_YAML_BYTES = 1024 * 1024
MAX_DEPTH = 32  # a label set nests 3 deep
MAX_NODES = 20_000  # every scalar, list and mapping counts one (~0.5 s to compose)

_NO_ANCHORS = (
    "YAML anchors and aliases (&name, *name, '<<: *name') are not allowed in files ClinLens "
    "reads; write the values out in full"
)


class _BoundedComposer(Composer):
    """PyYAML's composer with the checks made before each node is composed."""

    def _init_bounds(self, source: str) -> None:
        self._bound_source = source
        self._bound_depth = 0
        self._bound_nodes = 0

    def _refuse(self, event: Any, what: str) -> FormatError:
        mark = getattr(event, "start_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        return FormatError(f"{self._bound_source}{where}: {what}")

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        # Refused at the event, before Composer looks the alias up: nothing is expanded.
        if isinstance(event, AliasEvent) or getattr(event, "anchor", None) is not None:
            raise self._refuse(event, _NO_ANCHORS)
        self._bound_nodes += 1
        if self._bound_nodes > MAX_NODES:
            raise self._refuse(event, f"more than {MAX_NODES:,} values; not a ClinLens file")
        self._bound_depth += 1
        if self._bound_depth > MAX_DEPTH:
            raise self._refuse(event, f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            self._bound_depth -= 1


class BoundedSafeLoader(_BoundedComposer, yaml.SafeLoader):
    """Pure-Python ``SafeLoader`` with the bounds (used where libyaml is missing)."""

    def __init__(self, stream: str, source: str = "YAML") -> None:
        yaml.SafeLoader.__init__(self, stream)
        self._init_bounds(source)


try:
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CParser = None

if _CParser is not None:

    class _BoundedCSafeLoader(_BoundedComposer, _CParser, SafeConstructor, Resolver):
        """libyaml's parser feeding the bounded Python composer. Composer precedes CParser
        in the MRO, so CParser's all-in-C ``get_single_node`` (no checks) is never used."""

        def __init__(self, stream: str, source: str = "YAML") -> None:
            _CParser.__init__(self, stream)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            self._init_bounds(source)

    _LOADER: type[Any] = _BoundedCSafeLoader
else:  # pragma: no cover
    _LOADER = BoundedSafeLoader


def _size(limit: int) -> str:
    mb = 1024 * 1024
    return f"{limit // mb} MB" if limit % mb == 0 else f"{limit // 1024} KB"


def load_yaml(text: str, source: str | os.PathLike[str], max_size: int | None = None) -> Any:
    """Parse ``text`` (from the file ``source``, named in errors) within the bounds;
    ``max_size`` (default MAX_YAML_BYTES) caps its length in characters.

    FormatError names the file and, where known, the line: anchors/aliases, too large,
    too deep, too many values, malformed YAML, or a value no type can hold.
    """
    name = str(source)
    limit = MAX_YAML_BYTES if max_size is None else max_size
    if len(text) > limit:  # characters: each is at least one byte of the file
        raise FormatError(f"{name}: file is larger than {_size(limit)}; not a ClinLens file")
    loader = None
    try:
        loader = _LOADER(text, name)  # the pure-Python reader checks characters here
        return loader.get_single_data()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(int(exc.position), 0)) + 1
        raise FormatError(
            f"{name}, line {line}: malformed YAML (character U+{exc.character:04X} is not "
            "allowed in YAML)"
            if isinstance(exc.character, int)
            else f"{name}, line {line}: malformed YAML ({shorten(exc.reason)})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        detail = f" ({shorten(problem)})" if problem else ""
        raise FormatError(f"{name}{where}: malformed YAML{detail}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # SafeConstructor's own failures: a 5,000-digit integer, the 30th of February...
        raise FormatError(f"{name}: a value cannot be read ({shorten(exc)})") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: str | os.PathLike[str], max_bytes: int | None = None) -> Any:
    """Read (UTF-8, BOM tolerated) and parse a YAML file; the size is checked first."""
    p = Path(path)
    limit = MAX_YAML_BYTES if max_bytes is None else max_bytes
    try:
        if p.stat().st_size > limit:
            raise FormatError(f"{p}: file is larger than {_size(limit)}; not a ClinLens file")
        with p.open("rb") as fh:
            data = fh.read(limit + 1)  # a device or a growing file can lie in stat()
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    if len(data) > limit:
        raise FormatError(f"{p}: file is larger than {_size(limit)}; not a ClinLens file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FormatError(f"{p}, line {line}: not UTF-8 text (save it as UTF-8)") from None
    return load_yaml(text, p, max_size=limit)
