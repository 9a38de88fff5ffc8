"""Where the encoder's songs come from: the chunk cache's entries joined with the library's labels."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence

from musicrec_desktop.library.song import Song
from musicrec_desktop.model.data import ChunkSource, TrainSong
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings


def open_cache(settings: Settings, dirs: DataDirs) -> Callable[[], ChunkSource]:
    """A picklable function that opens the configured chunk cache (in each loader worker)."""
    from musicrec_desktop.audio.cache import ChunkCache, cache_root

    return functools.partial(ChunkCache.open, cache_root(settings, dirs))


def song_labels(settings: Settings, songs: Iterable[Song]) -> dict[str, list[str]]:
    """song key -> genre categories through the settings' genre mapping (unlabelled songs left out)."""
    from musicrec_desktop.library.genres import GenreMapper

    return GenreMapper.from_settings(settings).labels(songs)


def training_songs(source: ChunkSource, songs: Sequence[Song] | None, labels: Mapping[str, Sequence[str]],
                   categories: Sequence[str]) -> list[TrainSong]:
    """The cached songs (of ``songs`` when given) with their chunk lengths and genre indexes, in
    the cache's order. Categories unknown to ``categories`` are ignored."""
    wanted = None if songs is None else {s.key for s in songs}
    index = {c: i for i, c in enumerate(categories)}
    result = []
    for entry in source.entries():
        if wanted is not None and entry.song_key not in wanted:
            continue
        if not entry.chunk_seconds:
            continue
        genres = tuple(sorted({index[c] for c in labels.get(entry.song_key, ()) if c in index}))
        result.append(TrainSong(entry.song_key, tuple(entry.chunk_seconds), genres))
    return result
