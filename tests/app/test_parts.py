"""Small parts of the desktop shell: the map's projection and hit test, playlist files, messages."""

from __future__ import annotations

import numpy as np

from musicrec_desktop.app.gpu import batch_size_hint, suggested_batch_size
from musicrec_desktop.app.map_data import Colouring, MapData, principal_components
from musicrec_desktop.app.messages import describe
from musicrec_desktop.app.player import playlist_files
from musicrec_desktop.app.plots import LibraryMap
from musicrec_desktop.errors import DatabaseLockedError, NotReadyError
from musicrec_desktop.recommend.writers import write_playlist
from tests.app.tiny import write_song


def pca_2d(vectors):
    return principal_components(vectors, 2)


def test_pca_puts_the_widest_spread_on_the_first_axis():
    rng = np.random.default_rng(0)
    data = np.zeros((200, 16), dtype=np.float32)
    data[:, 3] = rng.normal(0, 10, 200)  # the main axis
    data[:, 7] = rng.normal(0, 2, 200)
    data += rng.normal(0, 0.01, data.shape)
    xy = pca_2d(data)
    assert xy.shape == (200, 2) and xy.dtype == np.float32
    assert abs(np.corrcoef(xy[:, 0], data[:, 3])[0, 1]) > 0.999
    assert abs(np.corrcoef(xy[:, 1], data[:, 7])[0, 1]) > 0.99
    assert pca_2d(np.zeros((0, 8))).shape == (0, 2) and pca_2d(np.ones((1, 8))).shape == (1, 2)
    # Fewer songs than dimensions takes the SVD path and agrees.
    assert abs(np.corrcoef(pca_2d(data[:10])[:, 0], data[:10, 3])[0, 1]) > 0.999


def test_map_finds_the_song_under_the_pointer(qtbot):
    widget = LibraryMap()
    qtbot.addWidget(widget)
    widget.resize(500, 400)
    genres = Colouring("Genre tag", ["Rock", "Jazz and classical"], np.array([0, 1, 0]))
    widget.set_data(MapData(np.array([[0, 0], [1, 1], [0.5, 0.2]]), ["a", "b", "c"], ["A", "B", "C"],
                            np.array([True, False, False]), [genres]))
    widget.grab()  # paints, which places the points
    x, y = widget._screen[1]
    assert widget.point_at(x + 3, y - 3) == 1
    assert widget.point_at(x + 40, y + 40) is None
    assert widget.tooltip(1) == "B\nJazz and classical"


def test_playlist_files_reads_what_the_writers_write(tmp_path):
    from musicrec_desktop.library.song import Song

    songs = []
    for name in ("one", "two words", "été"):
        path = write_song(tmp_path / f"{name}.flac", 300.0, "Rock", seconds=0.5)
        songs.append(Song(key=path.as_uri(), url=path.as_uri(), path=path, title=name))

    class Entry:
        def __init__(self, song):
            self.song, self.reason = song, "because"

    for fmt in ("xspf", "m3u8"):
        [written] = write_playlist(tmp_path / "lists", f"Mix {fmt}", [Entry(s) for s in songs], fmt)
        assert playlist_files(written) == [s.path for s in songs]
    songs[1].path.unlink()
    assert playlist_files(written) == [songs[0].path, songs[2].path]


def test_errors_come_with_what_to_do(tmp_path):
    assert describe(NotReadyError("no encoder")) == "no encoder\nChoose Rebuild model first."
    locked = describe(DatabaseLockedError(tmp_path / "strawberry.db", "locked"))
    assert locked.endswith("it is tried again on the next change.")
    assert describe(RuntimeError("boom"), tmp_path).endswith("Please report it.")


def test_batch_size_hint_follows_gpu_memory():
    assert suggested_batch_size(32.0) == 128 and suggested_batch_size(141.0) == 560
    assert suggested_batch_size(None) == 16
    assert "No GPU found" in batch_size_hint(None)
    assert "80 GB: up to about 320 songs" in batch_size_hint(80.0)


def test_a_genre_keeps_its_colour_whatever_other_genres_the_map_shows(qtbot):
    from musicrec_desktop.app.map_data import genre_tags
    from musicrec_desktop.library.genres import GenreMapper
    from musicrec_desktop.library.song import Song
    from musicrec_desktop.settings import Settings

    def songs(*genres):
        return [Song(key=f"k{i}", url=f"file:///{i}.flac", path=None, genre=g) for i, g in enumerate(genres)]

    mapper = GenreMapper.from_settings(Settings())
    widget = LibraryMap()
    qtbot.addWidget(widget)
    colours = {}
    for library in (songs("Rock", "Jazz"), songs("Jazz", "Bebop")):
        tags = genre_tags(library, mapper)
        widget.set_data(MapData(np.zeros((2, 2)), ["a", "b"], ["A", "B"], np.zeros(2, bool), [tags]))
        colours[tuple(tags.legend)] = dict(zip(tags.legend, widget.legend_colours(), strict=True))
    first, second = colours[("Rock", "Jazz and classical")], colours[("Jazz and classical", "Other genre")]
    assert first["Jazz and classical"] == second["Jazz and classical"]  # 2nd in one, 1st in the other
    assert first["Rock"] != first["Jazz and classical"]
