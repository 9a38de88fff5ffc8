"""What an encoder backend is: the protocol every backend follows, and what ``embed`` returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback
from musicrec_desktop.settings import Settings


@dataclass
class Embedded:
    """What a backend makes of N waves."""

    vectors: np.ndarray  # N x D float32, one row per wave
    # optional per-wave outputs by name (e.g. "tags": N x T tag scores); averaged per song and kept
    # in the embeddings store beside the vectors
    extras: dict[str, np.ndarray] = field(default_factory=dict)


@runtime_checkable
class EncoderBackend(Protocol):
    """Song audio -> vectors. Constructed as ``Backend(settings, dirs)``: cheap, no torch, no
    weights read; ``load`` does the heavy part.

    The embed stage calls ``unavailable()``; when it is None, ``load(device)``; then ``model_id``
    and ``dimension``; then ``embed`` on batches of chunks. ``model_id`` names the vectors in the
    embeddings store: it must change whenever the vectors would (other weights, other settings).
    """

    name: ClassVar[str]  # what the ``encoder`` setting says: "moco"
    title: ClassVar[str]  # what the person reads: "Trained on your library (MoCo)"
    needs_training: ClassVar[bool]  # True: the encoder stage calls ``train`` before embedding

    def __init__(self, settings: Settings, dirs: DataDirs) -> None: ...

    def unavailable(self) -> str | None:
        """None when the backend can embed here; otherwise why not, in one line with what to do."""

    def load(self, device: str) -> None:
        """Reads the weights onto ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``)."""

    @property
    def model_id(self) -> str:
        """The id its vectors are stored under (after ``load``)."""

    @property
    def dimension(self) -> int:
        """D, the length of each vector (after ``load``)."""

    @property
    def device(self) -> str:
        """Where it runs (after ``load``), for the report."""

    def embed(self, waves: Sequence[np.ndarray]) -> Embedded:
        """Waves (each (n_i,) float32, mono, 16 kHz, lengths may differ) -> one row per wave."""

    # Optional, looked up with getattr: ``refit(store, model_id)``, called once a run has embedded
    # new songs, rewrites the vectors that depend on the whole library (``dsp`` z-scores its
    # features over every song).


class TrainableBackend(EncoderBackend, Protocol):
    """A backend with ``needs_training = True`` also trains on the person's chunk cache."""

    def train(self, songs: Sequence[Any], *, quick: bool, resume_allowed: bool, device: str,
              progress: ProgressCallback, cancel: CancelToken) -> Any:
        """Trains on ``songs`` (the library's local songs); returns a report dataclass whose
        fields become the stage's figures. ``resume_allowed``: an unfinished run of the same
        settings may be continued from its checkpoint."""

    def settings_keys(self) -> tuple[str, ...]:
        """The settings the training depends on (a change retrains)."""
