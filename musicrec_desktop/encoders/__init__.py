"""Encoder backends: the plug point that turns a song's audio into a vector.

``base.EncoderBackend`` is the protocol, ``plugpoints.ENCODER_BACKENDS`` names every backend (one
line each), ``choice`` opens the one the ``encoder`` setting chooses, ``embed.embed_songs`` runs it over the
chunk cache into the embeddings store, where each backend's vectors are kept under its model id.
"""
