"""Plain-text list format of keras-yolo3 and Roboflow ("Keras TXT"):

    path/to/image.jpg x1,y1,x2,y2,c x1,y1,x2,y2,c ...

one image per line, corners in pixels, ``c`` an index into a class list
(``_classes.txt`` / ``classes.txt``). Corners are read as continuous coordinates.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from core.errors import FormatError
from core.formats.common import ParsedAnnotation, ParsedBox, read_text_lines

LIST_FILE_NAMES = ("_annotations.txt", "annotations.txt", "train.txt")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BOX = re.compile(rf"^{_NUM}(?:,{_NUM}){{4}}$")
_BOXISH = re.compile(r"^[-+0-9.eE]+(?:,[-+0-9.eE]*)+$")  # looks like a box, maybe broken


def parse_list_text(
    lines: Sequence[str], source: str, names: Mapping[int, str]
) -> list[ParsedAnnotation]:
    """One ParsedAnnotation per non-empty line; ``image_name`` is the path as written."""
    out: list[ParsedAnnotation] = []
    for i, raw in enumerate(lines, start=1):
        tokens = raw.split()
        if not tokens:
            continue
        # The path may itself contain spaces: it runs up to the first box-like token.
        first_box = next(
            (k for k in range(1, len(tokens)) if _BOXISH.match(tokens[k])), len(tokens)
        )
        image = " ".join(tokens[:first_box])
        ann = ParsedAnnotation(source=source, image_name=image, line=i)
        for tok in tokens[first_box:]:
            if not _BOX.match(tok):
                raise FormatError(
                    f"{source}, line {i}: '{tok}' is not a box 'x1,y1,x2,y2,class' "
                    "(five comma-separated numbers)"
                )
            x1, y1, x2, y2, c = (float(v) for v in tok.split(","))
            if not all(math.isfinite(v) for v in (x1, y1, x2, y2, c)):
                raise FormatError(f"{source}, line {i}: '{tok}' has a value that is not a number")
            if not c.is_integer() or int(c) not in names:
                raise FormatError(
                    f"{source}, line {i}: class {c:g} in '{tok}' is not in the class list"
                    + (f" (0-{max(names)})" if names else " (no class list found)")
                )
            if x2 < x1 or y2 < y1:
                raise FormatError(f"{source}, line {i}: box '{tok}' has x2 < x1 or y2 < y1")
            ann.boxes.append(ParsedBox(label=names[int(c)], x1=x1, y1=y1, x2=x2, y2=y2, line=i))
        out.append(ann)
    return out


def read_list_file(path: Path, names: Mapping[int, str]) -> list[ParsedAnnotation]:
    return parse_list_text(read_text_lines(path), str(path), names)
