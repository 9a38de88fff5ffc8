"""Backend ``moco``: the encoder trained on the person's own library (CQT, ResNet, MoCo v2 with a
genre head; ``musicrec_desktop.model``). Its model id is a hash of the trained weights, so a
retrained encoder's vectors never mix with the old ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from musicrec_desktop.encoders.base import Embedded
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.settings import Settings

# The settings the training depends on: a change of any of them retrains the encoder.
TRAINING_SETTINGS = ("backbone", "epochs", "batch_size", "learning_rate", "warmup_epochs",
                     "moco_weight", "genre_weight", "moco_queue", "moco_momentum",
                     "moco_temperature", "seed", "genre_categories", "genre_mapping")


def load_encoder(dirs: DataDirs, device: Any) -> tuple[Any, str]:
    """The trained encoder (``MoCo``) in evaluation mode on ``device``, and its model id."""
    from musicrec_desktop.model.checkpoint import checkpoint_path, load_checkpoint
    from musicrec_desktop.model.config import EncoderConfig
    from musicrec_desktop.model.moco import MoCo

    path = checkpoint_path(dirs)
    if not path.exists():
        raise NotReadyError(f"{path}: no trained encoder yet (run: musicrec train-encoder)")
    state = load_checkpoint(path)
    model = MoCo(EncoderConfig.from_dict(state["config"]))
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state["model_id"]


class MocoBackend:
    name = "moco"
    title = "Trained on your library (MoCo)"
    needs_training = True

    def __init__(self, settings: Settings, dirs: DataDirs) -> None:
        self.settings, self.dirs = settings, dirs
        self._embedder: Any = None
        self._model_id = ""

    def unavailable(self) -> str | None:
        from musicrec_desktop.model.checkpoint import checkpoint_path

        path = checkpoint_path(self.dirs)
        return None if path.exists() else f"{path}: no trained encoder yet (run: musicrec train-encoder)"

    def load(self, device: str) -> None:
        from musicrec_desktop.model.device import resolve_device
        from musicrec_desktop.model.frontend import CQTFrontEnd
        from musicrec_desktop.model.inference import ChunkEmbedder

        torch_device = resolve_device(self.settings.device if device == "auto" else device)
        model, self._model_id = load_encoder(self.dirs, torch_device)
        self._embedder = ChunkEmbedder(model, CQTFrontEnd().to(torch_device), torch_device)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return self._embedder.model.embedding_dim

    @property
    def device(self) -> str:
        return str(self._embedder.device)

    def disk_bytes(self) -> int | None:
        """The trained encoder's checkpoint (None before the first training)."""
        from musicrec_desktop.model.checkpoint import checkpoint_path

        path = checkpoint_path(self.dirs)
        return path.stat().st_size if path.exists() else None

    def describe(self) -> str:
        return f"{self._embedder.model.config.backbone} encoder, {self.dirs.models / 'encoder'}"

    def embed(self, waves: Sequence[np.ndarray]) -> Embedded:
        vectors, genres = self._embedder(waves)
        return Embedded(vectors, {"genres": genres})

    def settings_keys(self) -> tuple[str, ...]:
        return TRAINING_SETTINGS

    def train(self, songs: Sequence[Any], *, quick: bool, resume_allowed: bool, device: str,
              progress: ProgressCallback, cancel: CancelToken) -> Any:
        from musicrec_desktop.model.checkpoint import checkpoint_path
        from musicrec_desktop.model.train import train_encoder

        resume = resume_allowed and checkpoint_path(self.dirs).exists()
        return train_encoder(self.settings, self.dirs, songs, quick=quick, resume=resume,
                             device=device, progress=progress, cancel=cancel)
