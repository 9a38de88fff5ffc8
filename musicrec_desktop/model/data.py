"""What the encoder reads from the chunk cache: training pairs, evaluation crops, whole chunks.

The datasets depend only on the cache's reading methods (``ChunkSource``) and open the cache
lazily in each loader worker, so they pickle cheaply into worker processes.

Crop lengths vary from batch to batch, not within one: ``EpochBatches`` draws one length per batch
and every item of that batch is cut to it, so a batch stacks without padding or waste. Every random
choice of an item is seeded by (run seed, epoch, position in the epoch): a run resumed in the middle
of an epoch, or with a smaller batch after running out of memory, sees the same data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np
import torch
from torch.utils.data import Dataset

from musicrec_desktop.constants import CQT_HOP, SAMPLE_RATE
from musicrec_desktop.lifetime import die_with_parent
from musicrec_desktop.model.augment import MIXUP_P, augment_view


class ChunkSource(Protocol):
    """The part of ``audio.cache.ChunkCache`` the encoder uses."""

    def entries(self) -> list: ...  # cached songs: .song_key, .chunk_seconds

    def load_chunk(self, key: str, index: int) -> np.ndarray: ...  # (2, n) float32

    def load_crop(self, key: str, index: int, start_s: float, duration_s: float) -> np.ndarray: ...


@dataclass(frozen=True)
class TrainSong:
    key: str
    chunk_seconds: tuple[float, ...]  # length of each cached chunk
    genres: tuple[int, ...] = ()  # indexes into the genre categories; empty = unlabelled


class ItemSpec(NamedTuple):
    song: int  # index into the dataset's songs
    samples: int  # crop length of this item's batch
    seed: int  # seeds every random choice made for this item


def fit_length(wave: np.ndarray, samples: int) -> np.ndarray:
    """(channels, n) -> (channels, samples): cut, or zero-pad at the end (chunks shorter than a crop)."""
    n = wave.shape[-1]
    if n >= samples:
        return np.ascontiguousarray(wave[..., :samples], dtype=np.float32)
    out = np.zeros((*wave.shape[:-1], samples), dtype=np.float32)
    out[..., :n] = wave
    return out


def _random_crop(source: ChunkSource, song: TrainSong, samples: int, rng: np.random.Generator) -> np.ndarray:
    chunk = int(rng.integers(len(song.chunk_seconds)))
    duration = samples / SAMPLE_RATE
    start = float(rng.uniform(0.0, max(song.chunk_seconds[chunk] - duration, 0.0)))
    return fit_length(source.load_crop(song.key, chunk, start, duration), samples)


class _LazySource:
    """Opens the cache on first use inside each worker process."""

    def __init__(self, open_source: Callable[[], ChunkSource]) -> None:
        self._open = open_source
        self._source: ChunkSource | None = None

    def __getstate__(self) -> dict:
        return {"_open": self._open, "_source": None}

    @property
    def source(self) -> ChunkSource:
        if self._source is None:
            self._source = self._open()
        return self._source


class PairDataset(Dataset):
    """Item ``ItemSpec`` -> (view_q (n,), view_k (n,), targets (C,), labelled (), song ())
    float32/float32/float32/bool/int64: two augmented views of one song, each from a random chunk
    and a random crop, and the song's index (MoCo keeps a song's own keys out of its negatives)."""

    def __init__(self, open_source: Callable[[], ChunkSource], songs: Sequence[TrainSong],
                 n_categories: int) -> None:
        self._lazy = _LazySource(open_source)
        self.songs = list(songs)
        self.n_categories = n_categories
        self._by_genre: dict[int, list[int]] = {}
        for i, song in enumerate(self.songs):
            for g in song.genres:
                self._by_genre.setdefault(g, []).append(i)

    def __len__(self) -> int:
        return len(self.songs)

    def __getitem__(self, spec: ItemSpec) -> tuple[torch.Tensor, ...]:
        rng = np.random.default_rng(spec.seed)
        song = self.songs[spec.song]
        views = [augment_view(_random_crop(self._lazy.source, song, spec.samples, rng),
                              self._partner_crop(spec, rng), rng) for _ in range(2)]
        targets = np.zeros(self.n_categories, dtype=np.float32)
        targets[list(song.genres)] = 1.0
        return (torch.from_numpy(views[0]), torch.from_numpy(views[1]), torch.from_numpy(targets),
                torch.tensor(bool(song.genres)), torch.tensor(spec.song, dtype=torch.long))

    def _partner_crop(self, spec: ItemSpec, rng: np.random.Generator) -> np.ndarray | None:
        """A crop of another song sharing a genre, for mixup half of the time; None otherwise."""
        if rng.random() >= MIXUP_P:
            return None
        song = self.songs[spec.song]
        candidates = [i for g in song.genres for i in self._by_genre[g] if i != spec.song]
        if not candidates:
            return None
        partner = self.songs[candidates[int(rng.integers(len(candidates)))]]
        return _random_crop(self._lazy.source, partner, spec.samples, rng)


def crop_samples(seconds: float) -> int:
    """A crop length in samples, rounded to whole CQT frames."""
    return max(1, round(seconds * SAMPLE_RATE / CQT_HOP)) * CQT_HOP


class EpochBatches:
    """The batches of one epoch, from song ``start`` on: a seeded order of the songs cut into
    batches, each with one crop length drawn from [min_seconds, max_seconds].

    The rest after the full batches is a last, smaller batch when it holds at least
    ``MIN_LAST_BATCH`` songs (cut to an even number, so that batch norm can still split it);
    fewer are left out this epoch (the next epoch's order differs).
    """

    MIN_LAST_BATCH = 4

    def __init__(self, n_songs: int, batch_size: int, epoch: int, seed: int,
                 crop_seconds: tuple[float, float], start: int = 0) -> None:
        self.n_songs, self.seed, self.crop_seconds = n_songs, seed, crop_seconds
        self.reset(epoch, start, batch_size)

    def reset(self, epoch: int, start: int, batch_size: int) -> None:
        """Moves to another epoch, position or batch size. A data loader with persistent workers
        keeps this object and iterates it again: its workers are not restarted every epoch."""
        self.epoch, self.start, self.batch_size = epoch, start, batch_size
        self.order = np.random.default_rng([self.seed, epoch]).permutation(self.n_songs)

    @classmethod
    def per_epoch(cls, n_songs: int, batch_size: int) -> int:
        """Songs seen per epoch."""
        full = n_songs // batch_size * batch_size
        rest = (n_songs - full) // 2 * 2
        return full + (rest if rest >= cls.MIN_LAST_BATCH else 0)

    def __len__(self) -> int:
        return -(-max(self.per_epoch(self.n_songs, self.batch_size) - self.start, 0) // self.batch_size)

    def __iter__(self) -> Iterator[list[ItemSpec]]:
        end = self.per_epoch(self.n_songs, self.batch_size)
        for first in range(self.start, end, self.batch_size):
            # Seeded by the batch's first position, not its number: the same songs get the same
            # crops whatever batch size came before.
            rng = np.random.default_rng([self.seed, self.epoch, first])
            samples = crop_samples(rng.uniform(*self.crop_seconds))
            yield [ItemSpec(int(self.order[p]), samples, int(rng.integers(2**63)))
                   for p in range(first, min(first + self.batch_size, end))]


class ChunkCropDataset(Dataset):
    """Song index -> (index, list of (n,) float32 mono chunks): the centre crop of ``seconds`` of
    every chunk (the per-epoch evaluation), or the whole chunks when ``seconds`` is None (embedding;
    chunks may then differ in length and are batched by length later)."""

    def __init__(self, open_source: Callable[[], ChunkSource], songs: Sequence[TrainSong],
                 seconds: float | None) -> None:
        self._lazy = _LazySource(open_source)
        self.songs = list(songs)
        self.seconds = seconds

    def __len__(self) -> int:
        return len(self.songs)

    def __getitem__(self, index: int) -> tuple[int, list[np.ndarray]]:
        song = self.songs[index]
        source = self._lazy.source
        if self.seconds is None:
            chunks = [source.load_chunk(song.key, i).mean(axis=0) for i in range(len(song.chunk_seconds))]
        else:
            samples = crop_samples(self.seconds)
            chunks = []
            for i, length in enumerate(song.chunk_seconds):
                start = max((length - self.seconds) / 2.0, 0.0)
                crop = source.load_crop(song.key, i, start, self.seconds).mean(axis=0)
                chunks.append(fit_length(crop, samples))
        return index, [c.astype(np.float32) for c in chunks]


def worker_init(_: int) -> None:
    """Loader workers end with their parent, and decode and augment with numpy (torch threads in
    them would fight the model)."""
    die_with_parent()
    torch.set_num_threads(1)


def collate_songs(items: list[tuple[int, list[np.ndarray]]]) -> list[tuple[int, list[np.ndarray]]]:
    """Keeps songs as they are: chunks of different lengths are grouped later, by length."""
    return items
