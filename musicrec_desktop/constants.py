"""The signal path in one place. Everything else derives from these numbers."""

# Audio as cached and fed to the encoder.
SAMPLE_RATE = 16_000  # Hz
CHANNELS = 2  # stereo survives caching: the channel-select augmentation needs left and right
CHUNK_SECONDS = 30.0  # one cached chunk
CHUNKS_PER_SONG = 4
CHUNK_SAMPLES = int(SAMPLE_RATE * CHUNK_SECONDS)  # 480_000
EDGE_SKIP_FRACTION = 0.05  # intros and fades: chunks avoid the first and last 5 % of a song

# Constant-Q transform front end (nnAudio CQT2010v2).
CQT_BINS = 84  # seven octaves
CQT_BINS_PER_OCTAVE = 12
CQT_FMIN = 32.703195662574829  # Hz, C1
CQT_HOP = 512  # samples; 31.25 frames per second at 16 kHz

# Training crops taken from a chunk.
CROP_MIN_SECONDS = 5.0
CROP_MAX_SECONDS = 15.0
