"""What the self-test's steps share: the scratch folder and what earlier steps made."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Context:
    work: Path  # scratch folder (its name has a space and non-ASCII letters)
    files: dict[str, Path] = field(default_factory=dict)  # sample files by kind
    device: str = ""  # the device a model step used, for the report

    def folder(self, name: str) -> Path:
        path = self.work / name
        path.mkdir(parents=True, exist_ok=True)
        return path
