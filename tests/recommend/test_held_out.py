"""The latest sessions held out as the study asks them, to stop a learnt recommender on."""

from __future__ import annotations

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.recommend.listening import MIN_NEW_QUESTIONS, beats_the_start, held_out, held_out_ndcgs
from musicrec_desktop.recommend.table import SongTable


def test_the_later_new_songs_are_to_be_found_among_the_songs_heard_in_neither():
    train = [["a", "b", "c"]]
    # the replay of "a" is not asked; "x" is new to the training sessions
    validation = [["a", "b", "a", "x"]] * MIN_NEW_QUESTIONS + [["a", "b"], ["y"]]
    questions = held_out(train, validation)
    assert questions.given == [["a"]] * MIN_NEW_QUESTIONS
    assert questions.relevant == [{"x"}] * MIN_NEW_QUESTIONS
    assert questions.known == {"a", "b", "c"}
    keys = ["a", "b", "c", "x", "z"]
    table = SongTable("m", [Song(key=k, url=k, path=None) for k in keys], np.eye(5, dtype=np.float32))
    # "a" (given), "b" and "c" (known) rank first in these scores but are not ranked
    scores = np.tile([5.0, 4.0, 3.0, 1.0, 2.0], (MIN_NEW_QUESTIONS, 1))
    np.testing.assert_allclose(held_out_ndcgs(scores, questions, table), 1 / np.log2(3))


def test_with_too_few_new_songs_the_songs_heard_before_count_too():
    questions = held_out([["a", "b", "c"]], [["a", "b", "a", "x"], ["b", "c", "a"]])
    assert questions.relevant == [{"b", "x"}, {"c", "a"}] and questions.known == set()


def test_a_learnt_net_beats_its_start_only_beyond_chance():
    start = np.array([0.2, 0.5, 0.3, 0.4, 0.1, 0.6])
    assert beats_the_start(start + 0.1, start)
    # ahead on the mean by luck: one question much better, the others worse
    assert not beats_the_start(start + [0.9, -0.05, -0.05, -0.05, -0.05, -0.05], start)
    assert not beats_the_start(np.array([1.0]), np.array([0.0]))  # one question tells nothing
