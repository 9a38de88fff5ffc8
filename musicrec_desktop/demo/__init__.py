"""The demo library: generated music in seven styles and a simulated listener's ratings.

Kept free of heavy imports so that the command line can read these defaults cheaply.
"""

DEMO_SONGS = 200  # songs in the demo library
DEMO_SEED = 7  # the seed of the default demo library (music, names and ratings)
