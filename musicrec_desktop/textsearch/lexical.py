"""Words matched as words: the evaluation's lexical baseline, and the part of a search's score
that puts songs whose own words the query names (a tag, an artist) first.

A song's words are those of its tags, title, artist, album and year; a query's, its own. Both
leave out a few words that say nothing about a song ("a", "the", "songs").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

# Weight of the word overlap (Jaccard, 0..1) added to the cosine (-1..1) in a search's score:
# measured on held-out songs (README, Text search).
LEXICAL_WEIGHT = 0.5
WORD = re.compile(r"[\w&'-]+")
STOP_WORDS = frozenset({"a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "by", "from",
                        "with", "some", "song", "songs", "music", "like", "me", "my"})


def words(text: str) -> set[str]:
    """The lower-case words of ``text`` that can tell songs apart."""
    return set(WORD.findall(text.lower())) - STOP_WORDS


def jaccard(queries: Sequence[set[str]], songs: Sequence[set[str]]) -> np.ndarray:
    """Q x S word-set overlap |A ∩ B| / |A ∪ B| (0 for two empty sets)."""
    out = np.zeros((len(queries), len(songs)), np.float32)
    for i, a in enumerate(queries):
        for j, b in enumerate(songs):
            union = len(a | b)
            out[i, j] = len(a & b) / union if union else 0.0
    return out


class WordIndex:
    """Every song's words, for the overlap of one query with all of them at once."""

    def __init__(self, song_words: Sequence[Iterable[str]]) -> None:
        rows: dict[str, list[int]] = {}
        sizes = np.zeros(len(song_words), np.float32)
        for i, found in enumerate(song_words):
            unique = set(found)
            sizes[i] = len(unique)
            for word in unique:
                rows.setdefault(word, []).append(i)
        self._rows = {word: np.asarray(r, np.int64) for word, r in rows.items()}
        self._sizes = sizes

    def overlap(self, query: set[str]) -> np.ndarray:
        """N float32: the Jaccard overlap of ``query``'s words with each song's."""
        shared = np.zeros(len(self._sizes), np.float32)
        for word in query:
            found = self._rows.get(word)
            if found is not None:
                shared[found] += 1.0  # a song's rows are distinct: no repeats in ``found``
        union = len(query) + self._sizes - shared
        return np.divide(shared, union, out=np.zeros_like(shared), where=union > 0)
