"""The acoustic encoder: CQT front end, 2-D ResNet, MoCo v2 with a genre head, training, embedding.

Public entry point: ``model.train.train_encoder``; songs are embedded through the ``moco``
encoder backend (``musicrec_desktop.encoders``). torch and
nnAudio are imported by the modules in here, so import them only where work starts.
"""
