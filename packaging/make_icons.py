"""Draw ClinLens' application icon and write it in each platform's format.

``python packaging/make_icons.py [DIR]`` (default ``build/icons``) writes ``clinlens.png``
(256 px, Linux), ``clinlens.ico`` (Windows, 16-256 px) and ``clinlens.icns`` (macOS). Drawn
with Pillow so no binary icon lives in git and no SVG renderer is needed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]


def draw(size: int = 512) -> Image.Image:
    """A lens (ring and handle) over a stylised X-ray panel, in the app's teal."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    s = size / 16
    d.rounded_rectangle((s, s, size - s, size - s), radius=3 * s, fill=(18, 52, 64, 255))
    for i, shade in enumerate((70, 110, 150, 190)):
        y = 4 * s + i * 1.6 * s
        d.rounded_rectangle(
            (3 * s, y, 9 * s, y + 0.8 * s), radius=0.4 * s, fill=(shade,) * 3 + (255,)
        )
    d.ellipse((6 * s, 3.5 * s, 13 * s, 10.5 * s), outline=(64, 200, 190, 255), width=int(1.1 * s))
    d.line((11.6 * s, 9.6 * s, 14 * s, 12.4 * s), fill=(64, 200, 190, 255), width=int(1.4 * s))
    return img


def write_icons(out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    big = draw()
    paths = {
        "png": out / "clinlens.png",
        "ico": out / "clinlens.ico",
        "icns": out / "clinlens.icns",
    }
    big.resize((256, 256), Image.LANCZOS).save(paths["png"])
    big.save(paths["ico"], sizes=[(n, n) for n in (16, 24, 32, 48, 64, 128, 256)])
    big.save(paths["icns"])
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "icons"
    for kind, path in write_icons(target).items():
        print(f"icons: {kind} {path}")
