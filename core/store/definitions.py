"""What a project annotates with: the label registry (append-only, stable ids) and the
grading scales. ``DefinitionsRepository``, reached as ``project.definitions``."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

from core.annotations import GradingScale, Label, LabelSet
from core.annotations.labels import validate_label_name
from core.annotations.scales import scale_from_mapping
from core.errors import ProjectError, UnknownLabelError
from core.store.database import Database
from core.store.records import now_iso
from core.text import shorten

_PALETTE = (
    "#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0",
    "#f032e6", "#bcf60c", "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8",
)  # fmt: skip
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
PHOTO_VIEWS = ("full_face", "one_side")  # ml.severity.lesion_count FULL_FACE / ONE_SIDE


def scale_to_dict(scale: GradingScale) -> dict[str, Any]:
    """The JSON kept in ``scales.definition``; ``scale_from_mapping`` reads it back."""
    return {
        "title": scale.title,
        "values": [{"value": v.value, "label": v.label} for v in scale.values],
        "groups": [{"label": g.label, "low": g.low, "high": g.high} for g in scale.groups],
        "required": scale.required,
        "applies_to": list(scale.applies_to),
    }


def insert_labels(conn: sqlite3.Connection, labels: Iterable[Label]) -> None:
    stamp = now_iso()
    for lab in labels:
        conn.execute(
            "INSERT INTO labels (id, name, color, hotkey, created_at) VALUES (?, ?, ?, ?, ?)",
            (int(lab.id), lab.name, lab.color, lab.hotkey, stamp),
        )


def insert_scale(conn: sqlite3.Connection, scale: GradingScale) -> None:
    position = conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM scales").fetchone()[0]
    conn.execute(
        "INSERT INTO scales (name, position, definition, required) VALUES (?, ?, ?, ?)",
        (scale.name, position, json.dumps(scale_to_dict(scale)), int(scale.required)),
    )


def label_id_of(conn: sqlite3.Connection, name: str) -> int:
    """The id of label ``name`` (UnknownLabelError listing the project's labels)."""
    row = conn.execute("SELECT id FROM labels WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT name FROM labels ORDER BY id")]
        raise UnknownLabelError(
            f"label '{name}' is not in this project's labels ({', '.join(known)}); "
            "add it to the project first",
            [name],
        )
    return int(row[0])


def get_scale(conn: sqlite3.Connection, name: str) -> GradingScale:
    """The scale ``name`` (ProjectError listing the project's scales)."""
    row = conn.execute("SELECT definition FROM scales WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = [r[0] for r in conn.execute("SELECT name FROM scales ORDER BY position")]
        raise ProjectError(
            f"grading scale '{name}' is not used in this project "
            f"(scales: {', '.join(known) or 'none'})"
        )
    return scale_from_mapping(name, json.loads(row[0]), "project")


class DefinitionsRepository:
    """The label registry and the grading scales of one project."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- labels ----------------------------------------------------------------------
    def label_set(self) -> LabelSet:
        """The label registry: ids fixed at creation, only appended to."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT id, name, color, hotkey FROM labels ORDER BY id").fetchall()
            name = Database.meta(conn, "label_set") or ""
            title = Database.meta(conn, "label_set_title") or name
        labels = tuple(Label(id=r[0], name=r[1], color=r[2], hotkey=r[3]) for r in rows)
        return LabelSet(name=name, labels=labels, title=title)

    def add_label(self, name: str, color: str | None = None, hotkey: str | None = None) -> Label:
        """Append a label with the next id. ProjectError if the name is taken; LabelNameError
        (one line) if it is empty, too long, holds control characters or starts like a
        spreadsheet formula - labels end up in exported CSV and file names."""
        name = validate_label_name(str(name))
        if color is not None and not _COLOUR.match(color):
            raise ProjectError(f"label colour '{color}' is not of the form #rrggbb")
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM labels WHERE name = ?", (name,)).fetchone():
                raise ProjectError(f"the project already has a label '{shorten(name, 40)}'")
            new_id = int(conn.execute("SELECT COALESCE(MAX(id) + 1, 0) FROM labels").fetchone()[0])
            if hotkey is None and new_id < 9:
                taken = {r[0] for r in conn.execute("SELECT hotkey FROM labels")}
                hotkey = str(new_id + 1) if str(new_id + 1) not in taken else None
            label = Label(
                id=new_id,
                name=name,
                color=color or _PALETTE[new_id % len(_PALETTE)],
                hotkey=hotkey,
            )
            insert_labels(conn, [label])
            self._db.audit(
                conn,
                "add_label",
                "label",
                entity_id=new_id,
                after={"id": new_id, "name": name, "color": label.color, "hotkey": hotkey},
            )
        return label

    # --- how the photos are taken -------------------------------------------------------
    def photo_view(self) -> str:
        """What the project's face photos show: "full_face" (default) or "one_side" (a
        profile or three-quarter photo, as in ACNE04): the Hayashi count of a one-side
        photo is its whole count, not the larger half of a midline split."""
        with self._db.read() as conn:
            return Database.meta(conn, "photo_view") or PHOTO_VIEWS[0]

    def set_photo_view(self, view: str) -> None:
        if view not in PHOTO_VIEWS:
            raise ProjectError(f"photo view must be one of {', '.join(PHOTO_VIEWS)} (got {view!r})")
        with self._db.write() as conn:
            before = Database.meta(conn, "photo_view") or PHOTO_VIEWS[0]
            if before == view:
                return
            Database.set_meta(conn, "photo_view", view)
            self._db.audit(
                conn, "set_photo_view", "project", before={"view": before}, after={"view": view}
            )

    # --- scales ----------------------------------------------------------------------
    def scales(self) -> list[GradingScale]:
        """The project's grading scales, in the order they were added."""
        with self._db.read() as conn:
            rows = conn.execute("SELECT name, definition FROM scales ORDER BY position").fetchall()
        return [scale_from_mapping(r[0], json.loads(r[1]), "project") for r in rows]

    def add_scale(self, scale: GradingScale) -> None:
        """Add a grading scale. ProjectError if one with that name exists.

        Images already marked done stay done even if the new scale is required.
        """
        with self._db.write() as conn:
            if conn.execute("SELECT 1 FROM scales WHERE name = ?", (scale.name,)).fetchone():
                raise ProjectError(f"the project already has a grading scale '{scale.name}'")
            insert_scale(conn, scale)
            self._db.audit(
                conn,
                "add_scale",
                "scale",
                after={"name": scale.name, **scale_to_dict(scale)},
            )
