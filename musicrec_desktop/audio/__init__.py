"""Decoding, resampling, chunk selection and the chunk cache (16 kHz stereo chunks of every song).

``build.build_cache`` fills the cache from the library; ``cache.ChunkCache`` reads it back.
Worker processes import only ``_worker`` (light at import time), so keep this file empty of imports.
"""
