"""The settings of the BERT4Rec recommender (``bert4rec``), shared by the recommender and its
network (``bert4rec_net``) without either importing the other's module for them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bert4RecConfig:
    max_length: int = 50  # songs a sequence holds, the mask included; longer sessions are cut in windows
    hidden: int = 64  # hidden size (the BERT4Rec paper's)
    layers: int = 2  # the study's
    heads: int = 2  # the study's
    intermediate: int = 256  # the feed-forward width (the study's)
    dropout: float = 0.1  # on embeddings, attention output and feed-forward
    mask_share: float = 0.2  # positions masked in a training sequence (the study's 20 %)
    batch: int = 64  # sequences per step
    learning_rate: float = 1e-3  # Adam
    lr_factor: float = 0.5  # ReduceLROnPlateau: the rate is multiplied by this ...
    lr_patience: int = 2  # ... after this many epochs without a better validation NDCG@10
    patience: int = 6  # epochs without a better validation NDCG@10 before stopping
    max_epochs: int = 200  # a ceiling; early stopping ends sooner
    validation_fraction: float = 0.2  # the latest sessions, held out to decide when to stop
    min_sessions: int = 4  # fewer sessions than this: nothing to learn, scored as the KNN
    full_softmax_max: int = 60_000  # songs up to which the loss is a softmax over all of them
    sampled_songs: int = 8_192  # above that: songs sampled per step besides the masked ones
    sharpness: float = 10.0  # the start's scale of the cosine in the softmax (learnt from there)
    seed: int = 0
