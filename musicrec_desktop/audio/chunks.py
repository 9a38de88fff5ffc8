"""Where in a song its cached chunks come from.

The rule, in song time (a CUE track's own span within its file):
- the first and last ``EDGE_SKIP_FRACTION`` of the song are left out (intros, fades);
- the usable middle gives ``min(CHUNKS_PER_SONG, usable // CHUNK_SECONDS)`` chunks of
  ``CHUNK_SECONDS``, spread evenly from its start to its end (never overlapping);
- a song whose middle is shorter than one chunk gives one chunk: the whole middle, widened
  towards the song's edges to at least ``MIN_CHUNK_SECONDS`` when the song is that long;
- a song shorter than ``MIN_CHUNK_SECONDS`` gives nothing (skipped as ``too_short``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from musicrec_desktop.constants import (
    CHUNK_SECONDS,
    CHUNKS_PER_SONG,
    CROP_MIN_SECONDS,
    EDGE_SKIP_FRACTION,
)

MIN_CHUNK_SECONDS = CROP_MIN_SECONDS  # the encoder's shortest crop; shorter chunks are useless

# Bumped whenever the rule above changes: entries made by another rule are re-cached.
LAYOUT_VERSION = 1


class ChunkSpan(NamedTuple):
    start_s: float  # offset into the file, seconds
    length_s: float


# What part of a song something listens to: (begin_s, end_s) of the song -> spans, in file time.
Plan = Callable[[float, float], list[ChunkSpan]]


def plan_chunks(begin_s: float, end_s: float) -> list[ChunkSpan]:
    """The chunks of a song that spans ``[begin_s, end_s)`` of its file, in file time."""
    duration = end_s - begin_s
    if duration < MIN_CHUNK_SECONDS:
        return []
    lo = begin_s + duration * EDGE_SKIP_FRACTION
    usable = duration * (1.0 - 2.0 * EDGE_SKIP_FRACTION)
    count = min(CHUNKS_PER_SONG, int(usable // CHUNK_SECONDS))
    if count == 0:
        length = min(duration, max(usable, MIN_CHUNK_SECONDS))
        centre = begin_s + duration / 2.0
        return [ChunkSpan(centre - length / 2.0, length)]
    if count == 1:
        return [ChunkSpan(lo + (usable - CHUNK_SECONDS) / 2.0, CHUNK_SECONDS)]
    step = (usable - CHUNK_SECONDS) / (count - 1)
    return [ChunkSpan(lo + i * step, CHUNK_SECONDS) for i in range(count)]
