"""Grades by reader, one column per reader: ``grades_by_reader.csv`` beside ``grades.csv``.

``image,scale,<reader 1>,<reader 2>,...,adjudicated,final,basis`` -- one row per exported
image and scale with at least one human grade. A reader's cell is empty where they did not
grade; ``adjudicated`` is the adjudicator's grade (empty if none); ``final`` is "the" human
grade (``core.store.readers``: adjudicated, else the readers' one value; empty when the
readers disagree) and ``basis`` says which (adjudicated | single | agreed | disputed).
Reader columns are headed ``reader:<name>`` so that no reader name can clash with the
fixed columns. Text cells are escaped against formula injection as in ``grades_csv``.

``grades.csv`` itself is unchanged: one row per reader's grade (the ``author`` column is
the reader), so it still imports back as several readers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from core.annotations import Grade
from core.formats.grades_csv import _csv_row, escape_cell
from core.store.readers import ADJUDICATED, FinalGrade

READERS_FILE = "grades_by_reader.csv"
READER_PREFIX = "reader:"


def readers_csv_text(
    items: Sequence[tuple[str, Sequence[Grade], Mapping[str, FinalGrade]]],
) -> str | None:
    """``items``: (exported image name, its grades, scale -> FinalGrade). None when no
    image has a human grade (no file is written)."""
    readers = sorted(
        {g.author or "" for _, grades, _ in items for g in grades if g.source == "human"}
    )
    if not readers and not any(finals for _, _, finals in items):
        return None
    header = ["image", "scale", *(escape_cell(READER_PREFIX + r) for r in readers)]
    out = [_csv_row([*header, "adjudicated", "final", "basis"])]
    rows = []
    for name, grades, finals in items:
        scales = sorted({g.scale for g in grades if g.source == "human"} | set(finals))
        for scale in scales:
            mine = {
                g.author or "": g.value for g in grades if g.source == "human" and g.scale == scale
            }
            final = finals.get(scale)
            adjudicated = final.value if final is not None and final.basis == ADJUDICATED else None
            rows.append(
                [
                    escape_cell(name),
                    escape_cell(scale),
                    *(_num(mine.get(r)) for r in readers),
                    _num(adjudicated),
                    _num(None if final is None else final.value),
                    "" if final is None else final.basis,
                ]
            )
    out.extend(_csv_row(r) for r in sorted(rows, key=lambda r: (r[0], r[1])))
    return "".join(out)


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
