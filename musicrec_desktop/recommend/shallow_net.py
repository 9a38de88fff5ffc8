"""Recommender ``shallow``: the design study's Shallow net over the listening sessions.

Two towers: one over the frozen song vectors, one over a learnable vector per past listening
session (started from the mean of its songs' vectors); a song scores its cosine to the session.
Trained with a hinge loss (margin 0.2, 20 sampled negative songs a positive), each positive
weighted by 1 + 2·log(1 + its plays in the session), stopped early on the latest sessions asked as
the study asks (``listening.held_out``: the first half given, the later new songs to find). A new
session, and the long-term profile Play recommended uses, is the mean of its songs' vectors put
through the session tower.

Each tower is residual, x + W·relu(V·x + b) with W zero at the start, where the study has Linear +
ReLU: so before the first epoch the net is the session KNN (the cosine of the raw vectors to the
session's mean), and a learnt net is kept only when it found more of the held-out sessions' new
songs than that start beyond chance (``listening.beats_the_start``). A Linear + ReLU tower starts as a random
projection whose ReLU cuts every negative coordinate of the vectors: on the dev library's 199
songs it ranked the new songs of the test sessions below the KNN (NDCG@10 0.069 against 0.214).

torch is imported only while learning; prediction is two matrix products in numpy, so the tray
that loads the saved model stays light.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback, ignore_progress
from musicrec_desktop.recommend.listening import (
    HeldOut,
    beats_the_start,
    held_out,
    held_out_ndcgs,
    listening_sessions,
)
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView, TimedEvent
from musicrec_desktop.settings import Settings


@dataclass(frozen=True)
class ShallowConfig:
    hidden: int = 128  # width of both towers' inner layer
    margin: float = 0.2  # the study's hinge margin
    negatives: int = 20  # sampled negative songs per positive (the study's)
    patience: int = 16  # epochs without a better held-out NDCG@10 before stopping (the study's)
    max_epochs: int = 300  # a ceiling; early stopping ends sooner
    batch: int = 256  # positives per step
    learning_rate: float = 1e-2  # Adam; at 3e-3 it stopped early before it had learnt (test_shallow_net)
    validation_fraction: float = 0.2  # the latest sessions, held out to decide when to stop
    min_sessions: int = 4  # fewer sessions than this: nothing to learn, scored as the KNN
    seed: int = 0


class ShallowNet:
    """Scores (1 + cosine of the song tower's output to the session tower's) / 2; songs of the
    history score 0 (already heard). Without weights (too few sessions) the towers are the
    identity: the cosine of the raw vectors to the history's mean, as the KNN (and as a net
    whose held-out sessions were best before it learnt)."""

    name = "shallow"
    title = "Shallow net (sessions)"
    predicts_rating = False
    report_type = TasteReport

    def __init__(self, weights: dict[str, np.ndarray] | None, heard_keys: list[str],
                 embedding_model: str) -> None:
        self.weights, self.heard_keys, self.embedding_model = weights, heard_keys, embedding_model

    @classmethod
    def learn(cls, view: TasteView, settings: Settings | None = None, *,
              progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
              measure: bool = True, config: ShallowConfig = ShallowConfig()
              ) -> tuple[ShallowNet, TasteReport]:
        table = view.table
        listened = listening_sessions(view.history, table)
        heard = list(dict.fromkeys(key for session in listened for key in session))
        if not heard:  # as the KNN: the player's played songs stand for a missing history
            heard = [s.key for s in table.songs if s.playcount > 0]
        weights = None
        if len(listened) < config.min_sessions:
            message = (f"{len(listened)} listening sessions, too few to learn from (at least "
                       f"{config.min_sessions}): scored by cosine to the mean of {len(heard)} heard songs")
        else:
            from musicrec_desktop.recommend.torch_parts import one_thread

            with one_thread():  # batches too small to share; see one_thread
                weights, epochs, kept, best = _fit(table, listened, config, progress or ignore_progress,
                                                   cancel)
            message = (f"{len(listened)} listening sessions, {epochs} epochs, kept epoch {kept} "
                       f"(0: the KNN), held-out NDCG@10 {best:.3f}")
        return cls(weights, heard, table.model_id), TasteReport(cls.name, len(table), table.model_id, message)

    def for_session(self, session: list[TimedEvent], table: SongTable) -> ShallowNet:
        """The same net with the current session (its events so far) as the listener."""
        return ShallowNet(self.weights, [key for s in listening_sessions(session, table) for key in s],
                          self.embedding_model)

    def predict(self, table: SongTable) -> np.ndarray:
        rows = np.array(sorted({r for r in map(table.row, self.heard_keys) if r is not None}), dtype=np.int64)
        if not len(rows):
            return np.full(len(table), 0.5, dtype=np.float32)
        songs = _tower(table.vectors, self.weights, "song")  # N x H
        listener = _tower(table.vectors[rows].mean(axis=0, keepdims=True), self.weights, "session")[0]  # H
        cosine = _unit(songs) @ _unit(listener[None])[0]
        scores = ((1 + cosine) / 2).astype(np.float32)
        scores[rows] = 0.0  # already heard
        return scores

    def reason_keys(self) -> list[str]:
        return list(self.heard_keys)

    def state(self) -> dict:
        return {"kind": self.name, "weights": self.weights, "heard_keys": self.heard_keys,
                "embedding_model": self.embedding_model}

    @classmethod
    def from_state(cls, state: dict) -> ShallowNet:
        return cls(state["weights"], list(state["heard_keys"]), state["embedding_model"])


def confidence(plays: int) -> float:
    """The study's weight of a positive: 1 + 2·log(1 + plays), so a song played again in a
    session counts more, with diminishing returns."""
    return 1 + 2 * math.log1p(plays)


def _tower(x: np.ndarray, weights: dict[str, np.ndarray] | None, which: str) -> np.ndarray:
    """x + W·relu(V·x + b) (M x D -> M x D); the identity without weights. A model saved before
    the towers were residual has Linear + ReLU ones (M x D -> M x H)."""
    if weights is None:
        return x
    if f"{which}.weight" in weights:
        return np.maximum(x @ weights[f"{which}.weight"].T + weights[f"{which}.bias"], 0.0)
    inner = np.maximum(x @ weights[f"{which}.inner.weight"].T + weights[f"{which}.inner.bias"], 0.0)  # M x H
    return x + inner @ weights[f"{which}.outer.weight"].T


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


def _fit(table: SongTable, listened: list[list[str]], config: ShallowConfig, progress: ProgressCallback,
         cancel: CancelToken | None) -> tuple[dict[str, np.ndarray] | None, int, int, float]:
    """Trains the towers; returns (the best epoch's weights as numpy, None when the start was best,
    epochs run, the best epoch (0: the start), its held-out NDCG@10)."""
    import torch

    from musicrec_desktop.recommend import torch_parts

    # its own generator, not torch.manual_seed: the global one belongs to whatever else runs in
    # the process (another model training on the tray's worker thread)
    generator = torch.Generator().manual_seed(config.seed)
    n_val = max(1, int(len(listened) * config.validation_fraction))
    train = listened[:-n_val]
    questions = held_out(train, listened[-n_val:])
    vectors = torch.from_numpy(np.ascontiguousarray(table.vectors, dtype=np.float32))  # N x D
    # positives: (session, song, confidence of its plays in the session)
    pairs = [(u, table.row(key), confidence(plays))
             for u, session in enumerate(train) for key, plays in Counter(session).items()]
    users = torch.tensor([p[0] for p in pairs])
    items = torch.tensor([p[1] for p in pairs])
    weight = torch.tensor([p[2] for p in pairs], dtype=torch.float32)
    # each session's distinct songs in the order first played: a set's order follows the
    # process's string hashing, and the float sum with it (the same history learnt differently)
    start = torch.stack([vectors[[table.row(k) for k in dict.fromkeys(s)]].mean(dim=0)
                         for s in train])  # S x D
    session_vectors = torch.nn.Parameter(start.clone())
    song_tower, session_tower = (torch_parts.Residual(vectors.shape[1], config.hidden, generator)
                                 for _ in range(2))
    optimizer = torch.optim.Adam([session_vectors, *song_tower.parameters(), *session_tower.parameters()],
                                 lr=config.learning_rate)
    cos = torch.nn.functional.cosine_similarity

    def current() -> dict[str, np.ndarray]:
        return {f"{name}.{p}": t.detach().numpy().copy() for name, tower in
                (("song", song_tower), ("session", session_tower)) for p, t in tower.state_dict().items()}

    # epoch 0, the towers the identity: the KNN, kept unless an epoch does better beyond chance
    start = _held_out_ndcgs(table, questions, None)
    best, since_best, epoch = _mean(start), 0, 0
    learnt: tuple[float, int, dict[str, np.ndarray], np.ndarray] | None = None  # the best epoch's
    for epoch in range(1, config.max_epochs + 1):
        if cancel is not None:
            cancel.check()
        for batch in torch.randperm(len(pairs), generator=generator).split(config.batch):
            listener = session_tower(session_vectors[users[batch]])  # B x H
            positive = cos(listener, song_tower(vectors[items[batch]]), dim=-1)  # B
            negative_rows = torch.randint(len(vectors), (len(batch), config.negatives),
                                          generator=generator)  # B x K
            negative = cos(listener[:, None], song_tower(vectors[negative_rows]), dim=-1)  # B x K
            hinge = torch.relu(config.margin - positive[:, None] + negative)  # B x K
            loss = (weight[batch][:, None] * hinge).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        weights = current()
        figures = _held_out_ndcgs(table, questions, weights)
        score = _mean(figures)
        if learnt is None or score > learnt[0]:
            learnt = (score, epoch, weights, figures)
        if score > best:
            best, since_best = score, 0
        else:
            since_best += 1
        progress(Progress("recommend", epoch, config.max_epochs, message=f"shallow net epoch {epoch}",
                          metrics={"loss": loss.item(), "held_out_ndcg@10": score}))
        if since_best >= config.patience:
            break
    if learnt is not None and beats_the_start(learnt[3], start):
        return learnt[2], epoch, learnt[1], learnt[0]
    return None, epoch, 0, _mean(start)


def _held_out_ndcgs(table: SongTable, questions: HeldOut, weights: dict[str, np.ndarray] | None
                    ) -> np.ndarray:
    """V: the NDCG@10 of the towers on each held-out question; its session is the mean of its
    given songs' vectors put through the session tower."""
    if not questions.given:
        return np.zeros(0)
    songs = _unit(_tower(table.vectors, weights, "song"))  # N x H
    means = np.stack([table.vectors[[table.row(k) for k in given]].mean(axis=0) for given in questions.given])
    # one product for all sessions: a product per session was most of an epoch on a busy machine
    return held_out_ndcgs(_unit(_tower(means, weights, "session")) @ songs.T, questions, table)  # V x N


def _mean(figures: np.ndarray) -> float:
    return float(figures.mean()) if len(figures) else 0.0
