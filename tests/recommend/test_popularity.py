"""Popularity groups a song by its artist; an untagged song by its album, then its folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.popularity import ArtistPopularity
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteView
from musicrec_desktop.settings import Settings


def _song(relpath: str, plays: int, artist: str = "", album: str = "") -> Song:
    path = Path("/music") / relpath
    return Song(key=relpath, url=path.as_uri(), path=path, artist=artist, album=album, playcount=plays)


def test_untagged_songs_count_with_their_album_then_their_folder():
    songs = [_song("Zelda/a.ogg", 9), _song("Zelda/b.ogg", 0),  # no tags: the folder
             _song("Mario/c.ogg", 2), _song("Mario/d.ogg", 0),
             _song("mix/e.ogg", 4, album="Metroid"), _song("mix/f.ogg", 0, album="metroid "),
             _song("mix/g.ogg", 0, album="Kirby"),
             _song("x/h.ogg", 1, artist="Koji Kondo"), _song("y/i.ogg", 0, artist="koji kondo")]
    table = SongTable("m", songs, np.eye(len(songs), dtype=np.float32))
    model, _ = ArtistPopularity.learn(TasteView(table, []), Settings(), measure=False)
    scores = dict(zip((s.key for s in songs), model.predict(table).astype(np.float64).round(6).tolist(),
                      strict=True))
    # one empty "artist" would have given every untagged song 15/15 alike
    assert scores["Zelda/b.ogg"] == scores["Zelda/a.ogg"] == 1.0
    assert scores["Mario/d.ogg"] == round(2 / 9, 6)
    assert scores["mix/f.ogg"] == round(4 / 9, 6)  # the album, not the folder it shares with Kirby
    assert scores["mix/g.ogg"] == 0.0
    assert scores["y/i.ogg"] == round(1 / 9, 6)  # the artist, casefolded


def test_a_saved_model_keys_its_artists_as_before():
    model = ArtistPopularity.from_state({"kind": "popularity", "plays": {"koji kondo": 3, "": 5}})
    table = SongTable("m", [_song("x/a.ogg", 0, artist="Koji Kondo"), _song("x/b.ogg", 0)],
                      np.eye(2, dtype=np.float32))
    assert model.predict(table).round(6).tolist() == [1.0, 0.0]  # the empty artist is no group now
