"""Songs joined with their embeddings: the one table every ranking works on."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.store.embeddings import EmbeddingStore

IMPLICIT_FEATURES = ("log_playcount", "skip_ratio", "score", "has_score")


@dataclass
class SongTable:
    """``songs[i]`` has embedding ``vectors[i]`` (N x D float32, unit rows) from ``model_id``."""

    model_id: str
    songs: list[Song]
    vectors: np.ndarray
    _rows: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._rows = {s.key: i for i, s in enumerate(self.songs)}

    @classmethod
    def from_store(cls, songs: Sequence[Song], store: EmbeddingStore, model_id: str | None = None
                   ) -> SongTable:
        """The library's songs that have an embedding of the current (or given) model."""
        model_id = model_id or store.current_model()
        if model_id is None:
            raise NotReadyError(f"{store.path}: no song embeddings yet; run `musicrec embed` first")
        by_key = {s.key: s for s in songs}
        keys, vectors = store.load(model_id, by_key)
        if not keys:
            raise NotReadyError(f"none of the library's {len(by_key)} songs has an embedding of model "
                                f"{model_id}; run `musicrec embed` first")
        return cls(model_id, [by_key[k] for k in keys], vectors)

    def __len__(self) -> int:
        return len(self.songs)

    def row(self, key: str) -> int | None:
        return self._rows.get(key)

    def find(self, seed: str) -> int | None:
        """The row of a song named by its key, its ``file://`` URL or its path."""
        if seed in self._rows:
            return self._rows[seed]
        if "://" in seed:
            parts = urlsplit(seed)
            if parts.scheme != "file":
                return next((i for i, s in enumerate(self.songs) if s.url == seed), None)
            seed = unquote(parts.path)
        wanted = {Path(seed).expanduser().absolute()}
        wanted.add(next(iter(wanted)).resolve())
        return next((i for i, s in enumerate(self.songs)
                     if s.path is not None and (s.path in wanted or s.path.absolute() in wanted)), None)

    def cosine_to_centre(self, rows: Sequence[int]) -> np.ndarray:
        """N float32: every song's cosine to the direction of the mean vector of ``rows`` (the
        songs that stand for a taste: favourites, liked songs, a listening history)."""
        centre = self.vectors[list(rows)].mean(axis=0)  # D
        return (self.vectors @ (centre / (np.linalg.norm(centre) + 1e-12))).astype(np.float32)

    def ratings(self) -> np.ndarray:
        """N float32: the person's rating 0..1, NaN where unrated."""
        return np.array([np.nan if s.rating is None else s.rating for s in self.songs], dtype=np.float32)

    def implicit(self) -> np.ndarray:
        """N x 4 float32 (IMPLICIT_FEATURES): log(1 + plays), skips / (plays + skips + 1),
        Clementine score / 100 (0 when absent) and whether a score is present."""
        out = np.zeros((len(self.songs), len(IMPLICIT_FEATURES)), dtype=np.float32)
        for i, s in enumerate(self.songs):
            out[i] = (np.log1p(s.playcount), s.skipcount / (s.playcount + s.skipcount + 1),
                      (s.score or 0.0) / 100.0, s.score is not None)
        return out


def normalised_name(song: Song) -> str:
    """Artist and title folded for near-duplicate checks: the same song on several albums.

    A song without an artist or a title (or one of only punctuation) gets a name of its own:
    untagged songs are not all one song.
    """
    artist, title = _fold(song.artist), _fold(song.title)
    return f"{artist}|{title}" if artist and title else f"\0{song.key}"


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    # "(Remastered 2011)", "[Live]", "- 2009 Remaster" are versions of the same recording
    text = re.sub(r"\s*[\(\[][^\)\]]*[\)\]]", "", text)
    text = re.sub(r"\s+-\s+.*remaster.*$", "", text)
    return re.sub(r"\W+", "", text)
