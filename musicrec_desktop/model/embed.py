"""Song embeddings with the trained encoder, written to the embeddings store.

A song's vector is the mean of its chunk embeddings (the query backbone's pooled output over the
whole 30 s chunk), L2-normalised. Vectors are stored under the encoder's model id (a hash of its
weights, ``checkpoint.model_id``), so vectors of another encoder are never mixed in. Songs that
already have a vector of this encoder are skipped: a re-run embeds only new songs, and new songs
never need retraining. The model becomes the store's current one once every song has its vector,
so a cancelled run never leaves a half-embedded library current.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch.utils.data import DataLoader

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.model.checkpoint import checkpoint_path, load_checkpoint
from musicrec_desktop.model.config import EncoderConfig
from musicrec_desktop.model.data import ChunkCropDataset, ChunkSource, collate_songs, worker_init
from musicrec_desktop.model.device import loader_workers, resolve_device
from musicrec_desktop.model.frontend import CQTFrontEnd
from musicrec_desktop.model.inference import ChunkEmbedder, song_vectors
from musicrec_desktop.model.moco import MoCo
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


def load_encoder(dirs: DataDirs, device: torch.device) -> tuple[MoCo, str]:
    """The trained encoder in evaluation mode on ``device``, and its model id."""
    path = checkpoint_path(dirs)
    if not path.exists():
        raise NotReadyError(f"{path}: no trained encoder yet (run: musicrec train-encoder)")
    state = load_checkpoint(path)
    model = MoCo(EncoderConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state["model_id"]


def embed_songs(settings: Settings, dirs: DataDirs, songs: Sequence[Song] | None = None, *,
                device: str = "auto", workers: int | None = None,
                progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None,
                open_source: Callable[[], ChunkSource] | None = None) -> EmbedReport:
    """Embeds every cached song (of ``songs`` when given) that has no vector of the current encoder.

    workers: loader processes (default: ``device.loader_workers`` of the ``num_workers`` setting).
    Raises NotReadyError without a trained encoder, Cancelled when ``cancel`` fires (the vectors
    stored so far are kept and the next run goes on from there).
    """
    open_source = open_source or open_cache(settings, dirs)
    torch_device = resolve_device(settings.device if device == "auto" else device)
    model, model_id = load_encoder(dirs, torch_device)
    embedder = ChunkEmbedder(model, CQTFrontEnd().to(torch_device), torch_device)
    cached = training_songs(open_source(), songs, {}, ())
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model(model_id, model.embedding_dim,
                             f"{model.config.backbone} encoder, {dirs.models / 'encoder'}")
        done = store.keys(model_id)
        todo = [s for s in cached if s.key not in done]
        meter = RateMeter(len(todo))
        started, embedded = time.monotonic(), 0
        loader = DataLoader(ChunkCropDataset(open_source, todo, None), batch_size=SONGS_PER_BATCH,
                            num_workers=loader_workers(settings.num_workers, torch_device, workers),
                            collate_fn=collate_songs, worker_init_fn=worker_init)
        for batch in loader:
            if cancel is not None:
                cancel.check()
            waves = [chunk for _, chunks in batch for chunk in chunks]
            owners = [i for i, (_, chunks) in enumerate(batch) for _ in chunks]
            vectors, _ = embedder(waves)
            per_song = song_vectors(vectors, owners, len(batch))
            if cancel is not None:
                cancel.check()  # again before storing, so a cancel keeps nothing half done
            store.put(model_id, [(todo[index].key, per_song[i]) for i, (index, _) in enumerate(batch)])
            embedded += len(batch)
            progress(meter.report("embed", embedded, f"{embedded}/{len(todo)} songs"))
        store.set_current(model_id)
    elapsed = time.monotonic() - started
    up_to_date = len(cached) - len(todo)
    log.info("embedded %d songs with %s (%d already up to date)", embedded, model_id, up_to_date)
    return EmbedReport(model_id, model.embedding_dim, embedded, up_to_date,
                       embedded / elapsed if elapsed > 0 and embedded else 0.0, str(torch_device))
