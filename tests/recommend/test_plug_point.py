"""A new recommender plugs in through the registry alone: one entry in ``RECOMMENDERS``, nothing
else edited, and the setting, the rating stage's training, "Play recommended", the saved file
and the evaluation all take it. The toy learns from the listening history, which the view holds."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from musicrec_desktop.plugpoints import RECOMMENDERS
from musicrec_desktop.recommend.evaluate import evaluate
from musicrec_desktop.recommend.service import Recommender, train_recommender
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteModel, TasteReport, TasteView, model_path
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.store.history import HistoryStore, ListeningEvent

from .conftest import DAY, NOW, build_library


class ArtistsHeardLately:
    """Scores a song by how often its artist was heard to the end in the listening history."""

    name = "heard"
    title = "artists heard lately"
    predicts_rating = False
    report_type = TasteReport
    embedding_model = ""

    def __init__(self, finishes: dict[str, int]) -> None:
        self.finishes = finishes

    @classmethod
    def learn(cls, view: TasteView, settings, *, progress=None, cancel=None, measure=True):
        artist = {s.key: s.artist for s in view.table.songs}
        finishes: dict[str, int] = {}
        for event in view.history:
            if event.kind == "finish" and event.key in artist:
                finishes[artist[event.key]] = finishes.get(artist[event.key], 0) + 1
        return cls(finishes), TasteReport(cls.name, len(view.table), "", f"{len(finishes)} artists")

    def predict(self, table: SongTable) -> np.ndarray:
        top = max(self.finishes.values(), default=1)
        return np.array([self.finishes.get(s.artist, 0) / top for s in table.songs], dtype=np.float32)

    def reason_keys(self) -> list[str]:
        return []

    def state(self) -> dict:
        return {"kind": self.name, "finishes": self.finishes}

    @classmethod
    def from_state(cls, state: dict) -> ArtistsHeardLately:
        return cls(dict(state["finishes"]))


@pytest.fixture
def heard(monkeypatch):
    monkeypatch.setitem(RECOMMENDERS, "heard", ArtistsHeardLately)  # the one registry line


def test_toy_recommender_learns_from_the_history_and_drives_play_recommended(heard, tmp_path):
    lib = build_library(tmp_path)
    lib.ctx.settings = lib.ctx.settings.replace(recommender="heard", artist_cap=8, recent_days=0)
    # Artist 8 (a disliked style, never rated) is what the person has been finishing lately.
    artist8 = [s for s in lib.scan.songs if s.artist == "Artist 8"]
    with HistoryStore(lib.ctx.dirs.history_db) as history:
        for i, song in enumerate(artist8[:4]):
            history.record(ListeningEvent(song.url, song.key, "finish", NOW - i * DAY))
    assert isinstance(ArtistsHeardLately({}), TasteModel)
    report = train_recommender(lib.ctx.settings, lib.ctx.dirs, lib.scan)
    assert report.message == "1 artists"
    assert model_path(lib.ctx.dirs.models, "heard").exists()
    top = Recommender.open(lib.ctx, lib.scan).recommended(4, seed=0)
    assert [r.song.artist for r in top] == ["Artist 8"] * 4
    assert all(r.predicted_rating is None for r in top)  # a score, not a rating


def test_evaluation_measures_every_registered_recommender(heard, tmp_path):
    lib = build_library(tmp_path)
    with EmbeddingStore(lib.ctx.dirs.embeddings_db) as store:
        table = SongTable.from_store(lib.scan.songs, store)
    # a dozen unrated songs of Artist 0-2 were played last month, the rest 400 days ago
    later = {s.key for s in table.songs if s.rating is None and int(s.artist.split()[-1]) < 3}
    songs = [dataclasses.replace(s, lastplayed=int(NOW - (30 if s.key in later else 400) * DAY))
             for s in table.songs]
    result = evaluate(SongTable(table.model_id, songs, table.vectors), test_fraction=0.15)
    assert set(result["methods"]) == {"rating model", "favourites (most played)", "popularity (artist plays)",
                                      "k-NN (mean of liked songs)", "KNN (mean of the history's songs)",
                                      "Shallow net (sessions)", "BERT4Rec (sessions)", "artists heard lately"}
