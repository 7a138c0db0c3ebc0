"""The window on a small screen: ``12_small_screen_1280x800.png`` and ``09_high_dpi_200pct.png``.

The window opens as on a first start (the demo project), fitted to the screen it opens on
(``app.window_fit``): at 1280 x 800 the right-hand docks are two tab stacks with whole
titles; at 200 % on 1600 x 1000 (800 x 500 logical) they share one stack. Run each under
its own X server (a window manager makes the window take its fitted place)::

    Xvfb :78 -screen 0 1280x800x24 & DISPLAY=:78 openbox &
    DISPLAY=:78 QT_QPA_PLATFORM=xcb CLINLENS_DATA_DIR=/tmp/shots-a \\
        .venv/bin/python docs/screenshots/capture_small_screens.py 12_small_screen_1280x800.png
    Xvfb :77 -screen 0 1600x1000x24 & DISPLAY=:77 openbox &
    DISPLAY=:77 QT_QPA_PLATFORM=xcb QT_SCALE_FACTOR=2 CLINLENS_DATA_DIR=/tmp/shots-b \\
        .venv/bin/python docs/screenshots/capture_small_screens.py 09_high_dpi_200pct.png
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent


def main(name: str) -> int:
    from PySide6.QtTest import QTest

    from app.docks.image_list_model import ThumbnailRole
    from app.launch import start_gui

    app, window = start_gui([])  # as `python main.py` on a first start: the demo

    def wait(cond, timeout: float = 120.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                raise TimeoutError(str(cond))
            QTest.qWait(50)

    wait(lambda: window.project is not None and window.display.raw is not None)
    rows = window.images.model
    shown = window.images.visible_image_ids()
    wait(
        lambda: all(
            rows.index(r).data(ThumbnailRole) is not None
            for r in range(rows.rowCount())
            if rows.record(r) is not None and rows.record(r).id in shown
        ),
        60,
    )
    QTest.qWait(500)
    window.grab().save(str(OUT / name))
    print("wrote", OUT / name, window.size().toTuple(), "logical")
    window.close()
    app.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
