"""Makes the MusiCNN golden fixtures with the original musicnn 0.1.0 and TensorFlow (not run by tests).

Run in a throwaway environment outside the repository, never in .venv:

    python3 -m venv /tmp/tfenv
    /tmp/tfenv/bin/pip install tensorflow-cpu==2.21.0 tf_keras==2.21.0 librosa==0.11.0
    /tmp/tfenv/bin/pip install --no-deps musicnn==0.1.0
    TF_USE_LEGACY_KERAS=1 /tmp/tfenv/bin/python tests/musicnn/make_golden.py ../shared/audio

Three shims, here and nowhere else. TF_USE_LEGACY_KERAS=1 gives musicnn's tf.compat.v1.layers
the Keras 2 they were written for. All patches go in one batch: musicnn's extractor loop over later
batches appends the first batch's penultimate features again instead of the new ones (its tags are
right). And the log compression runs in float32: musicnn computes
``np.log10(10000 * mel + 1)`` on a float16 mel, which overflows to inf (then NaN in every output)
wherever the mel power passes 6.55, as loud music does; the port keeps the float16 rounding of the
mel power and takes the logarithm in float32, and the fixtures are made the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf
from musicnn import extractor as musicnn_extractor

sys.path.insert(0, str(Path(__file__).resolve().parent))
from clips import CLIPS, SAMPLE_RATE, clip  # noqa: E402

OUT = Path(__file__).resolve().parent / "golden"


def log_mel_float32(audio_file: str, n_frames: int, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """musicnn's batch_data with the logarithm taken in float32 (see the module docstring)."""
    audio, sr = librosa.load(audio_file, sr=SAMPLE_RATE)
    mel = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=256, n_fft=512, n_mels=96).T
    rep = np.log10(10000 * mel.astype(np.float16).astype(np.float32) + 1)
    starts = range(0, rep.shape[0] - n_frames + 1, overlap)
    return np.stack([rep[s:s + n_frames] for s in starts]), rep


def main() -> None:
    shared = Path(sys.argv[1])
    musicnn_extractor.batch_data = log_mel_float32
    musicnn_extractor.config.BATCH_SIZE = 64  # every patch of a clip in the first (correct) batch
    OUT.mkdir(exist_ok=True)
    np.savez_compressed(OUT / "librosa_mel_filters.npz",
                        filters=librosa.filters.mel(sr=SAMPLE_RATE, n_fft=512, n_mels=96))
    for name in CLIPS:
        wav = Path("/tmp") / f"musicnn_golden_{name}.wav"
        sf.write(wav, clip(name, shared), SAMPLE_RATE, subtype="FLOAT")
        taggram, _, features = musicnn_extractor.extractor(str(wav), model="MSD_musicnn")
        _, log_mel = log_mel_float32(str(wav), 187, 187)
        np.savez_compressed(OUT / f"{name}.npz", tags=taggram.astype(np.float32),
                            penultimate=features["penultimate"].astype(np.float32),
                            log_mel=log_mel[:187].astype(np.float32))


if __name__ == "__main__":
    main()
