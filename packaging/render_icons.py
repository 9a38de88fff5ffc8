"""Renders the PNG icons from the SVGs in resources/icons (run after changing an SVG).

    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/render_icons.py

Writes resources/icons/hicolor/<N>x<N>/apps/<name>.png for every size in SIZES, the layout of
the freedesktop icon theme (the SVGs themselves go to hicolor/scalable/apps when installed).
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
NAMES = ("musicrec", "musicrec-working", "musicrec-error")


def render(svg: Path, size: int, out: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"{out}: could not be written")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for name in NAMES:
        for size in SIZES:
            render(ICONS / f"{name}.svg", size, ICONS / "hicolor" / f"{size}x{size}" / "apps" / f"{name}.png")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
