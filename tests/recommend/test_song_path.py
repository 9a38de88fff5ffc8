"""The song path (issue 18, item 2): N smooth steps from one song to another, the target last."""

from __future__ import annotations

import numpy as np
import pytest

from musicrec_desktop.errors import NotReadyError
from musicrec_desktop.recommend.path import waypoints
from musicrec_desktop.recommend.service import Recommender


def _ends(lib):
    start = next(s for s in lib.scan.songs if s.artist == "Artist 1")
    target = next(s for s in lib.scan.songs if s.artist == "Artist 5" and s.title.endswith("-7"))
    return start, target


def test_a_path_of_eight_steps_ends_at_its_target_without_repeats(library):
    start, target = _ends(library)
    rec = Recommender.open(library.ctx, library.scan)

    path = rec.path(str(start.path), target.url, 8)

    keys = [r.song.key for r in path.steps]
    assert len(keys) == 8 and keys[-1] == target.key
    assert len(set(keys)) == 8 and start.key not in keys
    assert path.start.song.key == start.key
    # smooth: no hop jumps further than the straight line, and the walk moves towards the target
    assert path.smooth and min(path.hops) >= path.direct
    to_target = [float(library.vectors[k] @ library.vectors[target.key]) for k in [start.key, *keys]]
    assert to_target[-1] == pytest.approx(1.0, abs=1e-5)
    assert np.mean(to_target[5:]) > np.mean(to_target[:4])
    assert path.steps[0].reason == f"step 1 of 8 from {start.display_name} to {target.display_name}"
    # dislikes are not steps, though the ends are the person's choice
    assert all(r.song.rating is None or r.song.rating > 0.4 for r in path.steps[:-1])


def test_waypoints_are_evenly_spaced_on_the_arc():
    a, b = np.eye(4)[0], np.eye(4)[1]  # 90 degrees apart
    points = waypoints(a, b, 3)  # two points: at 30 and 60 degrees
    assert points.shape == (2, 4)
    assert np.allclose(np.linalg.norm(points, axis=1), 1.0)
    assert np.degrees(np.arccos(points @ a)) == pytest.approx([30.0, 60.0])


def test_a_path_needs_two_known_songs(library):
    start, _ = _ends(library)
    rec = Recommender.open(library.ctx, library.scan)
    with pytest.raises(NotReadyError, match="two different songs"):
        rec.path(str(start.path), start.url, 4)
    with pytest.raises(NotReadyError, match="musicrec embed"):
        rec.path(str(start.path), "/nowhere/song.flac", 4)


def test_a_library_too_small_gives_the_steps_it_has(library):
    start, target = _ends(library)
    rec = Recommender.open(library.ctx, library.scan)
    path = rec.path(start.url, target.url, 500)
    keys = [r.song.key for r in path.steps]
    assert keys[-1] == target.key and len(keys) == len(set(keys)) < 500
