"""MusiCNN's 50 tags and what they say about genre (no torch here: the report window reads them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

# musicnn's 50 Million Song Dataset tags (configuration.MSD_LABELS), in output order.
MSD_TAGS = (
    "rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
    "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
    "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental",
    "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist",
    "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk",
    "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy",
)


def tag_genres(tags: np.ndarray, categories_of: Callable[[str], list[str]],
               categories: Sequence[str]) -> np.ndarray:
    """MusiCNN tag probabilities -> genre category scores, as the encoder's genre head gives them.

    tags: N x 50 (``MSD_TAGS`` order); ``categories_of``: a tag -> its categories (the person's
    genre mapping, ``GenreMapper.categories``). Returns N x C float32: per category, the highest
    probability of its tags ("jazz", "instrumental" -> jazz_classical); 0 where no tag maps to it.
    """
    scores = np.zeros((tags.shape[0], len(categories)), np.float32)
    column = {c: i for i, c in enumerate(categories)}
    for t, tag in enumerate(MSD_TAGS):
        for category in categories_of(tag):
            if category in column:
                scores[:, column[category]] = np.maximum(scores[:, column[category]], tags[:, t])
    return scores
