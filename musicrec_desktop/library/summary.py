"""What ``musicrec library`` reports about a library: counts a person can check at a glance."""

from __future__ import annotations

from collections import Counter
from typing import Any

from musicrec_desktop.library.genres import GenreMapper
from musicrec_desktop.library.song import LibraryScan

HALF_STARS = [i / 2 for i in range(11)]  # 0, 0.5, ... 5


def star_histogram(scan: LibraryScan) -> dict[str, int]:
    """Rated songs per half star ("0" .. "5"), the way the players draw ratings."""
    counts = Counter(round(s.rating * 10) / 2 for s in scan.songs if s.rating is not None)
    return {f"{stars:g}": counts.get(stars, 0) for stars in HALF_STARS}


def library_summary(scan: LibraryScan, mapper: GenreMapper, top: int = 10) -> dict[str, Any]:
    """A JSON-ready summary: sizes, ratings, genre categories and what was skipped."""
    labelled = mapper.labels(scan.songs)
    return {
        "source": scan.source,
        "location": str(scan.location) if scan.location else None,
        "songs": len(scan.songs),
        "local_files_present": len(scan.local_songs),
        "rated_songs": sum(1 for s in scan.songs if s.rating is not None),
        "played_songs": sum(1 for s in scan.songs if s.playcount > 0),
        "rating_histogram_stars": star_histogram(scan),
        "songs_per_genre_category": dict(mapper.per_category(scan.songs)),
        "songs_with_genre_category": len(labelled),
        "songs_without_genre": sum(1 for s in scan.songs if not s.genre.strip()),
        "top_unmapped_genres": dict(mapper.unmapped(scan.songs).most_common(top)),
        "skipped_rows": dict(scan.skipped.most_common()),
        "notes": dict(scan.notes.most_common()),
    }
