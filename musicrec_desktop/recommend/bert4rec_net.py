"""BERT4Rec's network and its training (torch): imported by ``bert4rec`` only while it learns or
predicts, so the tray that loads a saved model stays light until it ranks.

Tokens: a song is its row in the table (0..N-1), ``N`` the mask, ``N + 1`` padding. Sequences
are padded on the left, so the last song (or the mask after it) is always at the last position.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from musicrec_desktop.model.device import resolve_device
from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback
from musicrec_desktop.recommend import torch_parts
from musicrec_desktop.recommend.bert4rec_config import Bert4RecConfig
from musicrec_desktop.recommend.listening import HeldOut, beats_the_start, held_out, held_out_ndcgs
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
    """The bidirectional encoder over song sequences. The output head is tied to the frozen song
    vectors: a masked position asks for the direction of the mean vector of the sequence's songs
    plus a learnt correction of its hidden state (zero at the start), so the untrained net ranks
    as the session KNN and learns only what improves on it."""

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
        self.correction = torch_parts.linear(h, dimension, generator, bias=False)  # hidden -> query
        with torch.no_grad():
            self.correction.weight.zero_()
        self.sharpness = nn.Parameter(torch.tensor(config.sharpness))  # the cosine's scale in the softmax
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

    def queries(self, hidden: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        """hidden: M x H, centres: M x D (``centres``) -> M x D, what a masked position asks for."""
        return centres + self.correction(hidden)

    def scores(self, queries: torch.Tensor, vectors: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """queries: M x D, vectors: C x D frozen, bias: C -> M x C (the head tied to the vectors)."""
        return self.sharpness * (queries @ vectors.T) + bias


def centres(tokens: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
    """tokens: B x L (rows, mask N, padding N + 1), vectors: N x D -> B x D, the unit direction
    of the mean vector of each sequence's songs (zero without one): the session KNN's query."""
    padded = torch.cat([vectors, vectors.new_zeros(2, vectors.shape[1])])  # (N + 2) x D
    summed = padded[tokens].sum(dim=1)  # B x D
    return summed / (summed.norm(dim=1, keepdim=True) + 1e-12)


@dataclass
class Fit:
    weights: dict[str, np.ndarray]  # the kept epoch's state_dict as numpy (song_bias among them)
    epochs: int
    kept: int  # the epoch kept: 0 is the start, the session KNN
    best: float  # its held-out NDCG@10
    device: str


def fit(table: SongTable, listened: list[list[str]], config: Bert4RecConfig, device_setting: str,
        progress: ProgressCallback, cancel: CancelToken | None) -> Fit:
    """Trains on all but the latest ``validation_fraction`` of the sessions (``listened``: song
    keys, oldest session first) and keeps the epoch best on those asked as the study asks
    (``listening.held_out``) when it beats the start beyond chance, else the start."""
    device = resolve_device(device_setting)
    with torch_parts.one_thread() if device.type == "cpu" else contextlib.nullcontext():
        return _fit(table, listened, config, device, progress, cancel)


def _fit(table: SongTable, listened: list[list[str]], config: Bert4RecConfig, device: torch.device,
         progress: ProgressCallback, cancel: CancelToken | None) -> Fit:
    # its own generators, never torch.manual_seed: the global state belongs to the rest of the process
    generator = torch.Generator().manual_seed(config.seed)
    n_val = max(1, int(len(listened) * config.validation_fraction))
    rows = [[table.row(key) for key in session] for session in listened]
    train = _windows(rows[:-n_val], config.max_length)
    questions = held_out(listened[:-n_val], listened[-n_val:])
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

    start = _held_out_ndcgs(net, vectors, questions, table)  # the untrained net: the session KNN
    best, since_best, epoch = _mean(start), 0, 0
    learnt: tuple[float, int, dict[str, np.ndarray], np.ndarray] | None = None  # the best epoch's
    start_weights = _numpy(net)
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
            queries = net.queries(hidden, centres(tokens, vectors)[masked.nonzero()[:, 0]])  # M x D
            loss = _loss(net, queries, vectors, targets, config, generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        figures = _held_out_ndcgs(net, vectors, questions, table)
        score = _mean(figures)
        plateau.step(score)
        if learnt is None or score > learnt[0]:
            learnt = (score, epoch, _numpy(net), figures)
        if score > best:
            best, since_best = score, 0
        else:
            since_best += 1
        progress(Progress("recommend", epoch, config.max_epochs, message=f"BERT4Rec epoch {epoch}",
                          metrics={"loss": total / max(len(sequences), 1), "held_out_ndcg@10": score,
                                   "learning_rate": optimizer.param_groups[0]["lr"]}))
        if since_best >= config.patience:
            break
    if learnt is not None and beats_the_start(learnt[3], start):
        return Fit(learnt[2], epoch, learnt[1], learnt[0], str(device))
    return Fit(start_weights, epoch, 0, _mean(start), str(device))


def build(weights: dict[str, np.ndarray], config: Bert4RecConfig, dimension: int) -> Bert4RecNet:
    """The net of saved ``weights``, on the CPU, for predicting."""
    net = Bert4RecNet(dimension, len(weights["song_bias"]), config, torch.Generator())
    net.load_state_dict({name: torch.from_numpy(np.asarray(value)) for name, value in weights.items()})
    return net.eval()


def next_song_scores(net: Bert4RecNet, vectors: np.ndarray, recent: list[int], bias: np.ndarray
                     ) -> np.ndarray:
    """N float32: the score of every song (rows of ``vectors``, N x D) to follow the songs
    ``recent`` (rows, oldest first; the latest max_length - 1 are read)."""
    with torch.no_grad(), torch_parts.one_thread():
        frozen = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))  # N x D
        return _next_song_scores(net, frozen, [recent], torch.from_numpy(bias))[0].numpy()


def _next_song_scores(net: Bert4RecNet, vectors: torch.Tensor, recent: list[list[int]], bias: torch.Tensor
                      ) -> torch.Tensor:
    """V x N: for each list of songs in ``recent`` (rows, oldest first; the latest max_length - 1
    are read), the score of every song to follow it."""
    n = len(vectors)
    songs = net.songs(vectors)  # N x H
    tokens = _padded([r[-(net.config.max_length - 1):] + [n] for r in recent], net.config.max_length,
                     n + 1).to(vectors.device)  # V x L, the mask after the plays
    hidden = net(tokens, songs)[:, -1]  # V x H
    return net.scores(net.queries(hidden, centres(tokens, vectors)), vectors, bias)


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


def _loss(net: Bert4RecNet, queries: torch.Tensor, vectors: torch.Tensor, targets: torch.Tensor,
          config: Bert4RecConfig, generator: torch.Generator) -> torch.Tensor:
    """Cross-entropy of the masked songs (queries M x D, targets M) over every song, or above
    ``full_softmax_max`` songs over the masked ones and a uniform sample of the rest (uniform
    sampling needs no correction of the logits: each song is as likely to be drawn)."""
    if len(vectors) <= config.full_softmax_max:
        return nn.functional.cross_entropy(net.scores(queries, vectors, net.song_bias), targets)
    sampled = torch.randint(len(vectors), (config.sampled_songs,), generator=generator).to(targets.device)
    candidates, inverse = torch.unique(torch.cat([targets, sampled]), return_inverse=True)  # C, M + K
    logits = net.scores(queries, vectors[candidates], net.song_bias[candidates])  # M x C
    return nn.functional.cross_entropy(logits, inverse[:len(targets)])


def _held_out_ndcgs(net: Bert4RecNet, vectors: torch.Tensor, questions: HeldOut, table: SongTable
                    ) -> np.ndarray:
    """V: the NDCG@10 of the net on each held-out question (its given songs, then the mask)."""
    if not questions.given:
        return np.zeros(0)
    net.eval()
    given = [[table.row(key) for key in keys] for keys in questions.given]
    with torch.no_grad():
        scores = torch.cat([_next_song_scores(net, vectors, part, net.song_bias)
                            for part in _chunks(given, 256)])  # V x N
    return held_out_ndcgs(scores.cpu().numpy(), questions, table)


def _mean(figures: np.ndarray) -> float:
    return float(figures.mean()) if len(figures) else 0.0


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def _numpy(net: Bert4RecNet) -> dict[str, np.ndarray]:
    return {name: value.detach().cpu().numpy().copy() for name, value in net.state_dict().items()}
