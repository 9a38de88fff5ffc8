"""Song embeddings with the chosen encoder backend, written to the embeddings store.

A backend trained on the chunk cache embeds the cached chunks; a pretrained one listens to the song
files directly (``listening``: only the spans it uses are decoded, and no cache is needed). A song's
vector is the mean of its chunk (span) vectors, L2-normalised; a backend's extra outputs are plain
per-song means. Vectors are stored under the backend's model id, so vectors of another encoder are
never mixed in. Songs that already have a vector of this model are skipped: a re-run embeds only
new songs, and new songs never need retraining. The model becomes the store's current one for its
backend once every song has its vector, so a cancelled run never leaves a half-embedded library
current.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from torch.utils.data import DataLoader

from musicrec_desktop.encoders.base import EncoderBackend
from musicrec_desktop.encoders.choice import open_backend
from musicrec_desktop.encoders.listening import ListeningDataset, SongFile, Unheard, listening_plan
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.model.data import ChunkCropDataset, ChunkSource, collate_songs, worker_init
from musicrec_desktop.model.device import loader_workers, resolve_device
from musicrec_desktop.model.inference import song_means, song_vectors
from musicrec_desktop.model.sources import open_cache, training_songs
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore

log = logging.getLogger(__name__)

SONGS_PER_BATCH = 8  # songs decoded per loader batch; their chunks are embedded together


@dataclass
class EmbedReport:
    model_id: str
    dim: int
    embedded: int  # songs embedded in this call
    up_to_date: int  # songs that already had a vector of this encoder
    songs_per_s: float
    device: str
    backend: str = "moco"
    unheard: dict[str, int] = field(default_factory=dict)  # reason -> songs whose file gave no audio


def embed_songs(settings: Settings, dirs: DataDirs, songs: Sequence[Song] | None = None, *,
                device: str = "auto", workers: int | None = None,
                progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None,
                open_source: Callable[[], ChunkSource] | None = None,
                backend: EncoderBackend | None = None) -> EmbedReport:
    """Embeds every song (of ``songs`` when given, else of the library as last read; for a backend
    trained on the chunk cache, every cached one) that has no vector of the chosen backend.
    ``open_source``: where the chunks come from (default: the chunk cache, for a trained backend).

    workers: loader processes (default: ``device.loader_workers`` of the ``num_workers`` setting).
    backend: default the one the ``encoder`` setting chooses.
    Raises NotReadyError when the backend cannot run (no trained encoder, say), Cancelled when
    ``cancel`` fires (the vectors stored so far are kept and the next run goes on from there).
    """
    backend = backend or open_backend(settings, dirs)
    why_not = backend.unavailable()
    if why_not:
        raise NotReadyError(why_not)
    backend.load(device)
    model_id = backend.model_id
    # the cache when the encoder was trained on it (or a caller hands a source), else the files
    from_cache = backend.needs_training or open_source is not None
    if from_cache:
        open_source = open_source or open_cache(settings, dirs)
        candidates: list = training_songs(open_source(), songs, {}, ())
    else:
        candidates = list(_local_files(settings, dirs, songs).values())
    unheard: Counter[str] = Counter()
    with EmbeddingStore(dirs.embeddings_db) as store:
        describe = getattr(backend, "describe", None)
        store.register_model(model_id, backend.dimension, describe() if describe else backend.title)
        done = store.keys(model_id)
        todo = [s for s in candidates if s.key not in done]
        meter = RateMeter(len(todo))
        started, embedded = time.monotonic(), 0
        loader_device = resolve_device(backend.device)
        dataset = (ChunkCropDataset(open_source, todo, None) if from_cache
                   else ListeningDataset(todo, listening_plan(backend)))
        loader = DataLoader(dataset, batch_size=SONGS_PER_BATCH,
                            num_workers=loader_workers(settings.num_workers, loader_device, workers),
                            collate_fn=collate_songs, worker_init_fn=worker_init)
        for got in loader:
            if cancel is not None:
                cancel.check()
            batch = _heard(got, todo, unheard)
            waves = [chunk for _, chunks in batch for chunk in chunks]
            owners = [i for i, (_, chunks) in enumerate(batch) for _ in chunks]
            out = backend.embed(waves) if waves else None
            if out is not None:
                per_song = song_vectors(out.vectors, owners, len(batch))
                extras = {name: song_means(values, owners, len(batch)) for name, values in out.extras.items()}
                if cancel is not None:
                    cancel.check()  # again before storing, so a cancel keeps nothing half done
                keys = [todo[index].key for index, _ in batch]
                store.put(model_id, list(zip(keys, per_song, strict=True)))
                for name, values in extras.items():
                    store.put_extras(model_id, name, zip(keys, values, strict=True))
                embedded += len(batch)
            progress(meter.report("embed", embedded + unheard.total(), f"{embedded}/{len(todo)} songs"))
        elapsed = time.monotonic() - started
        if embedded:
            refit = getattr(backend, "refit", None)  # optional: vectors that depend on the whole library
            if refit is not None:
                refit(store, model_id)
            # this machine's speed, for `musicrec backends` (decoding included)
            store.put_measurements(model_id, {"songs_per_s": embedded / elapsed if elapsed > 0 else None})
        store.set_current(model_id, backend.name)
    up_to_date = len(candidates) - len(todo)
    log.info("embedded %d songs with %s (%d already up to date, %d unheard)", embedded, model_id,
             up_to_date, unheard.total())
    return EmbedReport(model_id, backend.dimension, embedded, up_to_date,
                       embedded / elapsed if elapsed > 0 and embedded else 0.0, backend.device,
                       backend.name, dict(unheard))


def _local_files(settings: Settings, dirs: DataDirs, songs: Sequence[Song] | None) -> dict[str, SongFile]:
    """The songs (default: the library as last read) whose files are on this machine, by key."""
    if songs is None:
        from musicrec_desktop.library import current_library

        songs = current_library(settings, dirs).local_songs
    return {s.key: SongFile.of(s) for s in songs if s.path is not None and s.available}


def _heard(batch: list, todo: Sequence, unheard: Counter[str]) -> list:
    """The songs of a loader batch that gave audio; the others are counted by reason and logged."""
    heard = []
    for index, waves in batch:
        if isinstance(waves, Unheard):
            unheard[waves.reason] += 1
            log.warning("not embedded: %s (%s: %s)", getattr(todo[index], "path", todo[index].key),
                        waves.reason, waves.detail)
        else:
            heard.append((index, waves))
    return heard
