"""The one entry of text search: learn the alignment, search, read its evaluation.

``learn_alignment`` is the pipeline stage's job (retrained when ``alignment_fingerprint``
changes); it saves everything a search needs in one file (the songs' vectors in the text space,
their names and tags), so ``search`` reads only that file and the text encoder.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from musicrec_desktop.errors import ModelError, NotReadyError
from musicrec_desktop.files import atomic_write
from musicrec_desktop.library.song import LibraryScan, Song
from musicrec_desktop.paths import DataDirs
from musicrec_desktop.plugpoints import ENCODER_BACKENDS
from musicrec_desktop.progress import CancelToken, ProgressCallback, ignore_progress
from musicrec_desktop.settings import Settings
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.textsearch import evaluate
from musicrec_desktop.textsearch.align import AlignConfig, AlignmentData, Projection, learn_projection
from musicrec_desktop.textsearch.lexical import LEXICAL_WEIGHT, WordIndex, words
from musicrec_desktop.textsearch.text_encoder import (
    DEFAULT_TEXT_ENCODER,
    TextEncoderMissing,
    open_text_encoder,
)
from musicrec_desktop.textsearch.text_vectors import cached_vectors, vectors_path
from musicrec_desktop.textsearch.texts import SongTexts, library_texts, texts_fingerprint

__all__ = ["AlignmentReport", "Found", "TextEncoderMissing", "alignment_fingerprint", "evaluation",
           "learn_alignment", "search", "alignment_path"]

ALIGN_COMMAND = "musicrec run"  # the pipeline's text-search stage learns the alignment
HELD_OUT_SHARE = 0.2  # songs kept out of learning, for the evaluation
MIN_SONGS = 8  # fewer songs with vectors than this: nothing to learn from
# Search ranks songs by their projected audio mixed with their own description's text vector:
# the words the library has for a song count as much as what the audio says (README, Text search).
OWN_TEXT_SHARE = 0.5
WHY_TAGS = 2  # tags named in a result's "why"
FORMAT = 4  # bump when the saved file's layout changes


@dataclass(frozen=True)
class Found:
    """One song a search found."""

    key: str
    title: str
    artist: str
    album: str
    path: str | None
    score: float  # higher = better: cosine in the text encoder's space + word overlap (lexical.py)
    why: str  # in words: 'matches "orchestral" (near its tags: classical, strings)'


@dataclass
class AlignmentReport:
    """What ``learn_alignment`` measured."""

    text_encoder: str  # the sentence encoder whose space songs are projected into
    embedding_model: str  # the model id of the song vectors it learnt on
    n_songs: int  # songs with vectors and texts, all used for the saved alignment
    n_held_out: int  # songs kept out of the first learning, for the evaluation
    train_s: float  # seconds spent learning (both fits)
    evaluation: dict = field(default_factory=dict)  # evaluate.evaluate_alignment's, and "songs"
    temperature: float = 0.0  # the learnt one
    message: str = ""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def summary(self) -> str:
        return self.message


def alignment_path(dirs: DataDirs) -> Path:
    return dirs.models / "text_alignment.npz"


def _inputs(settings: Settings, dirs: DataDirs, scan: LibraryScan
            ) -> tuple[str, list[Song], np.ndarray, dict[str, SongTexts]]:
    """(model id, songs with vectors, their N x D vectors, their texts)."""
    if not dirs.embeddings_db.exists():
        raise NotReadyError("no song embeddings yet; run `musicrec embed` first")
    with EmbeddingStore(dirs.embeddings_db) as store:
        model_id = store.chosen_model(settings.encoder)
        keys, vectors = store.load(model_id, [s.key for s in scan.songs])
        tag_scores = _extras(store, model_id, "tags")
        genre_scores = _extras(store, model_id, "genres")
    by_key = scan.by_key()
    songs = [by_key[k] for k in keys]
    return model_id, songs, vectors, library_texts(songs, tag_scores, genre_scores,
                                                   settings.genre_categories)


def _extras(store: EmbeddingStore, model_id: str, name: str) -> dict[str, np.ndarray]:
    """The songs' extra output ``name`` ("tags": MusiCNN's, "genres": the genre head's) of the
    chosen model, else of the current model of any backend that has it: words about a song are
    worth having whichever backend's vectors are aligned."""
    for model in [model_id, *(store.current_model(b) for b in ENCODER_BACKENDS)]:
        found = store.load_extras(model, name) if model else {}
        if found:
            return found
    return {}


def alignment_fingerprint(settings: Settings, dirs: DataDirs, scan: LibraryScan) -> str:
    """Changes when the song vectors' model id or any song's texts change (the stage retrains)."""
    model_id, _, _, texts = _inputs(settings, dirs, scan)
    parts = [str(FORMAT), DEFAULT_TEXT_ENCODER, model_id, texts_fingerprint(texts),
             json.dumps(dataclasses.asdict(AlignConfig()), sort_keys=True)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def held_out(key: str) -> bool:
    """Whether a song is kept out of the first learning: decided by its key alone, so the same
    songs are held out every time."""
    return hashlib.sha256(key.encode()).digest()[0] < 256 * HELD_OUT_SHARE


def learn_alignment(settings: Settings, dirs: DataDirs, scan: LibraryScan, *,
                    progress: ProgressCallback = ignore_progress,
                    cancel: CancelToken | None = None,
                    text_encoder: str = DEFAULT_TEXT_ENCODER) -> AlignmentReport:
    """Learns the projection of the chosen encoder backend's song vectors into the space of
    ``text_encoder`` (of ``TEXT_ENCODERS``; other than the default only to measure them) on the
    library's texts: first without the held-out songs, which it then evaluates on, then on every
    song for the saved alignment (``alignment_path``, written atomically)."""
    model_id, songs, vectors, texts = _inputs(settings, dirs, scan)
    if len(songs) < MIN_SONGS:
        raise NotReadyError(f"text search needs at least {MIN_SONGS} songs with embeddings, "
                            f"there are {len(songs)}; run `musicrec embed` first")
    encoder = open_text_encoder(text_encoder)
    out = np.array([held_out(s.key) for s in songs])
    if out.all() or out.sum() < 2:  # a small library: hold out one song in five by position
        out = np.arange(len(songs)) % 5 == 0  # (the evaluation needs two held-out songs)
    test = [i for i in np.flatnonzero(out) if texts[songs[i].key].tags]  # no tags: no query
    test_texts = [texts[songs[i].key] for i in test]
    every_text = [_description(s, texts) for s in songs] + [t for s in songs for t in texts[s.key].tags]
    every_text += [t.tag_text for t in test_texts] + [_names(t) for t in test_texts]
    vector_of = cached_vectors(encoder, every_text, vectors_path(dirs.models, text_encoder),
                               progress=progress, cancel=cancel)
    data, vocabulary, song_tags = _alignment_data(songs, vectors, texts, vector_of)
    started = time.perf_counter()
    train = np.flatnonzero(~out)
    projection, _ = learn_projection(_rows(data, train), progress=progress, cancel=cancel)
    figures = _evaluate(projection, data, test, test_texts, vector_of)
    projection, _ = learn_projection(data, progress=progress, cancel=cancel)
    train_s = time.perf_counter() - started
    if cancel is not None:
        cancel.check()  # a cancel during the last step keeps the previous alignment
    report = AlignmentReport(encoder.name, model_id, len(songs), int(out.sum()), round(train_s, 2),
                             figures, round(projection.temperature, 4))
    report.message = _message(report, len(test))
    _save(dirs, text_encoder, report, projection, songs, texts,
          _search_vectors(projection, data.songs, data.descriptions), data.tags, vocabulary, song_tags)
    return report


def _description(song: Song, texts: dict[str, SongTexts]) -> str:
    return texts[song.key].description or song.display_name


def _names(texts: SongTexts) -> str:
    return texts.names or "a song"  # what stands for a song with no name at all


def _alignment_data(songs: list[Song], vectors: np.ndarray, texts: dict[str, SongTexts],
                    vector_of: dict[str, np.ndarray]) -> tuple[AlignmentData, list[str], list[list[int]]]:
    """The alignment's data, every distinct tag (the vocabulary), each song's tags as rows of it.
    ``vector_of``: text -> its text vector, for every text of these songs."""
    vocabulary = sorted({t for s in songs for t in texts[s.key].tags})
    row = {t: i for i, t in enumerate(vocabulary)}
    song_tags = [[row[t] for t in texts[s.key].tags] for s in songs]
    descriptions = [_description(s, texts) for s in songs]
    ids = {d: i for i, d in enumerate(sorted(set(descriptions)))}
    dimension = len(next(iter(vector_of.values())))
    tag_vectors = np.array([vector_of[t] for t in vocabulary], np.float32).reshape(-1, dimension)
    data = AlignmentData(vectors, np.stack([vector_of[d] for d in descriptions]),
                         np.array([ids[d] for d in descriptions], np.int64), tag_vectors, song_tags)
    return data, vocabulary, song_tags


def _rows(data: AlignmentData, rows: np.ndarray) -> AlignmentData:
    return AlignmentData(data.songs[rows], data.descriptions[rows], data.description_ids[rows],
                         data.tags, [data.song_tags[i] for i in rows])


def _search_vectors(projection: Projection, songs: np.ndarray, words: np.ndarray) -> np.ndarray:
    """N x D_text: what search ranks songs by: their projected vectors (``songs``, N x D_audio)
    mixed with the text vectors of their own words (``words``, N x D_text)."""
    mixed = (1 - OWN_TEXT_SHARE) * projection.project(songs) + OWN_TEXT_SHARE * words
    return mixed / np.maximum(np.linalg.norm(mixed, axis=1, keepdims=True), 1e-12)


def _evaluate(projection: Projection, data: AlignmentData, test: list[int], texts: list[SongTexts],
              vector_of: dict[str, np.ndarray]) -> dict:
    """The evaluation's figures on the held-out songs ``test`` (rows of ``data``) with tags."""
    if len(test) < 2:
        return {}
    held = _rows(data, np.asarray(test))
    names = np.stack([vector_of[_names(t)] for t in texts])
    figures = evaluate.evaluate_alignment(evaluate.HeldOut(
        queries=np.stack([vector_of[t.tag_text] for t in texts]),
        audio=projection.project(held.songs),
        search_hidden=_search_vectors(projection, held.songs, names),
        search_known=_search_vectors(projection, held.songs, held.descriptions),
        tag_texts=[t.tag_text for t in texts], names=[t.names for t in texts]))
    return {"songs": len(test), **figures}


def _message(report: AlignmentReport, n_queries: int) -> str:
    lines = [f"text search: {report.n_songs} songs of {report.embedding_model} aligned to "
             f"{report.text_encoder} in {report.train_s:.1f} s (temperature {report.temperature:.3f})"]
    if report.evaluation:
        lines.append(f"evaluation on {n_queries} held-out songs, their own tags as queries:")
        lines.append(evaluate.summary(report.evaluation))
    else:
        lines.append("too few held-out songs with tags to evaluate")
    return "\n".join(lines)


def _save(dirs: DataDirs, text_encoder: str, report: AlignmentReport, projection: Projection,
          songs: list[Song], texts: dict[str, SongTexts], search_vectors: np.ndarray,
          tag_vectors: np.ndarray, vocabulary: list[str], song_tags: list[list[int]]) -> None:
    meta = {"format": FORMAT, "text_encoder": text_encoder, "report": report.to_dict(),
            "vocabulary": vocabulary,
            "songs": [[s.key, _title(s), s.artist, s.album, str(s.path) if s.path else None, tags,
                       sorted(words(texts[s.key].description))]
                      for s, tags in zip(songs, song_tags, strict=True)]}
    with atomic_write(alignment_path(dirs)) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                 songs=search_vectors.astype(np.float16), tags=tag_vectors)


def _title(song: Song) -> str:
    """Its title; for an untitled song, its file's name (what the player shows then)."""
    return song.title or (song.path.stem if song.path else song.url.rsplit("/", 1)[-1])


@dataclass
class _Saved:
    meta: dict
    songs: np.ndarray  # N x D_text float32: what search ranks by
    tags: np.ndarray  # T x D_text float32: the vocabulary's tags, for the "why"
    mtime: float
    index: WordIndex  # the songs' words, for the query's word overlap


_LOADED: dict[Path, _Saved] = {}  # the tray searches many times: read the file once per change


def _load(dirs: DataDirs) -> _Saved:
    path = alignment_path(dirs)
    try:
        mtime = path.stat().st_mtime
    except FileNotFoundError:
        raise NotReadyError(f"no text search yet: nothing aligned; run `{ALIGN_COMMAND}`") from None
    saved = _LOADED.get(path)
    if saved is None or saved.mtime != mtime:
        try:
            with np.load(path) as npz:
                meta = json.loads(npz["meta"].tobytes())
                songs, tags = npz["songs"].astype(np.float32), npz["tags"]
        except (OSError, ValueError, KeyError) as exc:
            raise ModelError(f"{path}: the text alignment cannot be read ({exc}); "
                             f"run `{ALIGN_COMMAND}` again") from exc
        if meta.get("format") != FORMAT:
            raise NotReadyError(f"{path}: the text alignment is of an older version; "
                                f"run `{ALIGN_COMMAND}`")
        index = WordIndex([song[6] for song in meta["songs"]])
        saved = _LOADED[path] = _Saved(meta, songs, tags, mtime, index)
    return saved


def search(dirs: DataDirs, query: str, n: int = 20) -> list[Found]:
    """The ``n`` songs that best match ``query``, best first. ``NotReadyError`` (naming the
    command to run) when nothing is aligned yet; ``TextEncoderMissing`` when the optional text
    encoder is not installed."""
    query = query.strip()
    if not query:
        raise ValueError("an empty search: say what to look for")
    saved = _load(dirs)
    q = open_text_encoder(saved.meta["text_encoder"]).embed([query])[0]
    return ranked(saved, q, query, n)


def ranked(saved: _Saved, q: np.ndarray, query: str, n: int) -> list[Found]:
    """The ``n`` best songs of the saved alignment for the query ``query`` whose text vector is
    ``q`` (D_text): numpy only, the part of a search after the text is embedded. A song's score:
    the cosine of ``q`` and its vector, plus the overlap of the query's words with its own."""
    scores = saved.songs @ q + LEXICAL_WEIGHT * saved.index.overlap(words(query))  # N
    n = min(n, len(scores))
    top = np.argpartition(-scores, n - 1)[:n] if n else np.zeros(0, np.int64)
    top = top[np.argsort(-scores[top], kind="stable")]
    vocabulary, tag_scores = saved.meta["vocabulary"], saved.tags @ q  # T
    found = []
    for i in top:
        key, title, artist, album, path, tags, song_words = saved.meta["songs"][i]
        found.append(Found(key, title, artist, album, path, round(float(scores[i]), 4),
                           _why(query, tags, song_words, vocabulary, tag_scores)))
    return found


def _why(query: str, tags: list[int], song_words: list[str], vocabulary: list[str],
         tag_scores: np.ndarray) -> str:
    """'tagged "rock"' when the query names one of its tags (all of the tag's words); 'its name
    has "storm"' when it names a word of its title, artist or album; else the tags nearest the
    query."""
    asked = words(query)
    named = [vocabulary[t] for t in tags if (tag := words(vocabulary[t])) and tag <= asked]
    if named:
        return "tagged " + ", ".join(f'"{t}"' for t in named)
    in_name = sorted(asked.intersection(song_words).difference(*(words(vocabulary[t]) for t in tags)))
    if in_name:
        return "its name has " + ", ".join(f'"{w}"' for w in in_name)
    if not tags:
        return f'matches "{query}" (its sound and its name; it has no tags)'
    nearest = sorted(tags, key=lambda t: -tag_scores[t])[:WHY_TAGS]
    return f'matches "{query}" (near its tags: {", ".join(vocabulary[t] for t in nearest)})'


def evaluation(dirs: DataDirs) -> dict:
    """The evaluation figures saved with the alignment (``musicrec search --evaluate``, the model
    report): {"songs": held-out songs queried, "<setting>: <method> <direction>": {"recall@1",
    ..., "mrr"}} (``evaluate.evaluate_alignment``);
    ``NotReadyError`` when nothing is aligned yet."""
    return dict(_load(dirs).meta["report"]["evaluation"])
