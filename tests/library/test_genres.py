"""Genre mapping: separators, normalisation, whole keywords, user overrides, unlabelled songs."""

from __future__ import annotations

import pytest

from musicrec_desktop.errors import SettingsError
from musicrec_desktop.library.genres import GenreMapper, normalise
from musicrec_desktop.library.song import Song
from musicrec_desktop.settings import Settings


@pytest.fixture(scope="module")
def mapper() -> GenreMapper:
    return GenreMapper.from_settings(Settings())


@pytest.mark.parametrize("raw, expected", [
    ("Hip Hop", ["hiphop"]), ("hip-hop", ["hiphop"]), ("HipHop", ["hiphop"]), ("HIP_HOP", ["hiphop"]),
    ("R&B", ["hiphop"]), ("RnB", ["hiphop"]), ("Rhythm and Blues", ["hiphop"]),
    ("Rhythm & Blues", ["hiphop"]), ("Drum & Bass", ["electronic"]), ("Drum and Bass", ["electronic"]),
    ("Drum 'n' Bass", ["electronic"]), ("Électronique", []), ("Electrónica", ["electronic"]),
    ("Rock/Pop", ["rock", "pop"]), ("Rock & Pop", ["rock", "pop"]), ("Jazz; Classical", ["jazz_classical"]),
    ("Reggae, Hip-Hop", ["hiphop", "latin_world"]), ("Metal | Folk", ["rock", "country"]),
    ("Alternative Hip Hop", ["rock", "hiphop"]), ("Deep House", ["electronic"]),
    ("Post-Punk", ["rock"]), ("New Age", ["jazz_classical"]), ("Synth-pop", ["pop"]),
    ("rnb", ["hiphop"]), ("Shoegaze", []), ("", []), ("  ", []), ("Rap/R&B", ["hiphop"]),
    ("Blues", ["rock"]), ("Bossa Nova", ["latin_world"]),
])
def test_default_mapping(mapper, raw, expected):
    assert mapper.categories(raw) == expected


def test_whole_keywords_are_not_cut_but_other_pairs_are():
    mapper = GenreMapper({"drumandbass": ["electronic"], "bass": ["pop"], "drum": ["rock"],
                          "rock": ["rock"], "roll": ["pop"]}, ["rock", "pop", "electronic"])
    assert mapper.categories("Drum & Bass") == ["electronic"]
    assert mapper.categories("Rock & Roll") == ["rock", "pop"]


def test_normalise():
    assert normalise("Hip-Hop") == normalise("hip hop") == normalise("HipHop") == "hiphop"
    assert normalise("R&B") == "randb" and normalise("Músìca Latína") == "musicalatina"


def test_user_overrides_and_keys_written_as_people_write_them():
    settings = Settings().replace(genre_mapping={"Chanson Française": ["latin_world"],
                                                 "Hip Hop": ["hiphop", "pop"]})
    mapper = GenreMapper.from_settings(settings)
    assert mapper.categories("chansonfrancaise") == ["latin_world"]
    assert mapper.categories("hip-hop") == ["pop", "hiphop"]  # in the categories' order
    assert mapper.categories("Rock") == []  # the user's mapping replaced the default one


def test_unknown_category_is_refused():
    with pytest.raises(SettingsError, match="genre_mapping"):
        GenreMapper({"rock": ["heavy"]}, ["rock"])


def test_labels_leave_unlabelled_songs_out_and_report_unmapped(mapper):
    songs = [Song(key=f"k{i}", url=f"file:///{i}", path=None, genre=g)
             for i, g in enumerate(["Rock", "Shoegaze", "", "shoegaze", "Shoegaze", "Rap/Shoegaze"])]
    assert mapper.labels(songs) == {"k0": ["rock"], "k5": ["hiphop"]}
    assert mapper.unmapped(songs) == {"Shoegaze": 2, "shoegaze": 1}
    assert mapper.per_category(songs)["rock"] == 1 and mapper.per_category(songs)["pop"] == 0
