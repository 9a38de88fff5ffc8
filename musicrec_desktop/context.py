"""What every command and the tray start from: the data folders and the loaded settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


@dataclass
class AppContext:
    dirs: DataDirs
    settings: Settings

    @classmethod
    def open(cls, data_dir: Path | str | None = None) -> AppContext:
        dirs = DataDirs.resolve(data_dir)
        return cls(dirs, Settings.load(dirs.settings_file))

    def save_settings(self, settings: Settings) -> None:
        settings.save(self.dirs.settings_file)
        self.settings = settings
