"""``taste.for_session``: one way to ask any recommender about the current listening session."""

from __future__ import annotations

import math

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.popularity import ArtistPopularity
from musicrec_desktop.recommend.session_knn import SessionKnn
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteView, TimedEvent, for_session
from musicrec_desktop.settings import Settings

T0 = 1_700_000_000.0
ANGLES = {"h0": 0.0, "a25": 25.0, "b5": 5.0, "c60": 60.0, "d50": 50.0}


def _table() -> SongTable:
    songs = [Song(key=k, url=k, path=None, title=k, artist=k, playcount=3 if k == "b5" else 0)
             for k in ANGLES]
    vectors = np.array([[math.cos(math.radians(a)), math.sin(math.radians(a))] for a in ANGLES.values()],
                       dtype=np.float32)
    return SongTable("m", songs, vectors)


def test_a_session_recommender_is_asked_about_the_session():
    table = _table()
    model, _ = SessionKnn.learn(TasteView(table, [TimedEvent("h0", T0, "finish")]), Settings(), measure=False)
    asked = for_session(model, [TimedEvent("c60", T0 + 9000, "finish")], table)
    scores = asked.predict(table)
    # the session sits at 60 degrees: d50 first, c60 itself left out; the long-term model prefers b5
    assert table.songs[int(np.argmax(scores))].key == "d50"
    assert scores[table.row("c60")] == 0
    assert table.songs[int(np.argmax(model.predict(table)))].key == "b5"


def test_a_long_term_recommender_ignores_the_session():
    table = _table()
    model, _ = ArtistPopularity.learn(TasteView(table, []), Settings(), measure=False)
    assert for_session(model, [TimedEvent("c60", T0, "finish")], table) is model
