"""Checkpoint files on a full disk and after a killed save (issue 19, items 7 and 8): a message
that names the file, the previous checkpoint intact, and no temporary file left for good."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from musicrec_desktop.errors import StorageError
from musicrec_desktop.model.checkpoint import (
    checkpoint_path,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from musicrec_desktop.paths import DataDirs
from tests.model.styles_source import style_library
from tests.model.test_training import CATEGORIES, run
from tests.support.disk import fill, small_disk

# A process killed by SIGKILL in the middle of saving its checkpoint (pickling ``Kill`` kills it).
KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys, torch
    from pathlib import Path
    from musicrec_desktop.model.checkpoint import save_checkpoint

    class Kill:
        def __reduce__(self):
            os.kill(os.getpid(), signal.SIGKILL)

    save_checkpoint(Path(sys.argv[1]), {"weights": torch.ones(2_000_000), "then": Kill()})
""")


def test_a_killed_save_leaves_a_temporary_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "models" / "encoder" / "checkpoint.pt"
    save_checkpoint(path, {"step": 1})
    killed = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)])
    assert killed.wait(120) == -signal.SIGKILL
    left = [p.name for p in path.parent.glob(".checkpoint-*.tmp")]
    assert len(left) == 1 and left[0].startswith(f".checkpoint-{killed.pid}-")
    mine = path.parent / f".checkpoint-{os.getpid()}-saving.tmp"  # a save still in progress
    mine.write_bytes(b"x")
    assert load_checkpoint(path)["step"] == 1  # the previous checkpoint is intact
    save_checkpoint(path, {"step": 2})
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(["checkpoint.pt", mine.name])
    assert load_checkpoint(path)["step"] == 2


def test_training_starts_by_removing_a_killed_saves_temporary_file(tmp_path):
    encoder = checkpoint_path(DataDirs.under(tmp_path)).parent
    encoder.mkdir(parents=True)
    old_style = encoder / ".checkpoint-k2j3h4.tmp"  # named before names held the pid
    dead = encoder / ".checkpoint-999999999-abc.tmp"  # no such process
    for stale in (old_style, dead):
        stale.write_bytes(b"\0" * 1000)
    assert sorted(remove_stale_temporaries(encoder)) == sorted([old_style, dead])
    assert list(encoder.iterdir()) == []


def test_a_checkpoint_on_a_full_disk_is_a_storage_error_and_keeps_the_old_one(tmp_path):
    with small_disk(tmp_path / "disk", 2048) as disk:
        path = disk / "encoder" / "checkpoint.pt"
        save_checkpoint(path, {"step": 1})
        fill(disk)
        with pytest.raises(StorageError) as caught:
            save_checkpoint(path, {"step": 2, "weights": torch.ones(1_000_000)})
        assert str(caught.value).startswith(f"{path}: the disk is full (No space left on device")
        assert sorted(p.name for p in path.parent.iterdir()) == ["checkpoint.pt"]
        assert load_checkpoint(path)["step"] == 1


@pytest.fixture(scope="module")
def library():
    return style_library(4, 2, 3.0, CATEGORIES)


def test_train_encoder_on_a_full_disk_says_so(tmp_path, library):
    """The models folder on a disk with room for the metrics but not the checkpoint (730 kB):
    torch's own file writer would raise "RuntimeError: [enforce fail at inline_container.cc]"."""
    with small_disk(tmp_path / "disk", 1024) as disk:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "models").symlink_to(disk)
        fill(disk, leave_bytes=200_000)
        with pytest.raises(StorageError) as caught:
            run(tmp_path / "data", library, epochs=1)
        assert str(caught.value).startswith(
            f"{tmp_path / 'data' / 'models' / 'encoder' / 'checkpoint.pt'}: the disk is full (No space "
            "left on device, ")
        assert [p.name for p in (disk / "encoder").iterdir()] == ["metrics.jsonl"]
