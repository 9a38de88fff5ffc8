"""Typed settings: each declared once with its default, its title in the dialog and its rules.

Stored as TOML (``settings.toml`` in the config folder). A bad value is refused with a message that
names the key, the value and what is allowed. In the file, a bad value is reported and its default
used instead, and an unknown key is reported and ignored, so that one hand-edit gone wrong does not
stop every command (``musicrec config set`` included) from starting.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import logging
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from musicrec_desktop.errors import MusicrecError, SettingsError, StorageError
from musicrec_desktop.files import write_text_atomic
from musicrec_desktop.plugpoints import encoder_choices, recommender_choices

log = logging.getLogger(__name__)

GENRE_CATEGORIES = (
    "rock",
    "pop",
    "electronic",
    "hiphop",
    "jazz_classical",
    "country",
    "latin_world",
)

# What the person reads for each category (menus, playlist names, the map's legend): the ids
# above are what the settings file and the encoder's genre head store. "and", not "&": Clementine
# 1.4 shows a playlist named "Jazz & classical" as "Jazz _classical" (a shortcut mark).
GENRE_CATEGORY_TITLES = {
    "rock": "Rock",
    "pop": "Pop",
    "electronic": "Electronic",
    "hiphop": "Hip-hop and RnB",
    "jazz_classical": "Jazz and classical",
    "country": "Country and folk",
    "latin_world": "Latin and world",
}


def genre_title(category: str) -> str:
    """The person's words for a genre category; one of their own reads as they wrote it, with
    spaces for underscores ("dream_pop" -> "Dream pop")."""
    title = GENRE_CATEGORY_TITLES.get(category)
    if title is None:
        words = category.replace("_", " ").strip()
        title = words[:1].upper() + words[1:]
    return title

# Raw genre or keyword (normalised: lower case, no spaces or hyphens) -> categories.
DEFAULT_GENRE_MAPPING: dict[str, list[str]] = {
    "rock": ["rock"], "blues": ["rock"], "metal": ["rock"], "punk": ["rock"],
    "alternative": ["rock"], "grunge": ["rock"], "indie": ["rock"], "hardrock": ["rock"],
    "pop": ["pop"], "dance": ["pop"], "disco": ["pop"], "synth": ["pop"], "synthpop": ["pop"],
    "electronic": ["electronic"], "electronica": ["electronic"], "techno": ["electronic"],
    "house": ["electronic"], "trance": ["electronic"], "ambient": ["electronic"],
    "edm": ["electronic"], "drumandbass": ["electronic"], "drumbass": ["electronic"],
    "drumnbass": ["electronic"], "dnb": ["electronic"], "triphop": ["electronic"],
    "dubstep": ["electronic"], "electro": ["electronic"],
    "hiphop": ["hiphop"], "rap": ["hiphop"], "rnb": ["hiphop"], "urban": ["hiphop"],
    "randb": ["hiphop"], "rhythmandblues": ["hiphop"],  # "R&B", "Rhythm & Blues" normalised
    "trap": ["hiphop"],
    "jazz": ["jazz_classical"], "classical": ["jazz_classical"],
    "instrumental": ["jazz_classical"], "newage": ["jazz_classical"],
    "ragtime": ["jazz_classical"], "swing": ["jazz_classical"], "opera": ["jazz_classical"],
    "country": ["country"], "bluegrass": ["country"], "americana": ["country"],
    "folk": ["country"],
    "latin": ["latin_world"], "reggae": ["latin_world"], "world": ["latin_world"],
    "soundtrack": ["latin_world"], "salsa": ["latin_world"], "reggaeton": ["latin_world"],
    "bossanova": ["latin_world"], "ska": ["latin_world"],
}


def option(default: Any, title: str, group: str, help: str = "", *,
           choices: tuple[str, ...] | typing.Callable[[], tuple[str, ...]] = (), minimum: float | None = None,
           maximum: float | None = None, advanced: bool = False, not_empty: bool = False) -> Any:
    """Declares one setting: its default and what the settings dialog and validation need.

    ``choices`` may be a function, for choices that a registry holds (read where they are used).
    """
    meta = {"title": title, "group": group, "help": help, "choices": choices,
            "minimum": minimum, "maximum": maximum, "advanced": advanced, "not_empty": not_empty}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    # Library
    player: str = option("auto", "Player", "Library",
                         "Where songs and ratings come from; auto finds Strawberry or Clementine, "
                         "then music folders, then the demo library.",
                         choices=("auto", "strawberry", "clementine", "folders", "demo"))
    database_path: str = option("", "Player database", "Library",
                                "Path of the player's database; empty finds the default one.")
    music_folders: list[str] = option([], "Music folders", "Library",
                                      "Folders scanned when there is no player database.")
    # Cache
    cache_dir: str = option("", "Cache folder", "Cache", "Empty keeps it in the app's cache folder.")
    cache_format: str = option("ogg", "Cache format", "Cache",
                               "ogg: Vorbis, about 0.55 MB a song; npy: 16-bit PCM, 7.7 MB a song, "
                               "faster to build and to read.",
                               choices=("ogg", "npy"))
    cache_budget_gb: float = option(0.0, "Cache size budget (GB)", "Cache", "0 means no limit.",
                                    minimum=0.0)
    num_workers: int = option(2, "Worker processes", "Cache",
                              "Processes that decode audio and feed training.", minimum=0,
                              maximum=64)
    # Training
    device: str = option("auto", "Device", "Training", "auto uses the GPU when there is one.")
    backbone: str = option("resnet50", "Encoder", "Training",
                           "resnet50 (2048-d) is the full model; resnet18 (512-d) for CPUs.",
                           choices=("resnet50", "resnet18"))
    batch_size: int = option(128, "Batch size", "Training",
                             "128 fits a 32 GB GPU with mixed precision; halved on out-of-memory.",
                             minimum=2, maximum=4096)
    epochs: int = option(100, "Encoder epochs", "Training", minimum=1, maximum=10_000)
    learning_rate: float = option(0.03, "Learning rate", "Training", minimum=1e-7, maximum=10.0,
                                  advanced=True)
    warmup_epochs: int = option(5, "Warm-up epochs", "Training", minimum=0, maximum=1000,
                                advanced=True)
    moco_weight: float = option(0.6, "MoCo loss weight", "Training", minimum=0.0, maximum=1.0,
                                advanced=True)
    genre_weight: float = option(0.4, "Genre loss weight", "Training", minimum=0.0, maximum=1.0,
                                 advanced=True)
    moco_queue: int = option(4096, "MoCo queue length", "Training", minimum=16, maximum=1_000_000,
                             advanced=True)
    moco_momentum: float = option(0.999, "MoCo momentum", "Training",
                                  "The most the key encoder keeps of itself each step; a short "
                                  "training uses less, so that it keeps up.",
                                  minimum=0.0, maximum=1.0, advanced=True)
    moco_temperature: float = option(0.07, "MoCo temperature", "Training", minimum=1e-4,
                                     maximum=10.0, advanced=True)
    seed: int = option(1234, "Random seed", "Training", minimum=0, advanced=True)
    encoder: str = option("auto", "Song encoder", "Training",
                          "What turns a song's sound into a vector; auto chooses one.",
                          choices=encoder_choices)
    mert_model: str = option("", "MERT model", "Training",
                             "For the mert encoder (never chosen by auto): a Hugging Face model id "
                             "such as m-a-p/MERT-v0-public, or a local folder; empty: off.",
                             advanced=True)
    mert_download: bool = option(False, "Download the MERT model", "Training",
                                 "Lets the mert encoder download its model (and run the code that "
                                 "comes with it) once; off: only a copy already on this machine.",
                                 advanced=True)
    # Genres
    genre_categories: list[str] = option(list(GENRE_CATEGORIES), "Genre categories", "Genres",
                                         "The labels of the encoder's genre head.")
    genre_mapping: dict[str, list[str]] = option(DEFAULT_GENRE_MAPPING, "Genre mapping", "Genres",
                                                 "Raw genre or keyword -> categories.")
    # Recommendations
    recommender: str = option("auto", "Recommender", "Recommendations",
                              "What learns your taste from your ratings, plays and skips; auto "
                              "chooses one.", choices=recommender_choices)
    rating_epochs: int = option(20, "Rating model epochs", "Recommendations", minimum=1,
                                maximum=10_000)
    # Not empty: an empty path is the folder musicrec happens to be started from.
    output_dir: str = option("~/Music/recommendations", "Playlist folder", "Recommendations",
                             "Where generated XSPF and M3U8 playlists are written.", not_empty=True)
    playlist_length: int = option(50, "Playlist length", "Recommendations", minimum=1,
                                  maximum=10_000)
    playlist_format: str = option("xspf", "Playlist format", "Recommendations",
                                  choices=("xspf", "m3u8", "both"))
    recent_days: int = option(14, "Leave out songs played in the last (days)", "Recommendations",
                              minimum=0, maximum=3650)
    artist_cap: int = option(2, "Songs per artist in one list", "Recommendations", minimum=1,
                             maximum=1000)
    exclude_artists: list[str] = option([], "Never recommend these artists", "Recommendations")
    exclude_genres: list[str] = option([], "Never recommend these genres", "Recommendations")
    artist_gap: int = option(0, "No artist twice within (songs)", "Recommendations",
                             "In radio, song paths, Play recommended and the generated playlists: at "
                             "least this many other songs between two of one artist; 0: no gap "
                             "(the radio always keeps 3).", minimum=0, maximum=100)
    album_gap: int = option(0, "No album twice within (songs)", "Recommendations",
                            "Like the artist gap, for albums; 0: no gap.", minimum=0, maximum=100)
    max_song_minutes: float = option(0.0, "Leave out songs longer than (minutes)", "Recommendations",
                                     "DJ sets, audiobooks, podcasts; 0: no limit. Songs rated two stars "
                                     "or less are never recommended.", minimum=0.0, maximum=100_000.0)
    # Desktop
    companion_player: str = option("auto", "Player to control", "Desktop",
                                   choices=("auto", "strawberry", "clementine"))
    watch_library: bool = option(True, "Watch the library for changes", "Desktop")
    notifications: bool = option(True, "Desktop notifications", "Desktop")
    autostart: bool = option(False, "Start with the desktop", "Desktop")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, validate(f.name, getattr(self, f.name)))
        unknown = {c for cats in self.genre_mapping.values() for c in cats}
        unknown -= set(self.genre_categories)
        if unknown:
            raise SettingsError("genre_mapping", sorted(unknown),
                                f"categories must be among {', '.join(self.genre_categories)}")

    # -- persistence -------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> Settings:
        """Settings from ``path``; defaults when the file does not exist (see ``load_checked``)."""
        return cls.load_checked(path)[0]

    @classmethod
    def load_checked(cls, path: Path) -> tuple[Settings, list[str]]:
        """Settings from ``path`` and what was wrong in the file, each also logged as a warning.

        A bad value is replaced by its default and an unknown key is ignored; the next save
        writes the repaired file. Only a file that is not TOML at all raises ``SettingsError``.
        """
        if not path.exists():
            return cls(), []
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError("settings file", str(path), f"valid TOML: {exc}") from exc
        defaults = cls()
        values: dict[str, Any] = {}
        problems: list[str] = []
        for key, value in data.items():
            try:
                values[key] = validate(key, value)
            except UnknownSettingError as exc:
                problems.append(f"{path}: {exc}; ignored")
            except SettingsError as exc:
                problems.append(f"{path}: {exc}; using the default {getattr(defaults, key)!r}")
        try:
            settings = cls(**values)
        except SettingsError as exc:  # a mapping to categories the file does not declare
            problems.append(f"{path}: {exc}; using the default genre categories and mapping")
            values.pop("genre_categories", None)
            values.pop("genre_mapping", None)
            settings = cls(**values)
        for problem in problems:
            log.warning("%s", problem)
        return settings, problems

    def save(self, path: Path) -> None:
        """Writes the settings atomically (a crash leaves the old file or the new one).

        Raises ``StorageError`` naming the file when it cannot be written (a full disk).
        """
        text = tomli_w.dumps(dataclasses.asdict(self))
        try:
            write_text_atomic(path, text)
        except OSError as exc:
            raise StorageError.from_os_error(exc, path) from exc

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def with_text(self, key: str, text: str) -> Settings:
        """A copy with ``key`` set from the text a person typed (``musicrec config set``)."""
        return self.replace(**{key: parse_text(key, text)})


def options() -> list[dataclasses.Field]:
    """The declared settings in order, with their metadata (title, group, help, rules)."""
    return list(dataclasses.fields(Settings))


class UnknownSettingError(SettingsError):
    """A key that is not a setting (a typo, or a setting of another version)."""

    def __init__(self, key: str, value: object) -> None:
        known = [f.name for f in options()]
        close = difflib.get_close_matches(key, known, n=3)
        guess = f"did you mean {' or '.join(close)}? " if close else ""
        allowed = f"{guess}known settings: {', '.join(known)}"
        self.key, self.value, self.allowed = key, value, allowed
        MusicrecError.__init__(self, f"unknown setting {key!r} (value {value!r}); {allowed}")


def _field(key: str, value: object = None) -> dataclasses.Field:
    """The declaration of ``key``; ``value`` is what was given for it, for the message."""
    for f in dataclasses.fields(Settings):
        if f.name == key:
            return f
    raise UnknownSettingError(key, value)


def _type_of(key: str, value: object = None) -> Any:
    _field(key, value)  # an unknown key: UnknownSettingError listing the known ones, not a KeyError
    return typing.get_type_hints(Settings)[key]


def choices_of(key: str) -> tuple[str, ...]:
    """The values a setting allows when it has a list of them; () when it has none."""
    choices = _field(key).metadata["choices"]
    return tuple(choices() if callable(choices) else choices)


def describe_allowed(key: str) -> str:
    f, kind = _field(key), _type_of(key)
    meta = f.metadata
    if choices_of(key):
        return "one of " + ", ".join(choices_of(key))
    if kind in (int, float):
        name = "a whole number" if kind is int else "a number"
        lo, hi = meta["minimum"], meta["maximum"]
        if lo is not None and hi is not None:
            return f"{name} from {lo:g} to {hi:g}"
        if lo is not None:
            return f"{name} of at least {lo:g}"
        return name
    if kind is bool:
        return "true or false"
    if kind == list[str]:
        return "a list of texts"
    if kind == dict[str, list[str]]:
        return "a table of text -> list of texts"
    return "a text, not empty" if meta["not_empty"] else "a text"


def validate(key: str, value: Any) -> Any:
    """The value converted to the setting's type, or ``SettingsError``."""
    f, kind = _field(key, value), _type_of(key)
    meta = f.metadata
    bad = SettingsError(key, value, describe_allowed(key))
    if kind is bool:
        if not isinstance(value, bool):
            raise bad
    elif kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise bad
    elif kind is float:
        # NaN compares false with every bound, so it would pass the range checks below.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad
        value = float(value)
    elif kind is str:
        if not isinstance(value, str) or (meta["not_empty"] and not value.strip()):
            raise bad
    elif kind == list[str]:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad
        value = list(value)
    elif kind == dict[str, list[str]]:
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, (list, tuple)) and all(isinstance(c, str) for c in v)
            for k, v in value.items()
        ):
            raise bad
        value = {k: list(v) for k, v in value.items()}
    if meta["choices"] and value not in choices_of(key):
        raise bad
    if kind in (int, float):
        if meta["minimum"] is not None and value < meta["minimum"]:
            raise bad
        if meta["maximum"] is not None and value > meta["maximum"]:
            raise bad
    if key == "device" and not _is_device(value):
        raise SettingsError(key, value, "auto, cpu, cuda or cuda:N")
    return value


def _is_device(text: str) -> bool:
    if text in ("auto", "cpu", "cuda"):
        return True
    return text.startswith("cuda:") and text[5:].isdigit()


def parse_text(key: str, text: str) -> Any:
    """Converts what a person typed on the command line into the setting's type."""
    kind = _type_of(key, text)
    bad = SettingsError(key, text, describe_allowed(key))
    try:
        if kind is bool:
            lowered = text.strip().lower()
            if lowered in ("true", "yes", "on", "1"):
                return True
            if lowered in ("false", "no", "off", "0"):
                return False
            raise bad
        if kind is int:
            return validate(key, int(text))
        if kind is float:
            return validate(key, float(text))
        if kind == list[str]:
            stripped = text.strip()
            if stripped.startswith("["):
                return validate(key, json.loads(stripped))
            return validate(key, [part.strip() for part in stripped.split(",") if part.strip()])
        if kind == dict[str, list[str]]:
            return validate(key, json.loads(text))
    except (ValueError, json.JSONDecodeError) as exc:
        raise bad from exc
    return validate(key, text)
