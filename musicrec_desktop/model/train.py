"""Training the encoder on the person's own songs: MoCo v2 + genre BCE, checkpoint every epoch.

``train_encoder`` reads the chunk cache, holds out a share of the labelled songs for evaluation,
and trains until the configured number of epochs. A checkpoint holds everything a resume needs; a
cancel saves one at the current position (between two steps), so ``resume=True`` continues with the
same steps, data and losses as a run that was never stopped.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader

from musicrec_desktop.errors import Cancelled, ModelError, NotReadyError
from musicrec_desktop.library.song import Song
from musicrec_desktop.model.checkpoint import (
    checkpoint_path,
    load_checkpoint,
    metrics_path,
    model_id,
    remove_stale_temporaries,
    save_checkpoint,
)
from musicrec_desktop.model.config import EncoderConfig, config_from_settings
from musicrec_desktop.model.data import (
    ChunkCropDataset,
    ChunkSource,
    EpochBatches,
    PairDataset,
    TrainSong,
    collate_songs,
    worker_init,
)
from musicrec_desktop.model.device import autocast, autocast_dtype, loader_workers, resolve_device
from musicrec_desktop.model.frontend import CQTFrontEnd
from musicrec_desktop.model.inference import ChunkEmbedder, song_means, song_vectors
from musicrec_desktop.model.metrics import genre_map, knn_accuracy
from musicrec_desktop.model.moco import MoCo, genre_loss, moco_loss
from musicrec_desktop.model.schedule import cosine_lr, key_momentum
from musicrec_desktop.model.sources import open_cache, song_labels, training_songs
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress
from musicrec_desktop.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class TrainReport:
    checkpoint: Path
    model_id: str
    epochs_run: int  # epochs completed in this call
    epoch: int  # epochs completed in total
    step: int  # optimiser steps in total
    genre_map: float  # of the last evaluation; NaN when too few held-out labelled songs
    knn_accuracy: float
    songs_trained: int
    songs_heldout: int
    batch_size: int  # after any halving for memory
    device: str
    loader_workers: int  # processes that fed the training loader
    samples_per_s: float  # songs (pairs of views) per second of training steps, data waits included
    data_wait_share: float  # share of the step time spent waiting for the loader
    history: list[dict] = field(default_factory=list)  # the epoch records of this call


def split_heldout(songs: Sequence[TrainSong], fraction: float,
                  held: Collection[str] | None = None) -> tuple[list[TrainSong], list[TrainSong]]:
    """(training songs, evaluation songs). ``fraction`` of the labelled songs, at least 2, are held
    out when there are 6 or more; which ones goes by a hash of the song key, so the same songs are
    held out run after run and a growing library keeps most of them.

    held: the keys a run being resumed held out (from its checkpoint). They stay out of training
    whatever the library has become since: a song trained on must never be evaluated on.
    """
    if held is None:
        labelled = sorted((s for s in songs if s.genres),
                          key=lambda s: hashlib.sha256(s.key.encode()).digest())
        count = max(2, round(fraction * len(labelled))) if fraction > 0 and len(labelled) >= 6 else 0
        held = {s.key for s in labelled[:count]}
    held = set(held)
    return [s for s in songs if s.key not in held], [s for s in songs if s.key in held]


def train_encoder(settings: Settings, dirs: DataDirs, songs: Sequence[Song] | None = None, *,
                  epochs: int | None = None, quick: bool = False, resume: bool = False,
                  device: str = "auto", batch_size: int | None = None, workers: int | None = None,
                  labels: Mapping[str, Sequence[str]] | None = None,
                  progress: ProgressCallback = ignore_progress, cancel: CancelToken | None = None,
                  open_source: Callable[[], ChunkSource] | None = None,
                  overrides: Mapping[str, object] | None = None) -> TrainReport:
    """Trains (or with ``resume`` continues) the encoder and returns how it went.

    songs: the library's songs; only those in the chunk cache take part (default: every cached song).
    labels: song key -> genre categories (default: the songs' genre tags through the settings'
    genre mapping; the configured library is read when neither songs nor labels are given).
    device: ``auto`` uses ``settings.device``.
    workers: loader processes (default: ``device.loader_workers`` of the ``num_workers`` setting).
    open_source: opens the chunk cache (default ``ChunkCache.open(cache_root(settings, dirs))``).
    overrides: ``EncoderConfig`` fields for a fresh run (tests and benchmarks use tiny models).
    Raises NotReadyError when the cache holds too few songs, ModelError when ``resume`` finds no
    checkpoint, Cancelled after saving a checkpoint when ``cancel`` fires.
    """
    open_source = open_source or open_cache(settings, dirs)
    path = checkpoint_path(dirs)
    remove_stale_temporaries(path.parent)  # a killed save leaves a checkpoint-sized file
    state = load_checkpoint(path) if resume else None
    if state is not None:
        config = EncoderConfig.from_dict(state["config"])
        if epochs is not None:
            config = config.replace(epochs=epochs)
    else:
        config = config_from_settings(settings, quick=quick, epochs=epochs)
        if batch_size is not None:
            config = config.replace(batch_size=batch_size)
        config = config.replace(**(overrides or {}))
    if labels is None:
        if songs is None:
            from musicrec_desktop.library import current_library

            songs = current_library(settings, dirs).local_songs
        labels = song_labels(settings, songs)
    all_songs = training_songs(open_source(), songs, labels, config.genre_categories)
    train, evaluation = split_heldout(all_songs, config.heldout_fraction,
                                      None if state is None else state.get("heldout"))
    if len(train) < 4:
        raise NotReadyError(f"the chunk cache holds {len(train)} training songs; at least 4 are needed "
                            "(build the cache first: musicrec build-cache)")
    torch_device = resolve_device(settings.device if device == "auto" else device)
    run = _Run(config, torch_device, train, evaluation, open_source,
               loader_workers(settings.num_workers, torch_device, workers), path, metrics_path(dirs),
               progress, cancel)
    if state is not None:
        run.restore(state)
    return run.fit()


class _Run:
    """One call of ``train_encoder``: the model, its optimiser and where in the epochs it stands."""

    def __init__(self, config: EncoderConfig, device: torch.device, train: list[TrainSong],
                 evaluation: list[TrainSong], open_source: Callable[[], ChunkSource], num_workers: int,
                 path: Path, log_path: Path, progress: ProgressCallback, cancel: CancelToken | None) -> None:
        self.device, self.train, self.evaluation = device, train, evaluation
        self.num_workers, self.path, self.log_path = num_workers, path, log_path
        self.progress, self.cancel = progress, cancel
        # Never larger than the library, and even so that batch norm can split it.
        batch = min(config.batch_size, len(train)) // 2 * 2
        self.config = config.replace(batch_size=batch)
        # The configured momentum is a ceiling: a short run needs a key encoder that keeps up.
        # Idempotent, so a resume (whose saved config holds the derived value) keeps it.
        steps = config.epochs * -(-self.per_epoch // batch)
        self.config = self.config.replace(momentum=key_momentum(steps, config.momentum))
        # The learning-rate schedule runs over songs seen, with epochs as long as at this batch
        # size: halving the batch for memory must not stretch or shift it.
        self.schedule_per_epoch = self.per_epoch
        torch.manual_seed(config.seed)
        self.model = MoCo(self.config).to(device)
        self.frontend = CQTFrontEnd().to(device)
        self.optimizer = torch.optim.SGD([p for p in self.model.parameters() if p.requires_grad],
                                         lr=config.learning_rate, momentum=config.sgd_momentum,
                                         weight_decay=config.weight_decay)
        self.scaler = torch.amp.GradScaler(device.type, enabled=autocast_dtype(device) == torch.float16)
        self.shuffle = torch.Generator().manual_seed(config.seed)  # key-encoder shuffles
        self.dataset = PairDataset(open_source, train, len(config.genre_categories))
        self.eval_dataset = ChunkCropDataset(open_source, evaluation, config.eval_crop_seconds)
        self.embedder = ChunkEmbedder(self.model, self.frontend, device)
        self.epoch, self.position, self.step, self.songs_seen = 0, 0, 0, 0
        self.last_eval = {"genre_map": math.nan, "knn_accuracy": math.nan}
        self.model_id = ""  # set by save() and restore()
        self._train_loader: DataLoader | None = None
        self._batches: EpochBatches | None = None

    # -- state -----------------------------------------------------------------------------------
    def restore(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.config = self.config.replace(batch_size=state["config"]["batch_size"])
        self.epoch, self.position = state["epoch"], state["position"]
        self.step, self.songs_seen = state["step"], state["scheduler"]["songs_seen"]
        self.schedule_per_epoch = state["scheduler"]["songs_per_epoch"]
        self.last_eval = state.get("last_eval", self.last_eval)
        self.model_id = state["model_id"]
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        self.shuffle.set_state(rng["shuffle"])
        if self.device.type == "cuda" and rng.get("cuda") is not None:
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        _truncate_log(self.log_path, self.step)
        log.info("resuming the encoder at epoch %d, step %d", self.epoch, self.step)

    def save(self) -> None:
        weights = {f"backbone_q.{k}": v for k, v in self.model.backbone_q.state_dict().items()}
        weights.update({f"genre_head.{k}": v for k, v in self.model.genre_head.state_dict().items()})
        self.model_id = model_id(self.config.backbone, weights)
        save_checkpoint(self.path, {
            "model": self.model.state_dict(),  # query and key encoders, queue, genre head
            "model_id": self.model_id,
            "optimizer": self.optimizer.state_dict(),
            "scheduler": {"songs_seen": self.songs_seen, "songs_per_epoch": self.schedule_per_epoch},
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "position": self.position, "step": self.step,
            "last_eval": self.last_eval,
            "rng": {"torch": torch.get_rng_state(), "shuffle": self.shuffle.get_state(),
                    "cuda": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None},
            "config": self.config.to_dict(),
            "heldout": sorted(s.key for s in self.evaluation),  # a resume keeps them out of training
        })

    # -- the loop --------------------------------------------------------------------------------
    @property
    def per_epoch(self) -> int:
        return EpochBatches.per_epoch(len(self.train), self.config.batch_size)

    @property
    def total_songs(self) -> int:
        return self.config.epochs * self.per_epoch

    def _learning_rate(self) -> float:
        per_epoch = self.schedule_per_epoch
        return cosine_lr(self.songs_seen, self.config.epochs * per_epoch,
                         self.config.warmup_epochs * per_epoch, self.config.learning_rate)

    def fit(self) -> TrainReport:
        start_epoch, start_songs = self.epoch, self.songs_seen
        meter = RateMeter(self.total_songs, self.songs_seen)
        history, waited, busy = [], 0.0, 0.0
        try:
            while self.epoch < self.config.epochs:
                t0 = time.monotonic()
                wait, total = self._epoch(meter)
                waited, busy = waited + wait, busy + total
                record = {"kind": "epoch", "epoch": self.epoch + 1, "step": self.step,
                          "seconds": round(time.monotonic() - t0, 3),
                          "data_wait_share": wait / total if total else 0.0, **self._evaluate()}
                self.epoch, self.position = self.epoch + 1, 0
                self._log(record)
                history.append(record)
                self.save()
                log.info("encoder epoch %d/%d: genre mAP %.3f, k-NN accuracy %.3f", self.epoch,
                         self.config.epochs, record["genre_map"], record["knn_accuracy"])
        except Cancelled:
            self.save()
            log.info("encoder training cancelled at epoch %d, step %d; checkpoint saved",
                     self.epoch, self.step)
            raise
        if self.epoch == start_epoch and not self.path.exists():
            self.save()
        return TrainReport(
            checkpoint=self.path, model_id=self.model_id, epochs_run=self.epoch - start_epoch,
            epoch=self.epoch, step=self.step, genre_map=self.last_eval["genre_map"],
            knn_accuracy=self.last_eval["knn_accuracy"], songs_trained=len(self.train),
            songs_heldout=len(self.evaluation), batch_size=self.config.batch_size, device=str(self.device),
            loader_workers=self.num_workers,
            samples_per_s=(self.songs_seen - start_songs) / busy if busy > 0 else 0.0,
            data_wait_share=waited / busy if busy else 0.0, history=history)

    def _epoch(self, meter: RateMeter) -> tuple[float, float]:
        """Trains from the current position to the end of the epoch; returns (data wait, total) s."""
        waited = total = 0.0
        while self.position < self.per_epoch:
            times = self._steps_or_none(meter)
            if times is None:
                self._halve_batch()  # outside the handler, whose traceback holds the step's tensors
                continue
            waited, total = waited + times[0], total + times[1]
        return waited, total

    def _steps_or_none(self, meter: RateMeter) -> tuple[float, float] | None:
        """``_steps``, or None when a step ran out of memory."""
        try:
            return self._steps(meter)
        except torch.OutOfMemoryError:
            return None

    def _halve_batch(self) -> None:
        """After running out of memory in a step: go on with half the batch. That step's momentum
        update and queue keys (if it got that far) are kept; its optimiser step never happened.
        The learning rate goes on along the same curve of songs seen (``schedule_per_epoch``)."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if self.config.batch_size <= 4:
            raise ModelError(f"out of memory on {self.device} even with a batch of {self.config.batch_size}")
        # The songs already seen in this epoch stay seen: the loader restarts at the same position.
        half = self.config.batch_size // 2 // 2 * 2
        log.warning("out of memory on %s with a batch of %d songs; going on with %d",
                    self.device, self.config.batch_size, half)
        self.config = self.config.replace(batch_size=half)

    def _loader(self) -> DataLoader:
        """The training loader, made once: its workers persist across epochs."""
        if self._train_loader is None:
            crops = (self.config.crop_min_seconds, self.config.crop_max_seconds)
            self._batches = EpochBatches(len(self.train), self.config.batch_size, self.epoch,
                                         self.config.seed, crops)
            self._train_loader = DataLoader(
                self.dataset, batch_sampler=self._batches, num_workers=self.num_workers,
                pin_memory=self.device.type == "cuda", worker_init_fn=worker_init,
                # Two batches ahead per worker: with 8 workers and 15 s crops that is already
                # 16 batches (up to 4 GB at batch 128) waiting in memory.
                persistent_workers=self.num_workers > 0, prefetch_factor=2 if self.num_workers else None)
        self._batches.reset(self.epoch, self.position, self.config.batch_size)
        return self._train_loader

    def _steps(self, meter: RateMeter) -> tuple[float, float]:
        waited = total = 0.0
        self.model.train()
        batches = iter(self._loader())
        while True:
            if self.cancel is not None:
                self.cancel.check()
            t0 = time.monotonic()
            try:
                view_q, view_k, targets, labelled, songs = next(batches)
            except StopIteration:
                return waited, total
            t1 = time.monotonic()
            parts = self._step(view_q, view_k, targets, labelled, songs)
            n = view_q.shape[0]
            self.position, self.step, self.songs_seen = self.position + n, self.step + 1, self.songs_seen + n
            t2 = time.monotonic()
            waited, total = waited + (t1 - t0), total + (t2 - t0)
            record = {"kind": "step", "epoch": self.epoch + 1, "step": self.step,
                      "songs_seen": self.songs_seen, **parts,
                      "samples_per_s": n / (t2 - t0), "data_wait": t1 - t0}
            self._log(record)
            self.progress(meter.report(
                "encoder", self.songs_seen, f"epoch {self.epoch + 1}/{self.config.epochs}",
                epoch=self.epoch + 1, step=self.step, **parts, samples_per_s=record["samples_per_s"]))

    def _step(self, view_q: torch.Tensor, view_k: torch.Tensor, targets: torch.Tensor,
              labelled: torch.Tensor, songs: torch.Tensor) -> dict[str, float]:
        lr = self._learning_rate()
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        dev = self.device
        images_q = self.frontend(view_q.to(dev, non_blocking=True), self.shuffle)  # N x 1 x bins x frames
        images_k = self.frontend(view_k.to(dev, non_blocking=True), self.shuffle)
        targets, labelled = targets.to(dev, non_blocking=True), labelled.to(dev, non_blocking=True)
        with autocast(dev):
            out = self.model(images_q, images_k, self.shuffle, songs)
        contrastive = moco_loss(out.logits)
        genre = genre_loss(out.genre_logits, targets, labelled)
        loss = self.config.moco_weight * contrastive + self.config.genre_weight * genre
        if not torch.isfinite(loss):
            raise ModelError(f"the training loss became {loss.item()} at step {self.step + 1}; "
                             "lower the learning rate")
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"loss": loss.item(), "moco": contrastive.item(), "genre": genre.item(), "lr": lr}

    def _evaluate(self) -> dict[str, float]:
        """Genre mAP and k-NN accuracy on the held-out labelled songs (NaN when fewer than 2)."""
        if len(self.evaluation) < 2:
            return dict(self.last_eval)
        loader = DataLoader(self.eval_dataset, batch_size=8, num_workers=self.num_workers,
                            collate_fn=collate_songs, worker_init_fn=worker_init)
        waves, owners = [], []
        for batch in loader:
            for index, chunks in batch:
                waves.extend(chunks)
                owners.extend([index] * len(chunks))
        vectors, probabilities = self.embedder(waves)
        n = len(self.evaluation)
        targets = np.zeros((n, len(self.config.genre_categories)), dtype=np.float32)
        for i, song in enumerate(self.evaluation):
            targets[i, list(song.genres)] = 1.0
        self.last_eval = {
            "genre_map": genre_map(song_means(probabilities, owners, n), targets),
            "knn_accuracy": knn_accuracy(song_vectors(vectors, owners, n), targets, self.config.knn_k),
        }
        return dict(self.last_eval)

    def _log(self, record: dict) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                                 for k, v in record.items()}) + "\n")


def _truncate_log(path: Path, step: int) -> None:
    """Drops log lines of steps after ``step`` (written after the checkpoint a resume starts from)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= step]
    path.write_text("".join(line + "\n" for line in kept), encoding="utf-8")
