"""Recommender ``bert4rec``: the design study's BERT4Rec over the listening sessions.

Each past listening session is a sequence of songs; 20 % of its positions are masked and a small
bidirectional transformer (learned positions, 2 layers, 2 heads, intermediate size 256) learns to
fill them in. A song's token is its frozen vector (the chosen encoder's) through a learnt linear
map to the hidden size. The output head is tied to the frozen vectors themselves: a masked position
asks for the direction of the mean of the sequence's songs plus a learnt correction of its hidden
state, zero at the start (score = sharpness · query · song vector + a bias per song, zero at the
start), trained with cross-entropy over every song of the library (above ``full_softmax_max``
songs over the masked songs plus a uniform sample of the others). So the untrained net is the
session KNN; the study's head, tied to the projected tokens, starts as a random ranking and learns
mostly which songs are played again: on the dev library's 199 songs it found the test sessions'
new songs worse than the KNN (NDCG@10 0.04 to 0.08 against 0.214). The learning rate halves when
the held-out figure stalls (ReduceLROnPlateau); training stops early on the latest sessions asked
as the study asks (``listening.held_out``), and a learnt epoch is kept only when it beats the
start beyond chance (``listening.beats_the_start``).

To recommend, a mask token follows the songs played: the latest plays of the whole history for
Play recommended (``predict``), the current session's for the radio (``for_session``). Songs of
that history score 0 (already heard). With fewer than ``min_sessions`` sessions there is nothing
to learn from: songs score by cosine to the mean of the heard songs, as the KNN and the Shallow net.

torch is imported only while learning and predicting (``bert4rec_net``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from musicrec_desktop.progress import CancelToken, ProgressCallback, ignore_progress
from musicrec_desktop.recommend.bert4rec_config import Bert4RecConfig
from musicrec_desktop.recommend.listening import listening_sessions
from musicrec_desktop.recommend.table import SongTable
from musicrec_desktop.recommend.taste import TasteReport, TasteView, TimedEvent
from musicrec_desktop.settings import Settings

DEFAULT_CONFIG = Bert4RecConfig()  # frozen: shared as the default


class Bert4Rec:
    """Scores sigmoid of the standardised score of the song after the sequence (higher: more
    likely next), 0 for the songs of the history; without weights (too few sessions) (1 + cosine
    to the mean of the heard songs) / 2."""

    name = "bert4rec"
    title = "BERT4Rec (sessions)"
    predicts_rating = False
    report_type = TasteReport

    def __init__(self, weights: dict[str, np.ndarray] | None, config: Bert4RecConfig,
                 song_keys: list[str], recent_keys: list[str], heard_keys: list[str],
                 embedding_model: str, net: Any = None) -> None:
        self.weights, self.config, self.embedding_model = weights, config, embedding_model
        self.song_keys = song_keys  # the songs the per-song bias (weights["song_bias"]) is for, in order
        self.recent_keys = recent_keys  # the latest plays, oldest first: the sequence the mask follows
        self.heard_keys = heard_keys  # distinct songs of the history: not recommended again
        self._net = net  # the built torch module, shared by for_session's copies

    @classmethod
    def learn(cls, view: TasteView, settings: Settings | None = None, *,
              progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
              measure: bool = True, config: Bert4RecConfig = DEFAULT_CONFIG
              ) -> tuple[Bert4Rec, TasteReport]:
        table = view.table
        listened = listening_sessions(view.history, table)
        plays = [key for session in listened for key in session]
        heard = list(dict.fromkeys(plays))
        if not heard:  # as the KNN: the player's played songs stand for a missing history
            heard = [s.key for s in table.songs if s.playcount > 0]
        weights, song_keys = None, []
        if len(listened) < config.min_sessions:
            message = (f"{len(listened)} listening sessions, too few to learn from (at least "
                       f"{config.min_sessions}): scored by cosine to the mean of {len(heard)} heard songs")
        else:
            from musicrec_desktop.recommend import bert4rec_net

            device = "cpu" if settings is None else settings.device
            fit = bert4rec_net.fit(table, listened, config, device, progress or ignore_progress, cancel)
            weights, song_keys = fit.weights, [s.key for s in table.songs]
            loss = "full softmax" if len(table) <= config.full_softmax_max else (
                f"sampled softmax ({config.sampled_songs} songs a step)")
            message = (f"{len(listened)} listening sessions, {fit.epochs} epochs on {fit.device}, {loss}, "
                       f"kept epoch {fit.kept} (0: the KNN), held-out NDCG@10 {fit.best:.3f}")
        model = cls(weights, config, song_keys, plays[-(config.max_length - 1):], heard, table.model_id)
        return model, TasteReport(cls.name, len(table), table.model_id, message)

    def for_session(self, session: list[TimedEvent], table: SongTable) -> Bert4Rec:
        """The same net with the current session (its plays so far) as the sequence."""
        plays = [key for s in listening_sessions(session, table) for key in s]
        return Bert4Rec(self.weights, self.config, self.song_keys, plays[-(self.config.max_length - 1):],
                        list(dict.fromkeys(plays)), self.embedding_model,
                        None if self.weights is None else self._built(table))

    def predict(self, table: SongTable) -> np.ndarray:
        heard = np.array(sorted({r for r in map(table.row, self.heard_keys) if r is not None}),
                         dtype=np.int64)
        if self.weights is None:
            if not len(heard):
                return np.full(len(table), 0.5, dtype=np.float32)
            scores = (1 + table.cosine_to_centre(heard)) / 2
        else:
            from musicrec_desktop.recommend import bert4rec_net

            recent = [r for r in map(table.row, self.recent_keys) if r is not None]
            logits = bert4rec_net.next_song_scores(self._built(table), table.vectors, recent,
                                                   self._bias(table))  # N
            spread = logits.std() + 1e-6
            scores = 1 / (1 + np.exp(-(logits - logits.mean()) / spread))
        scores = scores.astype(np.float32)
        scores[heard] = 0.0  # already heard
        return scores

    def _built(self, table: SongTable) -> Any:
        """The torch module of the weights, built once (the radio asks for every session)."""
        from musicrec_desktop.recommend import bert4rec_net

        if self._net is None:
            self._net = bert4rec_net.build(self.weights, self.config, table.vectors.shape[1])
        return self._net

    def _bias(self, table: SongTable) -> np.ndarray:
        """N float32: each song's learnt bias; a song the net did not learn on gets the median."""
        learnt = dict(zip(self.song_keys, self.weights["song_bias"], strict=True))
        fill = float(np.median(self.weights["song_bias"]))
        return np.array([learnt.get(s.key, fill) for s in table.songs], dtype=np.float32)

    def reason_keys(self) -> list[str]:
        return list(self.heard_keys)

    def state(self) -> dict:
        return {"kind": self.name, "weights": self.weights, "config": dataclasses.asdict(self.config),
                "song_keys": self.song_keys, "recent_keys": self.recent_keys,
                "heard_keys": self.heard_keys, "embedding_model": self.embedding_model}

    @classmethod
    def from_state(cls, state: dict) -> Bert4Rec:
        return cls(state["weights"], Bert4RecConfig(**state["config"]), list(state["song_keys"]),
                   list(state["recent_keys"]), list(state["heard_keys"]), state["embedding_model"])
