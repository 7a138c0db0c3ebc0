"""When the active-learning loop retrains: after ``every`` newly reviewed images.

A per-project setting (``project.scores.loop_settings()``: off by default, K = 20 for the
detector, 20 new human grades for each severity scale). The count starts from the number
reviewed when the loop was switched on or last started a training, so switching it on
never fires at once. A failed retraining pauses the loop with its reason until the user
resumes it; the active model is untouched (a failed training registers nothing).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

DEFAULT_EVERY = 20


@dataclass
class LoopSettings:
    enabled: bool = False
    every: int = DEFAULT_EVERY  # newly reviewed images per detector retraining
    severity_every: int = DEFAULT_EVERY  # new human grades per severity retraining
    baseline: int | None = None  # reviewed images when last armed (switched on / trained)
    severity_baseline: dict[str, int] = field(default_factory=dict)  # scale -> graded
    paused: str | None = None  # why the loop stopped (a failed retraining)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LoopSettings:
        out = cls()
        try:
            out.enabled = bool(data.get("enabled", False))
            out.every = max(1, int(data.get("every", DEFAULT_EVERY)))
            out.severity_every = max(1, int(data.get("severity_every", DEFAULT_EVERY)))
            b = data.get("baseline")
            out.baseline = None if b is None else int(b)
            out.severity_baseline = {
                str(k): int(v) for k, v in dict(data.get("severity_baseline") or {}).items()
            }
            p = data.get("paused")
            out.paused = None if p is None else str(p)
        except (TypeError, ValueError):
            return cls()
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def new_since(count: int, baseline: int | None) -> int:
    return count - (count if baseline is None else baseline)


def due(count: int, baseline: int | None, every: int) -> bool:
    """True once ``every`` images were reviewed since ``baseline`` (None: not armed)."""
    return baseline is not None and count - baseline >= max(1, every)


def load(project: Any) -> LoopSettings:
    return LoopSettings.from_dict(project.scores.loop_settings())


def save(project: Any, settings: LoopSettings) -> None:
    project.scores.set_loop_settings(settings.to_dict())
