"""Where the app keeps its state. ``--data-dir DIR`` puts all of it under DIR."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "musicrec"


@dataclass(frozen=True)
class DataDirs:
    config: Path  # settings.toml
    cache: Path  # audio chunk cache (large)
    models: Path  # encoder and rating model checkpoints
    state: Path  # embeddings, similarity index, listening history
    logs: Path

    @classmethod
    def under(cls, root: Path) -> DataDirs:
        root = Path(root).expanduser().resolve()
        return cls(root / "config", root / "cache", root / "models", root / "state", root / "logs")

    @classmethod
    def default(cls) -> DataDirs:
        return cls(
            Path(platformdirs.user_config_dir(APP_NAME)),
            Path(platformdirs.user_cache_dir(APP_NAME)),
            Path(platformdirs.user_data_dir(APP_NAME)) / "models",
            Path(platformdirs.user_data_dir(APP_NAME)),
            Path(platformdirs.user_log_dir(APP_NAME)),
        )

    @classmethod
    def resolve(cls, data_dir: Path | str | None) -> DataDirs:
        return cls.under(Path(data_dir)) if data_dir else cls.default()

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.toml"

    @property
    def embeddings_db(self) -> Path:
        return self.state / "embeddings.sqlite"

    @property
    def history_db(self) -> Path:
        return self.state / "history.sqlite"

    @property
    def reports(self) -> Path:
        """Tables written for the person to read elsewhere (the study's CSV)."""
        return self.state / "reports"

    @property
    def demo(self) -> Path:
        """The demo library's folder (music files and its Strawberry database), when made."""
        return self.state / "demo"

    @property
    def demo_database(self) -> Path:
        """The demo library's Strawberry database: written last, so it is there once complete."""
        return self.demo / "strawberry.db"

    def create(self) -> DataDirs:
        for folder in (self.config, self.cache, self.models, self.state, self.logs):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def resources_dir() -> Path:
    """The app's bundled resources (icons, default genre mapping)."""
    return Path(__file__).resolve().parent / "resources"
