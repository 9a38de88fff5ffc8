"""The encoder's resolved configuration: saved in every checkpoint, read back on resume and embed.

Settings say what the person asked for; ``EncoderConfig`` is what a run actually uses (quick mode,
a command-line batch size, a batch halved after running out of memory).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from musicrec_desktop.constants import CROP_MAX_SECONDS, CROP_MIN_SECONDS
from musicrec_desktop.settings import Settings


@dataclass(frozen=True)
class EncoderConfig:
    # Architecture (read back from the checkpoint, never from the settings, once trained)
    backbone: str = "resnet50"  # resnet50 -> 2048-d, resnet18 -> 512-d
    width: int = 64  # channels of the first stage; the embedding is width*32 (r50) or width*8 (r18)
    projection_dim: int = 128  # MoCo v2 head: Linear(d, d) -> ReLU -> Linear(d, 128)
    pooling: str = "mean"  # over the last feature map: "mean", or "meanstd" (x2 dimensions)
    genre_categories: tuple[str, ...] = ()  # outputs of the genre head, in this order
    # MoCo v2
    queue_size: int = 4096  # negative keys kept from earlier batches
    # key encoder = m * key + (1 - m) * query after each step; a ceiling: short runs use less
    # (schedule.key_momentum)
    momentum: float = 0.999
    temperature: float = 0.07
    # sub-batches of the shuffle-BN emulation (splitbn.py), as MoCo's 8-GPU reference: a query and
    # its key share 1/8 of their batch-norm statistics at batch 128 (4 sub-batches: 1/4)
    bn_splits: int = 8
    # Loss
    moco_weight: float = 0.6
    genre_weight: float = 0.4
    # Optimisation (SGD with momentum, as MoCo v2)
    batch_size: int = 128  # songs per step; two views each
    epochs: int = 100  # one epoch = every training song once
    learning_rate: float = 0.03
    warmup_epochs: int = 5  # linear warm-up, then cosine decay to 0
    weight_decay: float = 1e-4
    sgd_momentum: float = 0.9
    # Data
    crop_min_seconds: float = CROP_MIN_SECONDS  # one crop length per batch, drawn in this range
    crop_max_seconds: float = CROP_MAX_SECONDS
    heldout_fraction: float = 0.15  # labelled songs kept out of training for the per-epoch evaluation
    eval_crop_seconds: float = 10.0  # centre crop of each chunk used by the per-epoch evaluation
    knn_k: int = 5
    seed: int = 1234

    @property
    def embedding_dim(self) -> int:
        channels = self.width * (32 if self.backbone == "resnet50" else 8)
        return channels * (2 if self.pooling == "meanstd" else 1)

    def replace(self, **changes) -> EncoderConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EncoderConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["genre_categories"] = tuple(values.get("genre_categories", ()))
        return cls(**values)


# What ``--quick`` changes: a whole run on ~200 songs x 4 chunks in a few minutes on two CPU cores.
QUICK_OVERRIDES: dict = {
    "backbone": "resnet18",
    "batch_size": 32,
    "epochs": 6,
    "warmup_epochs": 1,
    "crop_min_seconds": 4.0,
    "crop_max_seconds": 6.0,
    "eval_crop_seconds": 6.0,
    "queue_size": 1024,  # a few epochs of keys; a longer queue would mostly hold stale keys
    "learning_rate": 0.06,
}


def config_from_settings(settings: Settings, *, quick: bool = False,
                         epochs: int | None = None) -> EncoderConfig:
    """The configuration a fresh run uses."""
    config = EncoderConfig(
        backbone=settings.backbone,
        genre_categories=tuple(settings.genre_categories),
        queue_size=settings.moco_queue,
        momentum=settings.moco_momentum,
        temperature=settings.moco_temperature,
        moco_weight=settings.moco_weight,
        genre_weight=settings.genre_weight,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        warmup_epochs=settings.warmup_epochs,
        seed=settings.seed,
    )
    if quick:
        config = config.replace(**QUICK_OVERRIDES)
    if epochs is not None:
        config = config.replace(epochs=epochs)
    return config
