"""How well words find songs and songs find words, on songs held out of the alignment.

Each held-out song's own tag text ("rock, mellow, 90s") is a query; its match is that song.
Text-to-music ranks the held-out songs for each tag text; music-to-text ranks the tag texts for
each song. Measures: Recall@1/5/10 and MRR, as expected values when tied scores are put in random
order (many songs share their tags, and the lexical baseline scores them alike).

Two settings. "tags hidden", the test of the alignment: the held-out songs' tags are kept from
every method, as for a song the library has no words for; each knows only the song's name, artist,
album and year, and the audio. "tags known": the songs' tags are there, as search has them for
tagged songs. Methods: the projected song vectors alone ("audio"), what search ranks by ("search":
the cosine to the projected audio mixed with the text vector of the song's known words, plus
their word overlap with the query) and a lexical baseline ("lexical": the overlap, Jaccard, of the
query's words with the song's known words, ``textsearch.lexical``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.textsearch.lexical import LEXICAL_WEIGHT, jaccard, words

RECALL_AT = (1, 5, 10)


def paired_retrieval(similarity: np.ndarray) -> dict[str, float]:
    """``similarity``: Q x Q, row i = query i's scores of the candidates, whose match is
    candidate i. Returns {"recall@1", "recall@5", "recall@10", "mrr"}: means over the queries of
    their expected values when ties are broken at random."""
    own = np.diag(similarity)[:, None]
    better = (similarity > own).sum(1)  # candidates certainly ranked above the match
    tied = (similarity == own).sum(1) - 1  # others the match may land anywhere among
    figures = {}
    for k in RECALL_AT:
        figures[f"recall@{k}"] = float(np.mean(np.clip((k - better) / (tied + 1), 0.0, 1.0)))
    # E[1/rank] with rank uniform in better+1 .. better+tied+1
    figures["mrr"] = float(np.mean([np.mean(1.0 / np.arange(b + 1, b + t + 2))
                                    for b, t in zip(better, tied, strict=True)]))
    return figures


@dataclass(frozen=True)
class HeldOut:
    """The held-out songs in the text space (rows are the same songs, Q of them)."""

    queries: np.ndarray  # Q x D: their tag texts
    audio: np.ndarray  # Q x D: their projected vectors
    search_hidden: np.ndarray  # Q x D: search's vectors when only their names are known
    search_known: np.ndarray  # Q x D: search's vectors with their tags known
    tag_texts: Sequence[str]  # their tags as one text each (the queries)
    names: Sequence[str]  # their name, artist, album and year as one text each


def evaluate_alignment(held: HeldOut) -> dict[str, dict[str, float]]:
    """Figures for the held-out songs, keyed "<setting>: <method> <direction>", e.g.
    "tags hidden: audio text-to-music"."""
    query_words = [words(t) for t in held.tag_texts]
    name_words = [words(n) for n in held.names]
    known_words = [q | n for q, n in zip(query_words, name_words, strict=True)]
    hidden_overlap, known_overlap = jaccard(query_words, name_words), jaccard(query_words, known_words)
    scores = {  # Q x Q: text i -> song j
        "tags hidden: audio": held.queries @ held.audio.T,
        "tags hidden: search": held.queries @ held.search_hidden.T + LEXICAL_WEIGHT * hidden_overlap,
        "tags hidden: lexical": hidden_overlap,
        "tags known: search": held.queries @ held.search_known.T + LEXICAL_WEIGHT * known_overlap,
        "tags known: lexical": known_overlap,
    }
    figures = {}
    for name, matrix in scores.items():
        figures[f"{name} text-to-music"] = paired_retrieval(matrix)
        figures[f"{name} music-to-text"] = paired_retrieval(matrix.T)
    return figures


def summary(figures: dict[str, dict[str, float]]) -> str:
    """One line per measure, for the report and ``musicrec search --evaluate``."""
    lines = []
    for name, values in figures.items():
        if isinstance(values, dict):
            cells = "  ".join(f"{k} {v:.3f}" for k, v in values.items())
            lines.append(f"{name:<42} {cells}")
    return "\n".join(lines)
