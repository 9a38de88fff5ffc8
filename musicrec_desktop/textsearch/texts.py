"""What the library knows about each song, in words: the texts the alignment learns from.

Two kinds, the design's two stages: single tags ("rock", "90s", "mellow") and one whole
description per song ("rock, calm, upbeat, 90s; Falling Home by The Rusty Amps, from Golden
Roads, 1995; recorded live"). Tags come from the genre and mood tags, the tempo in words (see
``tempo_word``), the year's decade, MusiCNN's tag probabilities and the encoder's genre head where
the store has them; the description adds title, artist, album and the comment tag (see
``comment_text``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.library.song import Song
from musicrec_desktop.musicnn.tags import MSD_TAGS
from musicrec_desktop.settings import genre_title

MUSICNN_LIKELY = 0.25  # a MusiCNN tag this probable describes the song (its tags rarely pass 0.5)
MUSICNN_MOST = 4  # at most this many of a song's MusiCNN tags
GENRE_HEAD_LIKELY = 0.5  # a genre category the encoder's head gives at least this
GENRE_SEPARATORS = re.compile(r"\s*[/;,|]\s*")  # "Rock / Pop; Indie" -> three tags
COMMENT_MOST = 200  # characters of the comment tag kept in a description
# Comments that say nothing of the music: links, and what shops, rippers and encoders write.
NOT_A_DESCRIPTION = re.compile(r"://|www\.|amazon\.com|itunes|encoded|ripped|\blame\b|"
                               r"exact audio copy|^(?:\s*[0-9a-f]{8})+\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class SongTexts:
    """A song in words: its single tags (lower case, no repeats) and its whole description."""

    key: str
    tags: tuple[str, ...]
    names: str  # "Falling Home by The Rusty Amps, from Golden Roads, 1995"
    description: str  # the tags, then the names, then the comment

    @property
    def tag_text(self) -> str:
        """The tags as one query ("rock, 90s, mellow"): what the evaluation searches with."""
        return ", ".join(self.tags)


def decade(year: int | None) -> str:
    """1995 -> "90s", 2004 -> "2000s"; "" when unknown."""
    if not year or year < 1900:
        return ""
    tens = year // 10 * 10
    return f"{tens % 100:02d}s" if tens < 2000 else f"{tens}s"


def genre_tags(raw: str) -> list[str]:
    """The person's genre tag split into single genres, lower case."""
    return [part.lower() for part in GENRE_SEPARATORS.split(raw.strip()) if part]


def tempo_word(bpm: float | None) -> str:
    """The tempo in words: "slow" under 90 BPM, "moderate tempo" from 90, "upbeat" from 120 to
    140, "fast" above 140; "" when unknown."""
    if not bpm or bpm <= 0:
        return ""
    if bpm < 90:
        return "slow"
    if bpm < 120:
        return "moderate tempo"
    return "upbeat" if bpm <= 140 else "fast"


def comment_text(comment: str) -> str:
    """The comment tag as a description says it: on one line, its first ``COMMENT_MOST``
    characters; "" for a link or a shop's, ripper's or encoder's note ("Amazon.com Song ID: ...",
    "iTunes ...")."""
    text = " ".join(comment.split())
    return "" if NOT_A_DESCRIPTION.search(text) else text[:COMMENT_MOST].rstrip()


def musicnn_tags(probabilities: np.ndarray) -> list[str]:
    """The likeliest of MusiCNN's 50 tags (``MSD_TAGS`` order), best first, lower case."""
    order = np.argsort(-probabilities)[:MUSICNN_MOST]
    return [MSD_TAGS[i].lower() for i in order if probabilities[i] >= MUSICNN_LIKELY]


def genre_head_tags(probabilities: np.ndarray, categories: Sequence[str]) -> list[str]:
    """The genre categories the encoder's genre head finds likely, in the person's words."""
    return [genre_title(c).lower() for c, p in zip(categories, probabilities, strict=False)
            if p >= GENRE_HEAD_LIKELY]


def song_texts(song: Song, tag_scores: np.ndarray | None = None,
               genre_scores: np.ndarray | None = None,
               categories: Sequence[str] = ()) -> SongTexts:
    """``song`` in words. ``tag_scores``: its 50 MusiCNN tag probabilities; ``genre_scores``: its
    genre head probabilities over ``categories``; None where the store has none."""
    tags = genre_tags(song.genre) + genre_tags(song.mood)
    if genre_scores is not None:
        tags += genre_head_tags(genre_scores, categories)
    if tag_scores is not None:
        tags += musicnn_tags(tag_scores)
    tags += [tempo_word(song.bpm), decade(song.year)]
    unique = tuple(dict.fromkeys(t for t in tags if t))
    names = song_names(song)
    parts = (", ".join(unique), names, comment_text(song.comment))
    return SongTexts(song.key, unique, names, "; ".join(p for p in parts if p))


def song_names(song: Song) -> str:
    """What the song is called, by whom, on which album, when."""
    text = song.title
    if song.artist:
        text += f" by {song.artist}"
    if song.album:
        text += f", from {song.album}"
    if song.year:
        text += f", {song.year}"
    return text.strip(", ")


def library_texts(songs: Iterable[Song], tag_scores: Mapping[str, np.ndarray],
                  genre_scores: Mapping[str, np.ndarray],
                  categories: Sequence[str]) -> dict[str, SongTexts]:
    """song key -> its texts, for every song given; the score maps are the store's extras."""
    return {s.key: song_texts(s, tag_scores.get(s.key), genre_scores.get(s.key), categories)
            for s in songs}


def texts_fingerprint(texts: Mapping[str, SongTexts]) -> str:
    """Changes when any song's texts change."""
    digest = hashlib.sha256()
    for key in sorted(texts):
        digest.update(json.dumps([key, texts[key].tags, texts[key].description]).encode())
    return digest.hexdigest()[:16]
