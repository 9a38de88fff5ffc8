"""Backend ``mert``: a pretrained MERT (or any HuBERT-like audio model) through Hugging Face
``transformers``. Opt-in only: ``auto`` never chooses it, it runs only when the ``mert_model``
setting names a model, and it downloads nothing unless ``mert_download`` allows it (then it also
runs the code that comes with the model, as MERT-v1 needs: ``trust_remote_code``).

A chunk's vector is the model's hidden states averaged over time and over every layer (the
frozen-embedding recipe of the MERT paper's probes, without a probe per layer). Audio is resampled
from the cache's 16 kHz to the model's rate (its ``preprocessor_config.json``; 16 kHz without one)
and normalised the way its feature extractor says.
"""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from musicrec_desktop.constants import SAMPLE_RATE
from musicrec_desktop.encoders.base import Embedded
from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.settings import Settings

WINDOW_SECONDS = 10.0  # attention cost grows with the square of the length: chunks go in pieces


class MertBackend:
    name = "mert"
    title = "Pretrained MERT (transformers, opt-in)"
    needs_training = False

    def __init__(self, settings: Settings, dirs: DataDirs) -> None:
        self.settings = settings
        self._model: Any = None
        self._extractor: Any = None
        self._rate = SAMPLE_RATE
        self._device: Any = None
        self._model_id = ""

    def unavailable(self) -> str | None:
        name = self.settings.mert_model
        if not name:
            return "off (set mert_model to a Hugging Face id such as m-a-p/MERT-v0-public or a folder)"
        if importlib.util.find_spec("transformers") is None:
            return "transformers is not installed (run: pip install transformers)"
        if not self.settings.mert_download and _config_file(name) is None:
            return (f"{name} is not on this machine (allow the download once: "
                    "musicrec config set mert_download true)")
        return None

    def load(self, device: str) -> None:
        from transformers import AutoFeatureExtractor, AutoModel

        from musicrec_desktop.model.device import resolve_device

        name, download = self.settings.mert_model, self.settings.mert_download
        options = {"local_files_only": not download, "trust_remote_code": download}
        try:
            self._model = AutoModel.from_pretrained(name, **options)
        except OSError as exc:
            raise NotReadyError(f"MERT model {name}: {exc}") from exc
        try:
            self._extractor = AutoFeatureExtractor.from_pretrained(name, **options)
            self._rate = int(self._extractor.sampling_rate)
        except OSError:  # no preprocessor_config.json: the cache's rate, no normalisation
            self._extractor, self._rate = None, SAMPLE_RATE
        self._device = resolve_device(self.settings.device if device == "auto" else device)
        self._model.to(self._device).eval()
        config = _config_file(name)
        digest = hashlib.sha1(config.read_bytes() if config else name.encode()).hexdigest()[:10]
        self._model_id = f"mert-{Path(name).name}-{digest}"

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        return int(self._model.config.hidden_size)

    @property
    def device(self) -> str:
        return str(self._device)

    def describe(self) -> str:
        return f"{self.settings.mert_model}: hidden states averaged over time and layers"

    def embed(self, waves: Sequence[np.ndarray]) -> Embedded:
        return Embedded(np.stack([self._wave_vector(w) for w in waves]).astype(np.float32)
                        if waves else np.zeros((0, self.dimension), np.float32))

    def _wave_vector(self, wave: np.ndarray) -> np.ndarray:
        """(n,) float32 at 16 kHz -> (D,): mean over windows, time and layers."""
        import soxr
        import torch

        audio = soxr.resample(wave, SAMPLE_RATE, self._rate) if self._rate != SAMPLE_RATE else wave
        window = int(WINDOW_SECONDS * self._rate)
        vectors, weights = [], []
        for start in range(0, max(len(audio), 1), window):
            piece = np.asarray(audio[start:start + window], dtype=np.float32)
            if len(piece) < self._rate // 2 and vectors:
                break  # a last scrap under half a second adds nothing but noise
            piece = np.pad(piece, (0, max(0, self._rate // 2 - len(piece))))
            if self._extractor is not None:
                values = self._extractor(piece, sampling_rate=self._rate, return_tensors="pt").input_values
            else:
                values = torch.from_numpy(piece)[None]
            with torch.no_grad():
                out = self._model(values.to(self._device), output_hidden_states=True)
            layers = torch.stack(out.hidden_states)  # (layers + 1) x 1 x frames x D
            vectors.append(layers.mean(dim=(0, 1, 2)).cpu().numpy())
            weights.append(len(piece))
        return np.average(np.stack(vectors), axis=0, weights=weights)


def _config_file(name: str) -> Path | None:
    """The model's config.json on this machine (a local folder, or the Hugging Face cache)."""
    folder = Path(name).expanduser()
    if (folder / "config.json").is_file():
        return folder / "config.json"
    if importlib.util.find_spec("huggingface_hub") is None:
        return None
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(name, "config.json")
    except ValueError:  # not a valid repository id
        return None
    return Path(found) if isinstance(found, str) else None

