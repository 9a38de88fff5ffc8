"""What a pretrained backend hears of each song, decoded straight from the music file.

A backend that learns nothing from the library has no use for the chunk cache: building it costs
an Ogg Vorbis encode of two minutes of audio a song (most of a first run's CPU time), and reading it
back a decode. Such a backend embeds from the song files instead, decoding only the spans it
listens to (its optional ``listening_spans(begin_s, end_s)``, by default the cache's own chunk
plan), so a first run needs no cache at all; the cache is built when an encoder trains on it.

Songs are read in loader worker processes; a song that cannot be read comes back as ``Unheard``
with the reason, and is reported, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from musicrec_desktop.audio.chunks import Plan, plan_chunks
from musicrec_desktop.audio.decode import SongSkipped, read_planned
from musicrec_desktop.library.song import Song


@dataclass(frozen=True)
class Unheard:
    """Why a song gave no audio: a cache skip code (``missing``, ``undecodable``...) and details."""

    reason: str
    detail: str = ""


@dataclass(frozen=True)
class SongFile:
    """The part of a library song a loader worker needs (picklable)."""

    key: str
    path: str
    beginning_s: float
    length_s: float | None

    @classmethod
    def of(cls, song: Song) -> SongFile:
        return cls(song.key, str(song.path), song.beginning_s, song.length_s)


def listening_plan(backend: object) -> Plan:
    """The spans ``backend`` listens to: its ``listening_spans``, else the cache's chunk plan."""
    return getattr(backend, "listening_spans", plan_chunks)


def hear(song: SongFile, plan: Plan) -> list[np.ndarray] | Unheard:
    """The song's planned spans as (n,) float32 mono 16 kHz waves, or why there are none."""
    try:
        read, last_error = read_planned(Path(song.path), song.beginning_s, song.length_s, plan)
    except SongSkipped as exc:
        return Unheard(exc.code, exc.detail)
    # Decoders raise many kinds of errors on damaged files; one bad file must not stop the run.
    except Exception as exc:  # noqa: BLE001
        return Unheard("decode_error", f"{type(exc).__name__}: {exc}"[:300])
    waves = [audio.mean(axis=1, dtype=np.float32) for _, audio in read if len(audio)]
    return waves if waves else Unheard("decode_error", last_error or "no audio decoded")


class ListeningDataset(Dataset):
    """Song index -> (index, waves or ``Unheard``), decoded from the song files."""

    def __init__(self, songs: Sequence[SongFile], plan: Plan) -> None:
        self.songs, self.plan = list(songs), plan

    def __len__(self) -> int:
        return len(self.songs)

    def __getitem__(self, index: int) -> tuple[int, list[np.ndarray] | Unheard]:
        return index, hear(self.songs[index], self.plan)
