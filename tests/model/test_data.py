"""Training data: per-batch crop lengths, seeded items, augmentations, datasets."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.constants import CQT_HOP, SAMPLE_RATE
from musicrec_desktop.model import augment
from musicrec_desktop.model.data import (
    ChunkCropDataset,
    EpochBatches,
    PairDataset,
    TrainSong,
    crop_samples,
    fit_length,
)
from tests.model.styles_source import MemorySource


def test_epoch_batches_share_one_crop_length_each_and_leave_out_the_rest():
    batches = list(EpochBatches(23, 5, epoch=0, seed=1, crop_seconds=(5.0, 15.0)))
    assert len(batches) == 4  # 20 of 23 songs: full batches only
    assert len({item.song for batch in batches for item in batch}) == 20
    lengths = {batch[0].samples for batch in batches}
    assert len(lengths) > 1  # lengths vary between batches ...
    for batch in batches:
        assert len({item.samples for item in batch}) == 1  # ... never within one
        assert batch[0].samples % CQT_HOP == 0
        assert 5.0 * SAMPLE_RATE - CQT_HOP <= batch[0].samples <= 15.0 * SAMPLE_RATE + CQT_HOP


def test_epoch_batches_keep_a_last_smaller_batch_of_four_or_more():
    batches = list(EpochBatches(60, 32, epoch=0, seed=1, crop_seconds=(5.0, 15.0)))
    assert [len(b) for b in batches] == [32, 28]
    assert [len(b) for b in EpochBatches(13, 4, 0, 1, (5.0, 15.0))] == [4, 4, 4]  # 1 left out
    assert [len(b) for b in EpochBatches(15, 5, 0, 1, (5.0, 15.0))] == [5, 5, 5]
    assert [len(b) for b in EpochBatches(19, 5, 0, 1, (5.0, 15.0))] == [5, 5, 5, 4]
    assert EpochBatches.per_epoch(19, 5) == 19 and EpochBatches.per_epoch(23, 5) == 20
    assert len(EpochBatches(60, 32, 0, 1, (5.0, 15.0))) == 2


def test_epoch_batches_are_seeded_and_resume_mid_epoch():
    full = list(EpochBatches(40, 4, epoch=3, seed=7, crop_seconds=(5.0, 15.0)))
    assert full == list(EpochBatches(40, 4, epoch=3, seed=7, crop_seconds=(5.0, 15.0)))
    assert list(EpochBatches(40, 4, epoch=3, seed=7, crop_seconds=(5.0, 15.0), start=12)) == full[3:]
    assert len(EpochBatches(40, 4, epoch=3, seed=7, crop_seconds=(5.0, 15.0), start=12)) == 7
    other_epoch = list(EpochBatches(40, 4, epoch=4, seed=7, crop_seconds=(5.0, 15.0)))
    assert [i.song for b in other_epoch for i in b] != [i.song for b in full for i in b]


def test_fit_length_cuts_or_pads():
    wave = np.ones((2, 10), dtype=np.float32)
    assert fit_length(wave, 4).shape == (2, 4)
    padded = fit_length(wave, 12)
    assert padded.shape == (2, 12) and padded[:, 10:].sum() == 0.0


def test_crop_samples_are_whole_frames():
    assert crop_samples(5.0) == 156 * CQT_HOP  # 5 s = 156.25 frames
    assert crop_samples(0.001) == CQT_HOP


def test_noise_lands_in_the_snr_range():
    rng = np.random.default_rng(0)
    wave = np.sin(np.linspace(0, 2000, 32000)).astype(np.float32) * 0.3
    for _ in range(10):
        noisy = augment.add_noise(wave, rng)
        snr = 10 * np.log10(np.mean(wave**2) / np.mean((noisy - wave) ** 2))
        assert 24.5 <= snr <= 35.5


def test_mixup_keeps_the_song_dominant():
    rng = np.random.default_rng(1)
    wave, partner = np.ones((2, 100), np.float32), np.zeros((2, 100), np.float32)
    for _ in range(50):
        mixed = augment.mixup(wave, partner, rng)
        assert 0.5 <= float(mixed[0, 0]) <= 1.0


def test_view_is_mono_and_silence_stays_silent():
    rng = np.random.default_rng(2)
    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.5)]).astype(np.float32)
    seen = set()
    for _ in range(100):
        mono = augment.to_mono(stereo, rng)
        assert mono.shape == (100,)
        seen.add(float(mono[0]))
    assert seen == {0.5, -0.5, 0.0}  # left, right or their average
    assert not augment.add_noise(np.zeros(10, np.float32), rng).any()


def make_source() -> tuple[MemorySource, list[TrainSong]]:
    rng = np.random.default_rng(0)
    songs = {f"s{i}": [rng.standard_normal((2, SAMPLE_RATE * 3)).astype(np.float32) * (i + 1)
                       for _ in range(2)] for i in range(4)}
    source = MemorySource(songs)
    train = [TrainSong(e.song_key, e.chunk_seconds, (i % 2,) if i < 3 else ())
             for i, e in enumerate(source.entries())]
    return source, train


def test_pair_dataset_gives_two_different_views_and_targets():
    source, train = make_source()
    dataset = PairDataset(lambda: source, train, n_categories=2)
    item = next(iter(EpochBatches(4, 2, 0, 1, (1.0, 1.5))))[0]
    q, k, targets, labelled, song_id = dataset[item]
    assert int(song_id) == item.song
    assert q.shape == k.shape == (item.samples,)
    assert not np.allclose(q.numpy(), k.numpy())
    song = train[item.song]
    assert bool(labelled) == bool(song.genres)
    assert targets.tolist() == [float(c in song.genres) for c in range(2)]
    again = dataset[item]  # seeded: the same item gives the same views
    np.testing.assert_array_equal(again[0].numpy(), q.numpy())


def test_pair_dataset_pads_chunks_shorter_than_the_crop():
    source, train = make_source()
    dataset = PairDataset(lambda: source, train, n_categories=2)
    q, *_ = dataset[EpochBatches(4, 2, 0, 1, (4.0, 4.0)).__iter__().__next__()[0]]
    assert q.shape == (crop_samples(4.0),)


@pytest.mark.parametrize("seconds", [1.0, None])
def test_chunk_crop_dataset(seconds):
    source, train = make_source()
    index, chunks = ChunkCropDataset(lambda: source, train, seconds)[1]
    assert index == 1 and len(chunks) == 2
    expected = crop_samples(seconds) if seconds else 3 * SAMPLE_RATE
    assert all(c.shape == (expected,) and c.dtype == np.float32 for c in chunks)
