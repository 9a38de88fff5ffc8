"""Recommender ``popularity``: songs of the artists the person plays most."""

from __future__ import annotations

from collections import Counter

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView
from musicrec_desktop.settings import Settings


class ArtistPopularity:
    """Each song scores its artist's plays in the library, over the most played artist's. A song
    without an artist tag counts with its album, and without one either with its folder
    (``artist_group``)."""

    name = "popularity"
    title = "popularity (artist plays)"
    predicts_rating = False
    report_type = TasteReport
    embedding_model = ""  # reads no vectors

    def __init__(self, plays: dict[str, int]) -> None:
        self.plays = plays  # artist_group -> plays

    @classmethod
    def learn(cls, view: TasteView, settings: Settings, *, progress: ProgressCallback | None = None,
              cancel: CancelToken | None = None, measure: bool = True
              ) -> tuple[ArtistPopularity, TasteReport]:
        plays: Counter[str] = Counter()
        for s in view.table.songs:
            plays[artist_group(s)] += s.playcount
        model = cls(dict(plays))
        message = f"{sum(1 for v in plays.values() if v)} artists with plays"
        return model, TasteReport(cls.name, len(view.table), "", message)

    def predict(self, table: SongTable) -> np.ndarray:
        plays = np.array([self.plays.get(artist_group(s), 0) for s in table.songs], dtype=np.float64)
        return (plays / max(plays.max(initial=0.0), 1.0)).astype(np.float32)

    def reason_keys(self) -> list[str]:
        return []

    def state(self) -> dict:
        return {"kind": self.name, "plays": self.plays}

    @classmethod
    def from_state(cls, state: dict) -> ArtistPopularity:
        return cls(dict(state["plays"]))


def artist_group(song: Song) -> str:
    """Whose song it is, casefolded: the artist tag; without one the album, then the folder (of
    an untagged library, mostly an album each). An empty artist is not an artist: counted as one,
    the untagged songs of a library made a single 'artist' whose plays outweighed every other,
    and popularity ranked them all first, the same for every listener."""
    if artist := song.artist.strip().casefold():
        return artist  # as saved before the fallbacks: an older saved model reads the same
    if album := song.album.strip().casefold():
        return f"album: {album}"
    folder = str(song.path.parent) if song.path is not None else song.url.rpartition("/")[0]
    return f"folder: {folder}"
