"""Backbones, the MoCo module, split batch norm and the losses, on tiny inputs."""

from __future__ import annotations

import math

import pytest
import torch

from musicrec_desktop.constants import CQT_BINS
from musicrec_desktop.model.config import EncoderConfig
from musicrec_desktop.model.moco import MoCo, genre_loss, moco_loss
from musicrec_desktop.model.resnet import build_backbone
from musicrec_desktop.model.splitbn import SplitBatchNorm2d, cross_group_permutation, set_splits

CATEGORIES = ("a", "b", "c")


def tiny_moco(**changes) -> MoCo:
    torch.manual_seed(0)
    config = EncoderConfig(backbone="resnet18", width=4, projection_dim=4, genre_categories=CATEGORIES,
                           queue_size=8, bn_splits=2).replace(**changes)
    return MoCo(config)


@pytest.mark.parametrize(("name", "dim"), [("resnet50", 2048), ("resnet18", 512)])
def test_backbone_embedding_size_follows_the_backbone(name, dim):
    model = build_backbone(name).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 1, CQT_BINS, 40))
    assert out.shape == (2, dim)
    assert model.embedding_dim == dim
    assert EncoderConfig(backbone=name).embedding_dim == dim


def test_mean_and_std_pooling_doubles_the_embedding_and_sees_change_in_time():
    """Two images with the same average but different movement in time: mean pooling of a
    position-independent feature cannot tell them apart, mean + std pooling can."""
    torch.manual_seed(0)
    model = build_backbone("resnet18", width=4, pooling="meanstd").eval()
    assert model.embedding_dim == 64
    assert EncoderConfig(backbone="resnet18", width=4, pooling="meanstd").embedding_dim == 64
    steady = torch.zeros(1, 1, CQT_BINS, 256)
    moving = steady.clone()
    moving[..., :128] = 1.0
    moving[..., 128:] = -1.0
    with torch.no_grad():
        out = model(torch.cat([steady, moving]))
    assert out.shape == (2, 64)
    assert float(out[0, 32:].abs().max()) < 1e-5  # no change in time: zero spread
    assert float(out[1, 32:].max()) > 1e-3
    with pytest.raises(ValueError, match="pooling"):
        build_backbone("resnet18", pooling="max")


def test_backbone_takes_any_number_of_frames():
    model = build_backbone("resnet18", width=4).eval()
    with torch.no_grad():
        assert model(torch.randn(3, 1, CQT_BINS, 17)).shape == (3, 32)
        assert model(torch.randn(3, 1, CQT_BINS, 300)).shape == (3, 32)


def test_queue_pointer_wraps_around():
    model = tiny_moco()
    keys = [torch.full((3, 4), float(i + 1)) for i in range(3)]
    model._enqueue(keys[0])
    assert int(model.queue_ptr) == 3
    model._enqueue(keys[1])
    assert int(model.queue_ptr) == 6
    model._enqueue(keys[2])  # slots 6, 7, then 0
    assert int(model.queue_ptr) == 1
    column_values = model.queue[0].tolist()
    assert column_values == [3.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0, 3.0]


def test_queue_longer_batch_keeps_its_last_keys():
    model = tiny_moco()
    keys = torch.arange(10, dtype=torch.float32)[:, None].repeat(1, 4)  # 10 keys, queue of 8
    model._enqueue(keys)
    assert int(model.queue_ptr) == 0
    assert model.queue[0].tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]


def test_queue_and_pointer_are_saved_with_the_model():
    state = tiny_moco().state_dict()
    assert state["queue"].shape == (4, 8)
    assert "queue_ptr" in state


def test_momentum_update_moves_key_encoder_towards_query():
    model = tiny_moco(momentum=0.9)
    for p in model.backbone_q.parameters():
        p.data.fill_(1.0)
    for p in model.backbone_k.parameters():
        p.data.fill_(0.0)
    model._momentum_update()
    for p in model.backbone_k.parameters():
        torch.testing.assert_close(p, torch.full_like(p, 0.1))
    model._momentum_update()
    for p in model.backbone_k.parameters():
        torch.testing.assert_close(p, torch.full_like(p, 0.19))  # 0.9 * 0.1 + 0.1 * 1
    assert not any(p.requires_grad for p in model.backbone_k.parameters())


def test_forward_gives_positive_first_logits_and_fills_queue():
    model = tiny_moco().train()
    images = torch.randn(4, 1, CQT_BINS, 24)
    out = model(images, images + 0.01 * torch.randn_like(images), torch.Generator().manual_seed(0))
    assert out.logits.shape == (4, 1 + 8)
    assert out.genre_logits.shape == (4, 3)
    assert int(model.queue_ptr) == 4
    # Logits are cosine similarities over the temperature.
    assert out.logits.abs().max() <= 1.0 / model.config.temperature + 1e-4


def test_a_songs_own_queued_keys_are_not_its_negatives():
    """With fewer songs than queue slots the queue holds older keys of the batch's own songs: they
    must not count as negatives (their logit is -inf, no weight in the softmax)."""
    model = tiny_moco(queue_size=8).train()
    images = torch.randn(4, 1, CQT_BINS, 24)
    songs = torch.tensor([0, 1, 2, 3])
    model(images, images, torch.Generator().manual_seed(0), songs)  # queue: songs 0-3 at slots 0-3
    assert model.queue_songs.tolist() == [0, 1, 2, 3, -1, -1, -1, -1]
    out = model(images, images, torch.Generator().manual_seed(1), songs)
    negatives = out.logits[:, 1:]
    for row in range(4):
        assert float(negatives[row, row].detach()) == -math.inf
        others = [c for c in range(8) if c != row]
        assert torch.isfinite(negatives[row, others]).all()
    assert math.isfinite(float(moco_loss(out.logits)))


def test_a_checkpoint_without_queue_songs_still_loads():
    state = tiny_moco().state_dict()
    del state["queue_songs"]
    model = tiny_moco()
    model.load_state_dict(state)
    assert model.queue_songs.tolist() == [-1] * 8


def test_keys_come_back_in_query_order():
    """The key encoder sees a shuffled batch; its keys must be unshuffled for the pairs to match."""
    model = tiny_moco(bn_splits=2).train()
    model.backbone_k.eval()  # running statistics: every key depends on its own input only
    images = torch.randn(6, 1, CQT_BINS, 24)
    keys = model._keys(images, 2, torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = torch.nn.functional.normalize(model.head_k(model.backbone_k(images)), dim=1)
    torch.testing.assert_close(keys, expected)


def group_overlaps(perm: torch.Tensor, splits: int) -> torch.Tensor:
    """splits x splits: [h, g] = songs of query group g (position % splits in the batch) that the key
    encoder normalises in key group h (position % splits in ``batch[perm]``)."""
    overlaps = torch.zeros(splits, splits, dtype=torch.long)
    for position, song in enumerate(perm.tolist()):
        overlaps[position % splits, song % splits] += 1
    return overlaps


BATCHES = [(4, 2), (10, 2), (6, 3), (30, 3), (8, 4), (20, 4), (128, 4)]  # (songs, groups)


@pytest.mark.parametrize(("n", "splits"), BATCHES)
def test_keys_are_dealt_over_every_query_group(n, splits):
    """No key group takes more than ceil(m / splits) songs of one query group, m = n / splits: the
    statistics that normalise a song's key share at most that many songs with its query's."""
    generator = torch.Generator().manual_seed(0)
    per_group = n // splits
    bound = math.ceil(per_group / splits)
    for _ in range(20):
        perm = cross_group_permutation(n, splits, generator)
        assert sorted(perm.tolist()) == list(range(n))
        overlaps = group_overlaps(perm, splits)
        assert int(overlaps.max()) <= bound
        assert overlaps.sum(dim=1).tolist() == [per_group] * splits  # equal key groups
        # Hence every song's key is normalised with songs of other query groups than its own.
        for position, song in enumerate(perm.tolist()):
            assert overlaps[position % splits, song % splits] < per_group


def test_the_old_group_move_would_fail_the_overlap_bound():
    """The check above can fail: moving each query group whole into another key group (the
    earlier design) keeps all m songs together."""
    moved = torch.cat([torch.arange(g, 12, 4) for g in (1, 2, 3, 0)]).view(4, 3).T.reshape(-1)
    assert int(group_overlaps(moved, 4).max()) == 3 > math.ceil(3 / 4)


def test_cross_group_permutation_undone_by_its_inverse():
    perm = cross_group_permutation(24, 4, torch.Generator().manual_seed(5))
    values = torch.randn(24, 3)
    torch.testing.assert_close(values[perm][torch.argsort(perm)], values, rtol=0, atol=0)


def test_keys_are_normalised_with_the_songs_of_their_key_group():
    """In training, key i equals the key encoder run with plain batch norm on the songs dealt to its
    key group alone, back at position i: the groups the batch norm sees are the dealt ones."""
    model = tiny_moco(bn_splits=3).train()
    n, splits = 12, 3
    images = torch.randn(n, 1, CQT_BINS, 24)
    set_splits(model, splits)
    with torch.no_grad():
        keys = model._keys(images, splits, torch.Generator().manual_seed(3))
        perm = cross_group_permutation(n, splits, torch.Generator().manual_seed(3))
        set_splits(model, 1)
        expected = torch.empty_like(keys)
        for h in range(splits):
            songs = perm[h::splits]
            keys_h = model.head_k(model.backbone_k(images[songs]))
            expected[songs] = torch.nn.functional.normalize(keys_h, dim=1)
    torch.testing.assert_close(keys, expected, rtol=1e-4, atol=1e-5)


def test_query_encoder_normalises_each_query_group_alone():
    """Query batch norm is split too (as MoCo's per-GPU batch norm): changing a song of group 1
    leaves the genre logits of group 0 (positions 0, 2, 4) as they were."""
    images = torch.randn(6, 1, CQT_BINS, 24)
    changed = images.clone()
    changed[1] += 3.0
    outputs = []
    for batch in (images, changed):
        model = tiny_moco(bn_splits=2).train()  # a fresh one each: forward moves the key encoder
        outputs.append(model(batch, batch.clone(), torch.Generator().manual_seed(0)).genre_logits)
    torch.testing.assert_close(outputs[0][0::2], outputs[1][0::2])
    assert not torch.allclose(outputs[0][1::2], outputs[1][1::2])


def test_split_batch_norm_normalises_each_sub_batch_alone():
    torch.manual_seed(0)
    x = torch.randn(6, 3, 4, 5) * torch.tensor([1.0, 5.0, 1.0, 5.0, 1.0, 5.0])[:, None, None, None]
    split = SplitBatchNorm2d(3, splits=2).train()
    plain = torch.nn.BatchNorm2d(3).train()
    out = split(x)
    for group in (0, 1):
        torch.testing.assert_close(out[group::2], plain(x[group::2]))


def test_split_batch_norm_keeps_sub_batches_from_seeing_each_other():
    split = SplitBatchNorm2d(2, splits=2).train()
    x = torch.randn(4, 2, 3, 3)
    changed = x.clone()
    changed[1] += 100.0  # sample 1 is in sub-batch 1
    torch.testing.assert_close(split(x)[0::2], split(changed)[0::2])


def test_split_batch_norm_is_plain_batch_norm_in_eval():
    split = SplitBatchNorm2d(2, splits=2).eval()
    plain = torch.nn.BatchNorm2d(2).eval()
    x = torch.randn(4, 2, 3, 3)
    torch.testing.assert_close(split(x), plain(x))


def test_default_split_bn_shares_an_eighth_of_the_statistics_at_batch_128():
    """MoCo's single-device reference uses 8 sub-batches: a query group and a key group then share
    at most 2 of their 16 songs at batch 128 (4 sub-batches shared 8 of 32: a quarter)."""
    config = EncoderConfig()
    assert config.bn_splits == 8
    model = MoCo(config.replace(backbone="resnet18", width=4, projection_dim=4, queue_size=8))
    n = 128
    splits = model.bn_splits_for(n)
    perm = cross_group_permutation(n, splits, torch.Generator().manual_seed(0))
    query_group = torch.arange(n) % splits  # song i is normalised in query group i % splits
    key_group_of_song = torch.empty(n, dtype=torch.long)
    key_group_of_song[perm] = torch.arange(n) % splits  # position j of batch[perm] is key group j % splits
    shared = max(int(((query_group == g) & (key_group_of_song == h)).sum())
                 for g in range(splits) for h in range(splits))
    assert shared / (n // splits) <= 1 / 8


def test_bn_splits_divide_the_batch():
    model = tiny_moco(bn_splits=4)
    assert model.bn_splits_for(16) == 4
    assert model.bn_splits_for(6) == 3
    assert model.bn_splits_for(10) == 2
    assert model.bn_splits_for(3) == 1


def test_genre_loss_masks_unlabelled_songs():
    logits = torch.tensor([[0.0, 0.0], [5.0, -5.0]], requires_grad=True)
    targets = torch.tensor([[1.0, 0.0], [0.0, 0.0]])
    labelled = torch.tensor([True, False])
    loss = genre_loss(logits, targets, labelled)
    assert loss.item() == pytest.approx(2 * math.log(2))  # summed over 2 categories, one song
    loss.backward()
    assert logits.grad[1].abs().sum().item() == 0.0  # the unlabelled song gets no gradient


def test_genre_loss_is_zero_without_labelled_songs():
    logits = torch.randn(3, 2, requires_grad=True)
    loss = genre_loss(logits, torch.zeros(3, 2), torch.zeros(3, dtype=torch.bool))
    assert loss.item() == 0.0
    loss.backward()  # still differentiable: the step does not need a special case


def test_moco_loss_is_cross_entropy_with_the_positive_first():
    logits = torch.tensor([[10.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    expected = (-math.log(math.exp(10) / (math.exp(10) + 2)) + math.log(3)) / 2
    assert moco_loss(logits).item() == pytest.approx(expected, rel=1e-6)
