"""A projection of song vectors into a frozen sentence encoder's space, learnt with symmetric
InfoNCE and a learnt temperature (the design's two stages: single tags, then whole descriptions).

The text side never changes, so a query in words the library never used ("orchestral") still lands
near the songs whose words mean the same ("classical"). torch only while learning; projecting is
numpy (``Projection.project``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.progress import CancelToken, ProgressCallback, RateMeter, ignore_progress


@dataclass(frozen=True)
class AlignConfig:
    tag_epochs: int = 40  # stage 1: songs against their single tags
    description_epochs: int = 40  # stage 2: songs against their whole descriptions
    batch: int = 256  # songs per step (negatives are the batch's other songs/texts)
    learning_rate: float = 3e-3
    weight_decay: float = 1e-3  # libraries are small: keeps the projection from memorising songs
    input_dropout: float = 0.1  # drops song-vector entries while learning, for the same reason
    initial_temperature: float = 0.07  # CLIP's start; learnt from there
    max_logit_scale: float = 100.0  # 1 / temperature never goes past this (CLIP's clamp)
    seed: int = 0


@dataclass
class Projection:
    """song vector (D_audio) -> unit vector in the text space (D_text)."""

    weight: np.ndarray  # D_audio x D_text float32
    bias: np.ndarray  # D_text float32
    temperature: float  # learnt; the scale the cosines were trained at

    def project(self, vectors: np.ndarray) -> np.ndarray:
        """N x D_audio float32 -> N x D_text float32, rows L2-normalised."""
        out = vectors.astype(np.float32) @ self.weight + self.bias
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)



@dataclass(frozen=True)
class AlignmentData:
    """What one alignment learns from; rows of ``songs`` and ``descriptions`` are the same songs."""

    songs: np.ndarray  # N x D_audio float32: the songs' vectors
    descriptions: np.ndarray  # N x D_text float32: their descriptions' text vectors
    description_ids: np.ndarray  # N int: equal ids = the same description (positives of each other)
    tags: np.ndarray  # T x D_text float32: the text vectors of every single tag used
    song_tags: Sequence[Sequence[int]]  # per song, its tags' rows of ``tags`` (may be empty)


def learn_projection(data: AlignmentData, config: AlignConfig = AlignConfig(), *,
                     progress: ProgressCallback = ignore_progress,
                     cancel: CancelToken | None = None) -> tuple[Projection, dict[str, float]]:
    """Learns the projection: stage 1 on single tags, stage 2 on descriptions. Returns it and the
    last loss of each stage."""
    import torch

    from musicrec_desktop.recommend import torch_parts

    # its own generator: the global random state belongs to whatever else runs in the process
    generator = torch.Generator().manual_seed(config.seed)
    songs = torch.from_numpy(np.ascontiguousarray(data.songs, np.float32))
    layer = torch_parts.linear(songs.shape[1], data.descriptions.shape[1], generator)
    logit_scale = torch.nn.Parameter(torch.tensor(math.log(1 / config.initial_temperature)))
    optimiser = torch.optim.AdamW([*layer.parameters(), logit_scale], lr=config.learning_rate,
                                  weight_decay=config.weight_decay)
    steps = math.ceil(len(songs) / config.batch)
    meter = RateMeter((config.tag_epochs + config.description_epochs) * steps)
    losses: dict[str, float] = {}
    tagged = torch.tensor([i for i, t in enumerate(data.song_tags) if t], dtype=torch.long)
    stages = [("tags", config.tag_epochs, tagged), ("descriptions", config.description_epochs,
                                                    torch.arange(len(songs)))]
    done = 0
    for stage, epochs, rows in stages:
        loss_of = _TagLoss(data) if stage == "tags" else _DescriptionLoss(data)
        for _ in range(epochs if len(rows) > 1 else 0):
            for batch in rows[torch.randperm(len(rows), generator=generator)].split(config.batch):
                if cancel is not None:
                    cancel.check()
                x = torch_parts.dropout(songs[batch], config.input_dropout, generator, True)
                z = torch.nn.functional.normalize(layer(x), dim=1)  # B x D_text
                loss = loss_of(z, batch, logit_scale.clamp(max=math.log(config.max_logit_scale)).exp())
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                losses[stage] = loss.item()
                done += 1
            progress(meter.report("textsearch", done, f"learning the text alignment ({stage})",
                                  loss=losses.get(stage, float("nan"))))
    scale = float(logit_scale.detach().clamp(max=math.log(config.max_logit_scale)).exp())
    projection = Projection(layer.weight.detach().T.contiguous().numpy().copy(),
                            layer.bias.detach().numpy().copy(), 1.0 / scale)
    return projection, losses


class _TagLoss:
    """Stage 1: songs against the single tags. Many songs share a tag, so each side has several
    positives: song -> tags is a softmax over every tag with the song's own tags as the targets;
    tag -> songs a softmax over the batch's songs with the songs carrying it as the targets."""

    def __init__(self, data: AlignmentData) -> None:
        import torch

        self.tags = torch.from_numpy(np.ascontiguousarray(data.tags, np.float32))  # T x D_text
        self.has = torch.zeros(len(data.song_tags), len(data.tags))  # N x T multi-hot
        for i, rows in enumerate(data.song_tags):
            self.has[i, list(rows)] = 1.0

    def __call__(self, z, batch, scale):
        from torch.nn.functional import cross_entropy  # probability targets: rows sum to 1

        logits = scale * z @ self.tags.T  # B x T
        has = self.has[batch]  # B x T
        music_to_text = cross_entropy(logits, has / has.sum(1, keepdim=True))
        present = has.sum(0) > 0  # the tags of this batch
        by_tag = has[:, present].T  # T' x B
        text_to_music = cross_entropy(logits[:, present].T, by_tag / by_tag.sum(1, keepdim=True))
        return (music_to_text + text_to_music) / 2


class _DescriptionLoss:
    """Stage 2: songs against their whole descriptions, CLIP's symmetric InfoNCE over the batch;
    songs whose descriptions are the same text are positives of each other."""

    def __init__(self, data: AlignmentData) -> None:
        import torch

        self.texts = torch.from_numpy(np.ascontiguousarray(data.descriptions, np.float32))
        self.ids = torch.from_numpy(np.asarray(data.description_ids, np.int64))

    def __call__(self, z, batch, scale):
        from torch.nn.functional import cross_entropy  # probability targets: rows sum to 1

        logits = scale * z @ self.texts[batch].T  # B x B
        ids = self.ids[batch]
        same = (ids[:, None] == ids[None, :]).float()  # B x B, the diagonal at least
        targets = same / same.sum(1, keepdim=True)
        return (cross_entropy(logits, targets) + cross_entropy(logits.T, targets)) / 2
