"""The tray's icons: idle, working, error. SVGs from resources/icons, else Qt's standard icons."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle

from musicrec_desktop.paths import resources_dir

FILES = {"idle": "musicrec.svg", "working": "musicrec-working.svg", "error": "musicrec-error.svg"}
FALLBACK = {"idle": QStyle.StandardPixmap.SP_MediaPlay,
            "working": QStyle.StandardPixmap.SP_BrowserReload,
            "error": QStyle.StandardPixmap.SP_MessageBoxCritical}


def icon_folders() -> list[Path]:
    """Installed package resources first, then the source tree's top-level resources folder."""
    return [resources_dir() / "icons", resources_dir().parent.parent / "resources" / "icons"]


def state_icon(state: str) -> QIcon:
    for folder in icon_folders():
        path = folder / FILES[state]
        if path.is_file():
            icon = QIcon(str(path))
            if not icon.isNull():
                return icon
    return QApplication.style().standardIcon(FALLBACK[state])
