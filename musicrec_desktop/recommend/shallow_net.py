"""Recommender ``shallow``: the design study's Shallow net over the listening sessions.

Two towers, each Linear + ReLU: one over the frozen song vectors, one over a learnable vector per
past listening session (started from the mean of its songs' vectors); a song scores its cosine to
the session. Trained with a hinge loss (margin 0.2, 20 sampled negative songs a positive), each
positive weighted by 1 + 2·log(1 + its plays in the session), stopped early on the ranking of a
validation split of the sessions (the latest ones). A new session, and the long-term profile Play
recommended uses, is the mean of its songs' vectors put through the session tower.

torch is imported only while learning; prediction is two matrix products in numpy, so the tray
that loads the saved model stays light.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.progress import CancelToken, Progress, ProgressCallback, ignore_progress
from musicrec_desktop.recommend.listening import listening_sessions
from musicrec_desktop.recommend.metrics import ndcg_at_k
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView, TimedEvent
from musicrec_desktop.settings import Settings


@dataclass(frozen=True)
class ShallowConfig:
    hidden: int = 128  # width of both towers' output
    margin: float = 0.2  # the study's hinge margin
    negatives: int = 20  # sampled negative songs per positive (the study's)
    patience: int = 16  # epochs without a better validation NDCG@10 before stopping (the study's)
    max_epochs: int = 300  # a ceiling; early stopping ends sooner
    batch: int = 256  # positives per step
    learning_rate: float = 1e-2  # Adam; at 3e-3 it stopped early before it had learnt (test_shallow_net)
    validation_fraction: float = 0.2  # the latest sessions, held out to decide when to stop
    min_sessions: int = 4  # fewer sessions than this: nothing to learn, scored as the KNN
    seed: int = 0


class ShallowNet:
    """Scores (1 + cosine of the song tower's output to the session tower's) / 2; songs of the
    history score 0 (already heard). Without weights (too few sessions) the towers are the
    identity: the cosine of the raw vectors to the history's mean, as the KNN."""

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
                weights, epochs, best = _fit(table, listened, config, progress or ignore_progress, cancel)
            message = f"{len(listened)} listening sessions, {epochs} epochs, validation NDCG@10 {best:.3f}"
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
    """Linear + ReLU (M x D -> M x H); the identity without weights."""
    if weights is None:
        return x
    return np.maximum(x @ weights[f"{which}.weight"].T + weights[f"{which}.bias"], 0.0)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.linalg.norm(x, axis=1, keepdims=True) + 1e-12)


def _fit(table: SongTable, listened: list[list[str]], config: ShallowConfig, progress: ProgressCallback,
         cancel: CancelToken | None) -> tuple[dict[str, np.ndarray], int, float]:
    """Trains the towers; returns (the best epoch's weights as numpy, epochs run, best validation NDCG@10)."""
    import torch

    from musicrec_desktop.recommend import torch_parts

    # its own generator, not torch.manual_seed: the global one belongs to whatever else runs in
    # the process (another model training on the tray's worker thread)
    generator = torch.Generator().manual_seed(config.seed)
    n_val = max(1, int(len(listened) * config.validation_fraction))
    train, validation = listened[:-n_val], listened[-n_val:]
    vectors = torch.from_numpy(np.ascontiguousarray(table.vectors, dtype=np.float32))  # N x D
    # positives: (session, song, confidence of its plays in the session)
    pairs = [(u, table.row(key), confidence(plays))
             for u, session in enumerate(train) for key, plays in Counter(session).items()]
    users = torch.tensor([p[0] for p in pairs])
    items = torch.tensor([p[1] for p in pairs])
    weight = torch.tensor([p[2] for p in pairs], dtype=torch.float32)
    start = torch.stack([vectors[[table.row(k) for k in set(s)]].mean(dim=0) for s in train])  # S x D
    session_vectors = torch.nn.Parameter(start.clone())
    song_tower, session_tower = (
        torch.nn.Sequential(torch_parts.linear(vectors.shape[1], config.hidden, generator), torch.nn.ReLU())
        for _ in range(2))
    optimizer = torch.optim.Adam([session_vectors, *song_tower.parameters(), *session_tower.parameters()],
                                 lr=config.learning_rate)
    cos = torch.nn.functional.cosine_similarity

    def current() -> dict[str, np.ndarray]:
        return {f"{name}.{p}": t.detach().numpy().copy() for name, tower in
                (("song", song_tower), ("session", session_tower)) for p, t in tower[0].state_dict().items()}

    best, best_weights, since_best, epoch = -1.0, current(), 0, 0
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
        score = _validation_ndcg(table, validation, current())
        if score > best:
            best, best_weights, since_best = score, current(), 0
        else:
            since_best += 1
        progress(Progress("recommend", epoch, config.max_epochs, message=f"shallow net epoch {epoch}",
                          metrics={"loss": loss.item(), "validation_ndcg@10": score}))
        if since_best >= config.patience:
            break
    return best_weights, epoch, best


def _validation_ndcg(table: SongTable, validation: list[list[str]], weights: dict[str, np.ndarray]) -> float:
    """Mean NDCG@10 over the validation sessions: the first half of each session's songs is the
    listener, the rest is what it should find among the songs not yet heard in it."""
    asked = [distinct for distinct in (list(dict.fromkeys(s)) for s in validation) if len(distinct) >= 2]
    if not asked:
        return 0.0
    given = [[table.row(key) for key in distinct[: len(distinct) // 2]] for distinct in asked]
    songs = _unit(_tower(table.vectors, weights, "song"))  # N x H, once for every session
    means = np.stack([table.vectors[rows].mean(axis=0) for rows in given])  # V x D
    # one product for all sessions: a product per session was most of an epoch on a busy machine
    cosine = songs @ _unit(_tower(means, weights, "session")).T  # N x V
    keys, figures = np.array([s.key for s in table.songs]), []
    for column, rows, distinct in zip(cosine.T, given, asked, strict=True):
        column[rows] = -np.inf  # heard in the session so far
        top = np.argpartition(-column, min(10, len(column) - 1))[:10]
        ranked = keys[top[np.argsort(-column[top], kind="stable")]]
        figures.append(ndcg_at_k(list(ranked), set(distinct[len(distinct) // 2:]), 10))
    return float(np.mean(figures))
