"""Words matched as words: the lexical baseline and the word overlap in a search's score."""

from __future__ import annotations

import numpy as np

from musicrec_desktop.textsearch.lexical import WordIndex, jaccard, words


def test_words_leave_out_those_that_say_nothing_of_a_song():
    assert words("Rock, hard-rock; 90s & Drum & Bass") == {"rock", "hard-rock", "90s", "&", "drum", "bass"}
    assert words("Calm piano for a rainy evening") == {"calm", "piano", "rainy", "evening"}
    assert words("Songs by The Band, from an Album") == {"band", "album"}


def test_jaccard_of_word_sets():
    overlap = jaccard([{"rock", "90s"}, set()], [{"rock"}, {"jazz"}, set()])
    assert overlap.tolist() == [[0.5, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_the_index_gives_the_same_overlap_for_every_song_at_once():
    songs = [{"rock", "90s", "band"}, {"jazz"}, set(), {"rock"}]
    index = WordIndex([sorted(s) for s in songs])
    for query in ({"rock", "90s"}, {"jazz", "piano"}, set(), {"unknown"}):
        np.testing.assert_allclose(index.overlap(query), jaccard([query], songs)[0], rtol=1e-6)
