"""A song in words: tags from its genre tag, year, MusiCNN's tags and the genre head."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.musicnn.tags import MSD_TAGS
from musicrec_desktop.textsearch.texts import (
    comment_text,
    decade,
    genre_tags,
    library_texts,
    song_texts,
    tempo_word,
    texts_fingerprint,
)

SONG = Song(key="k", url="file:///m/a.flac", path=Path("/m/a.flac"), title="Falling Home",
            artist="The Rusty Amps", album="Golden Roads", genre="Rock / Pop; Indie", year=1995)


def test_decades_in_words():
    assert [decade(y) for y in (1995, 1960, 2004, 2019, None, 0)] == ["90s", "60s", "2000s", "2010s", "", ""]


def test_a_genre_tag_is_split_into_single_genres():
    assert genre_tags("Rock / Pop; Indie") == ["rock", "pop", "indie"]
    assert genre_tags("Drum & Bass") == ["drum & bass"]
    assert genre_tags("  ") == []


def test_tags_and_description_from_what_the_library_knows():
    tags = np.zeros(len(MSD_TAGS), np.float32)
    tags[MSD_TAGS.index("guitar")], tags[MSD_TAGS.index("Mellow")] = 0.6, 0.3
    tags[MSD_TAGS.index("rock")] = 0.9  # already said by the genre tag: once only
    tags[MSD_TAGS.index("sad")] = 0.1  # too unlikely to describe it
    genres = np.array([0.9, 0.1, 0.7], np.float32)
    texts = song_texts(SONG, tags, genres, ["rock", "pop", "jazz_classical"])
    assert texts.tags == ("rock", "pop", "indie", "jazz and classical", "guitar", "mellow", "90s")
    assert texts.names == "Falling Home by The Rusty Amps, from Golden Roads, 1995"
    assert texts.description == ("rock, pop, indie, jazz and classical, guitar, mellow, 90s; "
                                 "Falling Home by The Rusty Amps, from Golden Roads, 1995")
    assert texts.tag_text == "rock, pop, indie, jazz and classical, guitar, mellow, 90s"


def test_a_song_with_nothing_but_a_title():
    bare = Song(key="b", url="file:///m/b.flac", path=Path("/m/b.flac"), title="b")
    texts = song_texts(bare)
    assert (texts.tags, texts.names, texts.description) == ((), "b", "b")


def test_the_fingerprint_follows_any_change_of_words():
    before = texts_fingerprint(library_texts([SONG], {}, {}, []))
    assert texts_fingerprint(library_texts([SONG], {}, {}, [])) == before
    renamed = Song(**{**SONG.__dict__, "title": "Falling Away"})
    assert texts_fingerprint(library_texts([renamed], {}, {}, [])) != before
    tagged = library_texts([SONG], {"k": np.full(len(MSD_TAGS), 0.9, np.float32)}, {}, [])
    assert texts_fingerprint(tagged) != before


def test_tempo_in_words():
    assert [tempo_word(b) for b in (60, 89.9, 90, 119, 120, 140, 140.5, 180, None, 0, -1)] == [
        "slow", "slow", "moderate tempo", "moderate tempo", "upbeat", "upbeat", "fast", "fast", "", "", ""]


def test_tempo_mood_and_comment_in_the_texts():
    song = Song(**{**SONG.__dict__, "bpm": 150.0, "mood": "Calm; Dreamy",
                   "comment": "Recorded live\nat the Roundhouse"})
    texts = song_texts(song)
    assert texts.tags == ("rock", "pop", "indie", "calm", "dreamy", "fast", "90s")
    assert "fast" in texts.description and "calm" in texts.description
    assert texts.description.endswith("; Recorded live at the Roundhouse")
    assert song_texts(SONG).tags == ("rock", "pop", "indie", "90s")  # none known: none said


def test_only_comments_that_describe_the_music_are_kept():
    assert comment_text("  a  quiet\tpiece ") == "a quiet piece"
    assert comment_text("x" * 250) == "x" * 200
    for boilerplate in ("Amazon.com Song ID: 212345678", "https://example.org/album",
                        "www.example.com", "Encoded with iTunes 12.1",
                        " 00000A2B 00000B3C 00012F4D 0001A2B3", "", "   "):
        assert comment_text(boilerplate) == "", boilerplate
