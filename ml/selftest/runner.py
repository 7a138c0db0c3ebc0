"""Run the self-test's steps: each timed, each caught, one line of reason each."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ml.selftest.context import Context

StepFn = Callable[[Context], str]
ProgressFn = Callable[[str], None]


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    seconds: float
    message: str


@dataclass
class Report:
    device: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "device": self.device,
            "steps": [asdict(s) for s in self.steps],
        }


def one_line(exc: BaseException) -> str:
    """The exception as one readable line, naming its type when the text alone is vague."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"{type(exc).__name__}: {text}"[:500]


def run_step(name: str, fn: StepFn, ctx: Context) -> StepResult:
    start = time.perf_counter()
    try:
        message = fn(ctx)
        ok = True
    except Exception as exc:  # a step's failure is the report's content, never a crash
        message, ok = one_line(exc), False
    return StepResult(name, ok, round(time.perf_counter() - start, 3), message)


def default_steps() -> list[tuple[str, StepFn]]:
    from ml.selftest import steps_core, steps_ml

    return [*steps_core.STEPS, *steps_ml.STEPS]


def run_selftest(
    *,
    only: Sequence[str] | None = None,
    keep: Path | None = None,
    progress: ProgressFn | None = None,
    steps: Sequence[tuple[str, StepFn]] | None = None,
) -> Report:
    """Run the steps (``only``: these names) in a scratch folder; returns the report.

    The scratch folder's name has a space and non-ASCII letters, as a clinic's paths do.
    ``keep``: make it there and leave it (to look at what was made).
    """
    chosen = list(steps if steps is not None else default_steps())
    if only:
        unknown = sorted(set(only) - {n for n, _ in chosen})
        if unknown:
            names = ", ".join(n for n, _ in chosen)
            raise ValueError(f"no self-test step {', '.join(unknown)} (steps: {names})")
        chosen = [(n, f) for n, f in chosen if n in only]
    root = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="clinlens-selftest-"))
    work = root / "Selbsttest Müller ü"
    work.mkdir(parents=True, exist_ok=True)
    # Worker children and ultralytics write their settings into the data folder: a scratch
    # one unless the caller chose one, so a self-test leaves the user's folder as it was.
    previous = os.environ.get("CLINLENS_DATA_DIR")
    if previous is None:
        os.environ["CLINLENS_DATA_DIR"] = str(root / "data")
    ctx = Context(work)
    report = Report(device="")
    try:
        for name, fn in chosen:
            if progress:
                progress(name)
            result = run_step(name, fn, ctx)
            report.steps.append(result)
            if progress:
                progress(f"{name}: {'ok' if result.ok else 'FAILED'} ({result.seconds:.1f} s)")
        report.device = ctx.device or device_label()
    finally:
        if previous is None:
            os.environ.pop("CLINLENS_DATA_DIR", None)
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)
    return report


def device_label() -> str:
    """The device ML work would use here ("CUDA: ..." or "CPU (...)"), or why none."""
    try:
        from ml.device import select_device

        return select_device("auto").label
    except Exception as exc:
        return f"unknown ({one_line(exc)})"
