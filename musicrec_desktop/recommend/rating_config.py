"""How the rating model is fitted and measured: one config, built from the settings once
(``RatingConfig.from_settings``); the rating model and its regressor families both read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from musicrec_desktop.settings import Settings


@dataclass(frozen=True)
class RatingConfig:
    epochs: int = 20  # settings.rating_epochs
    hidden: int = 64  # small: a few hundred ratings cannot support a wide layer
    dropout: float = 0.3  # on the input too, so no single embedding dimension dominates
    learning_rate: float = 1e-3
    weight_decay: float = 1e-2
    batch_size: int = 32
    folds: int = 5  # k-fold cross-validation for the report
    knn_k: int = 10  # neighbours of the k-NN baseline
    seed: int = 1234

    @classmethod
    def from_settings(cls, settings: Settings) -> RatingConfig:
        return cls(epochs=settings.rating_epochs, seed=settings.seed)
