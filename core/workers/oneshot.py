"""Run one ClinLens command in a child process and read its ``--json`` answer.

For model work the window asks for once (``model evaluate``): torch loads in the child,
never in the window's process, and a cancel terminates the child, then kills it.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from core.errors import ClinLensError
from core.jobs import CancelToken, check_cancel
from core.workers.process import clinlens_argv

POLL_S = 0.1


def run_json_command(*args: str, cancel: CancelToken | None = None) -> dict[str, Any]:
    """``main.py ARGS`` (which must include ``--json``) in a child; its JSON document.

    Raises ClinLensError with the child's last stderr line when it fails, JobCancelled
    when ``cancel`` is set (the child is stopped first).
    """
    proc = subprocess.Popen(
        clinlens_argv(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=POLL_S)
                break
            except subprocess.TimeoutExpired:
                check_cancel(cancel)
    except BaseException:
        proc.terminate()
        try:
            proc.wait(timeout=3.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise
    if proc.returncode != 0:
        lines = [line for line in (err or "").splitlines() if line.strip()]
        raise ClinLensError(lines[-1] if lines else f"the command ended with {proc.returncode}")
    try:
        doc = json.loads(out)
    except json.JSONDecodeError as exc:
        raise ClinLensError(f"the command's answer is not JSON ({exc.msg})") from exc
    if not isinstance(doc, dict):
        raise ClinLensError("the command's answer is not a JSON object")
    return doc
