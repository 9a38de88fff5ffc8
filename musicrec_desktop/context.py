"""What every command and the tray start from: the data folders and the loaded settings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from musicrec_desktop.library.players import PLAYERS
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


@dataclass
class AppContext:
    dirs: DataDirs
    settings: Settings  # what this run uses: the settings file plus the command line's --db/--player
    # What the settings file holds, where the command line changed it for this run only.
    stored: Settings | None = None
    # What was wrong in the settings file (each replaced by its default), for `config show`.
    problems: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, data_dir: Path | str | None = None, *, db: str | None = None,
             player: str | None = None) -> AppContext:
        """The context of one run; ``db`` and ``player`` choose the library for this run only."""
        dirs = DataDirs.resolve(data_dir)
        stored, problems = Settings.load_checked(dirs.settings_file)
        settings = stored.replace(**library_choice(stored, db, player))
        return cls(dirs, settings, stored if settings != stored else None, problems)

    def save_settings(self, settings: Settings) -> None:
        """Saves ``settings``; what the command line set for this run only is not saved with it."""
        if self.stored is None:
            self._save(settings, settings)
        else:
            self._save(self.stored.replace(**_changes(self.settings, settings)), settings)

    def set_from_text(self, key: str, text: str) -> None:
        """Sets ``key`` from what a person typed, in the file and for this run (``config set``)."""
        on_file = (self.stored or self.settings).with_text(key, text)
        self._save(on_file, self.settings.replace(**{key: getattr(on_file, key)}))

    def _save(self, on_file: Settings, settings: Settings) -> None:
        on_file.save(self.dirs.settings_file)
        self.settings, self.stored = settings, (on_file if on_file != settings else None)


def library_choice(settings: Settings, db: str | None, player: str | None) -> dict[str, Any]:
    """The settings that ``--db PATH`` and ``--player NAME`` change.

    A database given without a player is read as whatever player's schema it has, unless the
    settings already name Strawberry or Clementine.
    """
    player = player or settings.player
    if db:
        return {"player": player if player in PLAYERS else "auto", "database_path": db}
    return {"player": player}


def _changes(old: Settings, new: Settings) -> dict[str, Any]:
    return {f.name: getattr(new, f.name) for f in dataclasses.fields(Settings)
            if getattr(new, f.name) != getattr(old, f.name)}
