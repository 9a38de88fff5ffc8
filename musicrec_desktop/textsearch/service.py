"""The one entry of text search: learn the alignment, search, read its evaluation.

``learn_alignment`` is the pipeline stage's job (retrained when ``alignment_fingerprint``
changes); ``search`` only reads what it saved.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from musicrec_desktop.library.song import LibraryScan
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.progress import CancelToken, ProgressCallback, ignore_progress
from musicrec_desktop.settings import Settings

__all__ = ["AlignmentReport", "Found", "alignment_fingerprint", "evaluation", "learn_alignment",
           "search"]


@dataclass(frozen=True)
class Found:
    """One song a search found."""

    key: str
    title: str
    artist: str
    album: str
    path: str | None
    score: float  # higher = better match: cosine in the text encoder's space
    why: str  # in words: 'matches "orchestral" (near its tags: classical, strings)'


@dataclass
class AlignmentReport:
    """What ``learn_alignment`` measured."""

    text_encoder: str  # the sentence encoder whose space songs are projected into
    embedding_model: str  # the model id of the song vectors it learnt on
    n_songs: int  # songs with vectors and texts used for learning
    n_held_out: int  # songs kept out of learning for the evaluation
    train_s: float  # seconds spent learning
    evaluation: dict = field(default_factory=dict)  # measure name -> figures (see evaluate.py)
    message: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        return self.message


def learn_alignment(settings: Settings, dirs: DataDirs, scan: LibraryScan, *,
                    progress: ProgressCallback = ignore_progress,
                    cancel: CancelToken | None = None) -> AlignmentReport:
    """Learns the projection of the chosen encoder backend's song vectors into the text space on
    the library's texts, evaluates it on held-out songs and saves it under ``dirs.models``."""
    raise NotImplementedError


def alignment_fingerprint(settings: Settings, dirs: DataDirs, scan: LibraryScan) -> str:
    """Changes when the song vectors' model id or any song's texts change (the stage retrains)."""
    raise NotImplementedError


def search(settings: Settings, dirs: DataDirs, query: str, n: int = 20) -> list[Found]:
    """The ``n`` songs that best match ``query``, best first. ``NotReadyError`` (naming the
    command to run) when nothing is aligned yet; ``TextEncoderMissing`` when the optional text
    encoder is not installed."""
    raise NotImplementedError


def evaluation(settings: Settings, dirs: DataDirs) -> dict:
    """The evaluation figures saved with the alignment (``musicrec search --evaluate``, the model
    report); ``NotReadyError`` when nothing is aligned yet."""
    raise NotImplementedError
