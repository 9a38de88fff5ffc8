"""The acoustic encoder: CQT front end, 2-D ResNet, MoCo v2 with a genre head, training, embedding.

Public entry points: ``model.train.train_encoder`` and ``model.embed.embed_songs``. torch and
nnAudio are imported by the modules in here, so import them only where work starts.
"""
