"""Raw genre tags -> the genre categories the encoder learns (multi-label).

A raw genre is cut at the separators real tags use ("/", ";", ",", "|"), each part is normalised
(case, accents, spaces, hyphens, "&" -> "and", so "Hip Hop", "hip-hop" and "HipHop" all read
"hiphop", and "R&B" reads "randb") and looked up in the mapping, whose keys are normalised the same
way. A part that is not a key as a whole is cut again at " & " / " and " ("Rock & Pop"), but
"Drum & Bass" or "Rhythm and Blues" stay whole because they are keys. A part still not found is
read word by word, longest run of words first ("Alternative Hip Hop" -> alternative, hiphop).

Songs whose genre maps to nothing are *unlabelled*: they are left out of the labels, never
treated as "none of these categories".
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

from musicrec_desktop.errors import SettingsError
from musicrec_desktop.library.song import Song

if TYPE_CHECKING:
    from musicrec_desktop.settings import Settings

_HARD_SEPARATORS = re.compile(r"[/;,|\\]+")
_SOFT_SEPARATORS = re.compile(r"\s+(?:&|and|\+)\s+", re.IGNORECASE)
_WORD_BREAKS = re.compile(r"[\s\-_.:'’]+")


@lru_cache(maxsize=65536)
def normalise(text: str) -> str:
    """The lookup form of a genre: lower case, no accents, only letters and digits, & -> and."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("&", "and")
    return "".join(c for c in text if c.isalnum())


class GenreMapper:
    """Maps raw genres to ``categories`` through ``mapping`` (raw genre or keyword -> categories)."""

    def __init__(self, mapping: dict[str, list[str]], categories: Sequence[str]) -> None:
        self.category_names = tuple(categories)
        order = {c: i for i, c in enumerate(self.category_names)}
        self._mapping: dict[str, tuple[str, ...]] = {}
        for key, cats in mapping.items():
            unknown = [c for c in cats if c not in order]
            if unknown:
                raise SettingsError("genre_mapping", {key: cats},
                                    f"categories must be among {', '.join(self.category_names)}")
            merged = set(self._mapping.get(normalise(key), ())) | set(cats)
            self._mapping[normalise(key)] = tuple(sorted(merged, key=order.__getitem__))
        self._mapping.pop("", None)
        self._order = order
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> GenreMapper:
        return cls(settings.genre_mapping, settings.genre_categories)

    def categories(self, raw: str) -> list[str]:
        """The categories of one raw genre, in the order of ``category_names``; [] if none."""
        found = self._cache.get(raw)
        if found is None:
            hits: set[str] = set()
            for part in _HARD_SEPARATORS.split(raw or ""):
                hits.update(self._part(part))
            found = sorted(hits, key=self._order.__getitem__)
            self._cache[raw] = found
        return list(found)

    def labels(self, songs: Iterable[Song]) -> dict[str, list[str]]:
        """song key -> categories, for the songs that have at least one (the others: unknown)."""
        labels = {}
        for song in songs:
            cats = self.categories(song.genre)
            if cats:
                labels[song.key] = cats
        return labels

    def unmapped(self, songs: Iterable[Song]) -> Counter[str]:
        """Raw genres (as tagged) of songs that have a genre but no category, with song counts."""
        return Counter(s.genre for s in songs if s.genre.strip() and not self.categories(s.genre))

    def per_category(self, songs: Iterable[Song]) -> Counter[str]:
        """Songs per category (a song with two categories counts in both)."""
        counts: Counter[str] = Counter({c: 0 for c in self.category_names})
        for song in songs:
            counts.update(self.categories(song.genre))
        return counts

    def _part(self, part: str) -> tuple[str, ...]:
        whole = self._mapping.get(normalise(part))
        if whole is not None:
            return whole
        pieces = _SOFT_SEPARATORS.split(part)
        if len(pieces) > 1:
            return tuple(c for piece in pieces for c in self._part(piece))
        return self._words(part)

    def _words(self, part: str) -> tuple[str, ...]:
        words = [normalise(w) for w in _WORD_BREAKS.split(part)]
        words = [w for w in words if w]
        hits: list[str] = []
        start = 0
        while start < len(words):
            for end in range(len(words), start, -1):  # the longest run of words that is a key
                cats = self._mapping.get("".join(words[start:end]))
                if cats is not None:
                    hits.extend(cats)
                    start = end
                    break
            else:
                start += 1
        return tuple(hits)
