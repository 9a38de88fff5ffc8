"""BERT4Rec's network and its training (torch): imported by ``bert4rec`` only while it learns or
predicts, so the tray that loads a saved model stays light until it ranks.

Tokens: a song is its row in the table (0..N-1), ``N`` the mask, ``N + 1`` padding. Sequences
are padded on the left, so the last song (or the mask after it) is always at the last position.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from musicrec_desktop.model.device import resolve_device
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback
from musicrec_desktop.recommend import torch_parts
from musicrec_desktop.recommend.bert4rec import Bert4RecConfig
from musicrec_desktop.recommend.metrics import ndcg_at_k
from musicrec_desktop.recommend.table import SongTable


class Block(nn.Module):
    """One pre-norm transformer layer: self-attention over the sequence, then a GELU feed-forward,
    each added back to its input. Dropout masks come from the net's generator."""

    def __init__(self, config: Bert4RecConfig, generator: torch.Generator) -> None:
        super().__init__()
        h = config.hidden
        self.heads, self.dropout = config.heads, config.dropout
        self.norm_attention, self.norm_forward = nn.LayerNorm(h), nn.LayerNorm(h)
        self.qkv = torch_parts.linear(h, 3 * h, generator)
        self.out = torch_parts.linear(h, h, generator)
        self.up = torch_parts.linear(h, config.intermediate, generator)
        self.down = torch_parts.linear(config.intermediate, h, generator)

    def forward(self, x: torch.Tensor, attend: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """x: B x L x H; attend: B x 1 x 1 x L bool (False on padding) -> B x L x H."""
        b, length, h = x.shape
        qkv = self.qkv(self.norm_attention(x)).view(b, length, 3, self.heads, h // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)  # each B x heads x L x H/heads
        mixed = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=attend)  # as q
        mixed = mixed.transpose(1, 2).reshape(b, length, h)
        x = x + torch_parts.dropout(self.out(mixed), self.dropout, generator, self.training)
        forward = self.down(nn.functional.gelu(self.up(self.norm_forward(x))))
        return x + torch_parts.dropout(forward, self.dropout, generator, self.training)


class Bert4RecNet(nn.Module):
    """The bidirectional encoder over song sequences, with the output head tied to the tokens."""

    def __init__(self, dimension: int, n_songs: int, config: Bert4RecConfig,
                 generator: torch.Generator) -> None:
        super().__init__()
        h = config.hidden
        self.config = config
        self.project = torch_parts.linear(dimension, h, generator)  # frozen song vector -> token
        self.special = nn.Parameter(0.02 * torch.randn(2, h, generator=generator))  # mask, padding
        self.positions = nn.Parameter(0.02 * torch.randn(config.max_length, h, generator=generator))
        self.blocks = nn.ModuleList(Block(config, generator) for _ in range(config.layers))
        self.norm = nn.LayerNorm(h)
        self.song_bias = nn.Parameter(torch.zeros(n_songs))
        # the generator of the dropout masks; replaced by one on the GPU when the net moves there
        self.generator = generator

    def songs(self, vectors: torch.Tensor) -> torch.Tensor:
        """vectors: N x D frozen -> N x H, the token of each song and its output weights."""
        return self.project(vectors)

    def forward(self, tokens: torch.Tensor, songs: torch.Tensor) -> torch.Tensor:
        """tokens: B x L (rows, mask N, padding N + 1); songs: N x H -> hidden B x L x H."""
        table = torch.cat([songs, self.special])  # (N + 2) x H
        x = table[tokens] + self.positions[-tokens.shape[1]:]  # B x L x H
        x = torch_parts.dropout(x, self.config.dropout, self.generator, self.training)
        attend = (tokens != len(songs) + 1)[:, None, None, :]  # B x 1 x 1 x L
        for block in self.blocks:
            x = block(x, attend, self.generator)
        return self.norm(x)

    def scores(self, hidden: torch.Tensor, songs: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """hidden: M x H, songs: C x H, bias: C -> M x C (the tied output head)."""
        return hidden @ songs.T + bias


@dataclass
class Fit:
    weights: dict[str, np.ndarray]  # the best epoch's state_dict as numpy (song_bias among them)
    epochs: int
    best: float  # its validation NDCG@10
    device: str


def fit(table: SongTable, listened: list[list[str]], config: Bert4RecConfig, device_setting: str,
        progress: ProgressCallback, cancel: CancelToken | None) -> Fit:
    """Trains on all but the latest ``validation_fraction`` of the sessions (``listened``: song
    keys, oldest session first) and keeps the epoch best at next-song NDCG@10 on those."""
    device = resolve_device(device_setting)
    with torch_parts.one_thread() if device.type == "cpu" else contextlib.nullcontext():
        return _fit(table, listened, config, device, progress, cancel)


def _fit(table: SongTable, listened: list[list[str]], config: Bert4RecConfig, device: torch.device,
         progress: ProgressCallback, cancel: CancelToken | None) -> Fit:
    # its own generators, never torch.manual_seed: the global state belongs to the rest of the process
    generator = torch.Generator().manual_seed(config.seed)
    n_val = max(1, int(len(listened) * config.validation_fraction))
    rows = [[table.row(key) for key in session] for session in listened]
    train, validation = _windows(rows[:-n_val], config.max_length), rows[-n_val:]
    n = len(table)
    sequences = _padded(train, config.max_length, n + 1)  # S x L on the CPU
    lengths = torch.tensor([len(window) for window in train])  # S
    net = Bert4RecNet(table.vectors.shape[1], n, config, generator).to(device)
    if device.type != "cpu":  # dropout masks are drawn where the activations are
        net.generator = torch.Generator(device=device).manual_seed(config.seed)
    vectors = torch.from_numpy(np.ascontiguousarray(table.vectors, dtype=np.float32)).to(device)  # N x D
    optimizer = torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=config.lr_factor,
                                                         patience=config.lr_patience)

    best, best_weights, since_best, epoch = -1.0, _numpy(net), 0, 0
    for epoch in range(1, config.max_epochs + 1):
        net.train()
        total = 0.0
        for batch in _batches(lengths, config.batch, generator):
            if cancel is not None:
                cancel.check()
            # the songs are at the right end: the batch's longest sequence sets its width
            part = sequences[batch][:, -int(lengths[batch].max()):]  # B x L'
            tokens, masked = _masked(part, config.mask_share, n, generator)
            targets = part[masked].to(device)  # M song rows
            tokens, masked = tokens.to(device), masked.to(device)
            songs = net.songs(vectors)  # N x H
            hidden = net(tokens, songs)[masked]  # M x H
            loss = _loss(net, hidden, songs, targets, config, generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        score = _validation_ndcg(net, vectors, validation, config.max_length)
        plateau.step(score)
        if score > best:
            best, best_weights, since_best = score, _numpy(net), 0
        else:
            since_best += 1
        progress(Progress("recommend", epoch, config.max_epochs, message=f"BERT4Rec epoch {epoch}",
                          metrics={"loss": total / max(len(sequences), 1), "validation_ndcg@10": score,
                                   "learning_rate": optimizer.param_groups[0]["lr"]}))
        if since_best >= config.patience:
            break
    return Fit(best_weights, epoch, best, str(device))


def build(weights: dict[str, np.ndarray], config: Bert4RecConfig, dimension: int) -> Bert4RecNet:
    """The net of saved ``weights``, on the CPU, for predicting."""
    net = Bert4RecNet(dimension, len(weights["song_bias"]), config, torch.Generator())
    net.load_state_dict({name: torch.from_numpy(np.asarray(value)) for name, value in weights.items()})
    return net.eval()


def next_song_scores(net: Bert4RecNet, vectors: np.ndarray, recent: list[int], bias: np.ndarray
                     ) -> np.ndarray:
    """N float32: the score of every song (rows of ``vectors``, N x D) to follow the songs
    ``recent`` (rows, oldest first; the latest max_length - 1 are read)."""
    n = len(vectors)
    with torch.no_grad(), torch_parts.one_thread():
        songs = net.songs(torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32)))  # N x H
        sequence = recent[-(net.config.max_length - 1):] + [n]  # the mask follows the plays
        hidden = net(torch.tensor([sequence]), songs)[0, -1:]  # 1 x H
        return net.scores(hidden, songs, torch.from_numpy(bias))[0].numpy()


def _windows(sessions: list[list[int]], length: int) -> list[list[int]]:
    """Sessions cut into consecutive pieces of at most ``length`` songs."""
    return [session[i:i + length] for session in sessions for i in range(0, len(session), length)]


def _batches(lengths: torch.Tensor, size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """The sequences' indices in batches of ``size`` of similar length (sorted by length, in
    random order among equals), the batches in random order: a batch of short sessions is not
    padded to the longest window of all (sessions of a dozen songs in windows of 50)."""
    order = torch.randperm(len(lengths), generator=generator)
    order = order[torch.argsort(lengths[order], stable=True)]
    batches = list(order.split(size))
    return [batches[i] for i in torch.randperm(len(batches), generator=generator)]


def _padded(sequences: list[list[int]], length: int, padding: int) -> torch.Tensor:
    """S x length int64, each sequence at the right end after padding."""
    out = torch.full((max(len(sequences), 1), length), padding, dtype=torch.int64)
    for i, sequence in enumerate(sequences):
        out[i, length - len(sequence):] = torch.tensor(sequence)
    return out


def _masked(tokens: torch.Tensor, share: float, mask: int, generator: torch.Generator
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(tokens with ``share`` of the song positions replaced by ``mask``, the masked positions
    B x L bool). A sequence that drew none gets its last song masked: every one teaches."""
    is_song = tokens < mask
    masked = (torch.rand(tokens.shape, generator=generator) < share) & is_song
    none = ~masked.any(dim=1)
    masked[none, -1] = is_song[none, -1]
    return tokens.masked_fill(masked, mask), masked


def _loss(net: Bert4RecNet, hidden: torch.Tensor, songs: torch.Tensor, targets: torch.Tensor,
          config: Bert4RecConfig, generator: torch.Generator) -> torch.Tensor:
    """Cross-entropy of the masked songs (hidden M x H, targets M) over every song, or above
    ``full_softmax_max`` songs over the masked ones and a uniform sample of the rest (uniform
    sampling needs no correction of the logits: each song is as likely to be drawn)."""
    if len(songs) <= config.full_softmax_max:
        return nn.functional.cross_entropy(net.scores(hidden, songs, net.song_bias), targets)
    sampled = torch.randint(len(songs), (config.sampled_songs,), generator=generator).to(targets.device)
    candidates, inverse = torch.unique(torch.cat([targets, sampled]), return_inverse=True)  # C, M + K
    logits = net.scores(hidden, songs[candidates], net.song_bias[candidates])  # M x C
    return nn.functional.cross_entropy(logits, inverse[:len(targets)])


def _validation_ndcg(net: Bert4RecNet, vectors: torch.Tensor, validation: list[list[int]], length: int
                     ) -> float:
    """Mean NDCG@10 of next-song prediction over the validation sessions of two songs or more:
    the last song masked after the latest ``length - 1`` before it, which are left out of the
    ranking (heard in the session)."""
    usable = [session for session in validation if len(session) >= 2]
    if not usable:
        return 0.0
    n = len(vectors)
    net.eval()
    figures = []
    with torch.no_grad():
        songs = net.songs(vectors)  # N x H
        sequences = _padded([s[:-1][-(length - 1):] + [n] for s in usable], length, n + 1).to(vectors.device)
        for part, sessions in zip(sequences.split(256), _chunks(usable, 256), strict=True):
            logits = net.scores(net(part, songs)[:, -1], songs, net.song_bias)  # V x N
            for row, session in zip(logits, sessions, strict=True):
                row[session[:-1]] = -math.inf
                top = torch.topk(row, min(10, n)).indices.tolist()
                figures.append(ndcg_at_k([str(r) for r in top], {str(session[-1])}, 10))
    return float(np.mean(figures))


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _numpy(net: Bert4RecNet) -> dict[str, np.ndarray]:
    return {name: value.detach().cpu().numpy().copy() for name, value in net.state_dict().items()}
