"""Seven clearly different styles of generated music, one per default genre category.

``render_song(style, seed, seconds)`` composes and mixes one song: the seed picks the style's
variant (e.g. house, techno or drum & bass), the key, the tempo within the variant's range, the
chord progressions, the grooves, the melody and the instruments, so that songs of one style share
a sound without being copies. Only numpy is used; a two-minute song takes a fraction of a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from musicrec_desktop.demo import synth
from musicrec_desktop.demo.variants import CHORD_TONES, STYLE_VARIANTS, Chord, Variant

STYLES: tuple[str, ...] = tuple(STYLE_VARIANTS)

TARGET_RMS = 0.16  # about -16 dBFS RMS, near -14 LUFS for full-band music
PEAK_LIMIT = 0.95

# Base level of each part before the variant's changes and the song's own mix.
PART_GAINS = {"drums": 1.0, "bass": 0.75, "comp": 0.45, "lead": 0.42, "pad": 0.22, "arp": 0.22}
DRUM_GAINS = {"kick": 1.0, "snare": 0.75, "clap": 0.6, "hat": 0.22, "open_hat": 0.2, "ride": 0.2,
              "crash": 0.3, "brush": 0.3, "clave": 0.35, "conga": 0.5, "shaker": 0.18}
DRUM_PANS = {"hat": 0.3, "open_hat": 0.3, "ride": -0.35, "clave": 0.4, "conga": -0.3, "shaker": 0.45,
             "brush": 0.2, "crash": -0.2}
PART_PANS = {"comp": -0.3, "lead": 0.25, "arp": 0.45}
SECTION_PARTS = {  # which parts play in each section
    "intro": {"pad", "comp", "hats"},
    "verse": {"drums", "bass", "comp", "pad"},
    "chorus": {"drums", "bass", "comp", "pad", "lead", "arp"},
    "break": {"pad", "lead", "hats", "bass"},
    "outro": {"drums", "bass", "comp", "pad", "arp"},
}
HAT_LIKE = {"hat", "open_hat", "ride", "shaker", "clave", "brush"}


def variant_of(style: str, seed: int, name: str | None = None) -> Variant:
    """The variant of ``style`` named ``name``, or the one that song ``seed`` uses."""
    if style not in STYLE_VARIANTS:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    variants = STYLE_VARIANTS[style]
    if name is not None:
        for variant in variants:
            if variant.name == name:
                return variant
        raise ValueError(f"style {style!r} has no variant {name!r}")
    return variants[np.random.default_rng([seed, 1]).integers(len(variants))]


def render_song(style: str, seed: int, seconds: float, sample_rate: int = 44100, *,
                variant: str | None = None) -> np.ndarray:
    """One song of ``style``: float32 array of shape (2, round(seconds * sample_rate)), peak < 1.

    ``variant`` (e.g. "drum & bass") fixes the style's variant; by default the seed picks it.
    The same arguments always give the same samples.
    """
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    recipe = variant_of(style, seed, variant)
    return _Song(recipe, np.random.default_rng([seed, 2]), seconds, sample_rate).render()


@dataclass
class _Part:
    sound: str
    gain: float


class _Song:
    def __init__(self, variant: Variant, rng: np.random.Generator, seconds: float, sr: int) -> None:
        self.v, self.rng, self.sr = variant, rng, sr
        self.n = int(round(seconds * sr))
        self.tempo = float(rng.uniform(*variant.tempo))
        self.key = int(rng.integers(0, 12))
        self.step_s = 60.0 / self.tempo / 4.0
        self.spb = variant.steps_per_bar
        self.bars = math.ceil(seconds / (self.spb * self.step_s)) + 1
        self.tracks: dict[str, np.ndarray] = {}
        self.notes: dict[tuple, np.ndarray] = {}
        self.parts = {
            "bass": _Part(str(rng.choice(variant.bass_sounds)), 1.0),
            "comp": _Part(str(rng.choice(variant.comp_sounds)), 1.0),
            "lead": _Part(str(rng.choice(variant.lead_sounds)), 1.0),
        }
        if variant.pad_sounds and rng.random() < 0.8:
            self.parts["pad"] = _Part(str(rng.choice(variant.pad_sounds)), 1.0)
        if variant.arp_sounds and rng.random() < 0.7:
            self.parts["arp"] = _Part(str(rng.choice(variant.arp_sounds)), 1.0)
        for name, part in self.parts.items():  # each song has its own mix
            part.gain = PART_GAINS[name] * variant.gains.get(name, 1.0) * 10 ** (rng.uniform(-3, 3) / 20)
        self.drum_gain = variant.gains.get("drums", 1.0)
        self.drum_sounds = {d: synth.DRUMS[d](sr, rng, float(rng.random()))
                            for d in sorted({*variant.drums, "crash"})}
        self.sections = self._arrange()
        progs = variant.progressions
        verse, chorus = rng.integers(len(progs)), rng.integers(len(progs))
        self.progression = {"verse": progs[verse], "chorus": progs[chorus]}
        self.groove = {s: {d: int(rng.integers(len(p))) for d, p in variant.drums.items()}
                       for s in ("verse", "chorus")}
        self.bass_pattern = {s: variant.bass[rng.integers(len(variant.bass))] for s in ("verse", "chorus")}
        self.comp_pattern = {s: variant.comp[rng.integers(len(variant.comp))] for s in ("verse", "chorus")}
        self.motifs = {s: self._motif() for s in ("verse", "chorus", "break")}

    # -- composition ---------------------------------------------------------------------------
    def _arrange(self) -> list[str]:
        """Section name of every bar: intro, verses and choruses, a break, outro."""
        intro = int(self.rng.choice([2, 4]))
        plan = ["intro"] * intro
        body = ["verse"] * 8 + ["chorus"] * 8
        cycle = 0
        while len(plan) < self.bars:
            plan += body
            cycle += 1
            if cycle == 2:
                plan += ["break"] * 4
        plan = plan[: self.bars]
        for i in range(max(0, self.bars - 3), self.bars):
            plan[i] = "outro"
        return plan

    def _motif(self) -> list[tuple[int, int, int]]:
        """A two-bar melody: (step, length in steps, scale degree above the chord's root)."""
        grid, steps = self.v.lead_step, 2 * self.spb
        starts = [s for s in range(0, steps, grid)
                  if self.rng.random() < self.v.lead_density or s == 0]
        motif, degree = [], int(self.rng.integers(0, 5))
        for i, start in enumerate(starts):
            stop = starts[i + 1] if i + 1 < len(starts) else steps
            degree = int(np.clip(degree + self.rng.choice([-2, -1, -1, 0, 1, 1, 2]), -2, 9))
            motif.append((start, min(stop - start, 8), degree))
        return motif

    def _chord_at(self, bar: int) -> tuple[Chord, Chord]:
        """The chord of ``bar`` and the next chord (for approach notes)."""
        section = "chorus" if self.sections[bar] in ("chorus", "outro", "break") else "verse"
        prog = self.progression[section]

        def chord(b: int) -> Chord:
            return prog[(b // self.v.bars_per_chord) % len(prog)]

        return chord(bar), chord(bar + 1 if bar + 1 < self.bars else bar)

    def _time(self, bar: int, step: int) -> int:
        """Sample where ``step`` of ``bar`` falls, with swing and a little human timing."""
        t = (bar * self.spb + step) * self.step_s
        if self.v.swing:
            if self.v.swing_unit == 8 and step % 4 == 2:
                t += self.v.swing * 2 * self.step_s
            elif self.v.swing_unit == 16 and step % 2 == 1:
                t += self.v.swing * self.step_s
        t += self.rng.normal(0.0, 0.003)
        return max(0, int(t * self.sr))

    # -- sound ---------------------------------------------------------------------------------
    def _note(self, sound: str, midi: int, steps: int) -> np.ndarray:
        key = (sound, midi, steps)
        if key not in self.notes:
            n = int((steps * self.step_s + 0.08) * self.sr)
            self.notes[key] = synth.INSTRUMENTS[sound](synth.midi_hz(midi), n, self.sr, self.rng)
        return self.notes[key]

    def _add(self, track: str, start: int, sound: np.ndarray, gain: float) -> None:
        if start >= self.n:
            return
        out = self.tracks.get(track)
        if out is None:
            out = self.tracks[track] = np.zeros(self.n, dtype=np.float32)
        m = min(len(sound), self.n - start)
        out[start:start + m] += np.float32(gain) * sound[:m]

    def _play_chord(self, track: str, sound: str, midis: list[int], bar: int, step: int, steps: int,
                    gain: float) -> None:
        start = self._time(bar, step)
        strum = 0.012 if sound in ("steel", "nylon") else 0.0  # guitars are strummed, keys are not
        for i, midi in enumerate(midis):
            self._add(track, start + int(i * strum * self.sr), self._note(sound, midi, steps),
                      gain / math.sqrt(len(midis)))

    # -- parts ---------------------------------------------------------------------------------
    def _drums(self, bar: int, section: str) -> None:
        parts = SECTION_PARTS[section]
        groove = self.groove["chorus" if section in ("chorus", "outro") else "verse"]
        for drum, patterns in self.v.drums.items():
            if "drums" not in parts and not ("hats" in parts and drum in HAT_LIKE):
                continue
            pattern = patterns[groove[drum]]
            for step, ch in enumerate(_bar_slice(pattern, bar, self.spb)):
                if ch in "Xxg":
                    vel = {"X": 1.0, "x": 0.75, "g": 0.35}[ch] * self.rng.uniform(0.85, 1.0)
                    self._add("drum:" + drum, self._time(bar, step), self.drum_sounds[drum],
                              vel * DRUM_GAINS[drum] * self.drum_gain)
        if "drums" in parts and bar > 0 and self.sections[bar - 1] != section and self.v.drums:
            self._add("drum:crash", self._time(bar, 0), self.drum_sounds["crash"], DRUM_GAINS["crash"])

    def _bass(self, bar: int, section: str) -> None:
        (root, quality), (next_root, _) = self._chord_at(bar)
        part = self.parts["bass"]
        pattern = _bar_slice(self.bass_pattern["chorus" if section == "chorus" else "verse"], bar, self.spb)
        base = 28 + (self.key + root) % 12  # E1..D#2
        tones = CHORD_TONES[quality]
        for step, length, ch in _events(pattern):
            if ch == "R":
                midi = base
            elif ch == "a":
                midi = 28 + (self.key + next_root) % 12 - 1
            elif ch == "w":
                midi = base + int(self.rng.choice(self.v.scale))
            else:
                midi = base + _interval(ch, tones)
            self._add("bass", self._time(bar, step), self._note(part.sound, midi, length),
                      part.gain * self.rng.uniform(0.85, 1.0))

    def _voicing(self, root: int, quality: str, low: int) -> list[int]:
        base = low + (self.key + root - low) % 12
        return [base + i for i in CHORD_TONES[quality]]

    def _comp(self, bar: int, section: str) -> None:
        (root, quality), _ = self._chord_at(bar)
        part = self.parts["comp"]
        midis = self._voicing(root, quality, 50)
        pattern = _bar_slice(self.comp_pattern["chorus" if section == "chorus" else "verse"], bar, self.spb)
        for step, length, ch in _events(pattern):
            vel = {"X": 1.0, "x": 0.8, "g": 0.45}.get(ch)
            if vel:
                self._play_chord("comp", part.sound, midis, bar, step, length, part.gain * vel)

    def _pad(self, bar: int) -> None:
        if bar % self.v.bars_per_chord:
            return
        (root, quality), _ = self._chord_at(bar)
        part = self.parts["pad"]
        midis = self._voicing(root, quality, 55)[:4]
        self._play_chord("pad", part.sound, midis, bar, 0, self.spb * self.v.bars_per_chord, part.gain)

    def _arp(self, bar: int) -> None:
        (root, quality), _ = self._chord_at(bar)
        part = self.parts["arp"]
        midis = self._voicing(root, quality, 62)
        tones = midis + [m + 12 for m in midis]
        step_len = self.v.arp_step
        for i, step in enumerate(range(0, self.spb, step_len)):
            self._add("arp", self._time(bar, step), self._note(part.sound, tones[i % len(tones)], step_len),
                      part.gain * (1.0 if i % 4 == 0 else 0.7))

    def _lead(self, bar: int, section: str) -> None:
        (root, _), _ = self._chord_at(bar)
        part = self.parts["lead"]
        scale = self.v.scale
        root_degree = min(range(len(scale)), key=lambda i: abs(scale[i] - root % 12))
        offset = (bar % 2) * self.spb
        for step, length, degree in self.motifs.get(section, self.motifs["chorus"]):
            if not offset <= step < offset + self.spb:
                continue
            d = root_degree + degree
            midi = 67 + self.key % 12 - 5 + 12 * (d // len(scale)) + scale[d % len(scale)]
            self._add("lead", self._time(bar, step - offset), self._note(part.sound, midi, length),
                      part.gain * self.rng.uniform(0.8, 1.0))

    # -- mix -----------------------------------------------------------------------------------
    def render(self) -> np.ndarray:
        for bar, section in enumerate(self.sections):
            parts = SECTION_PARTS[section]
            self._drums(bar, section)
            for name in ("bass", "comp"):
                if name in parts:
                    getattr(self, "_" + name)(bar, section)
            if "pad" in parts and "pad" in self.parts:
                self._pad(bar)
            if "arp" in parts and "arp" in self.parts:
                self._arp(bar)
            if "lead" in parts:
                self._lead(bar, section)
        return self._mix()

    def _mix(self) -> np.ndarray:
        out = np.zeros((2, self.n), dtype=np.float32)
        for track, mono in self.tracks.items():
            name = track.split(":")[-1]
            pan = DRUM_PANS.get(name, 0.0) if track.startswith("drum:") else PART_PANS.get(name, 0.0)
            left, right = math.cos((pan + 1) * math.pi / 4), math.sin((pan + 1) * math.pi / 4)
            out[0] += left * mono
            if name == "pad":  # a short delay on one side makes the pad wide
                d = int(0.013 * self.sr)
                out[1, d:] += right * mono[:-d]
            else:
                out[1] += right * mono
        if self.v.crackle:
            out += self._crackle()
        out = self._room(out)
        fade_in, fade_out = int(0.05 * self.sr), min(self.n // 3, int(4.0 * self.sr))
        out[:, :fade_in] *= np.linspace(0, 1, fade_in, dtype=np.float32)
        out[:, self.n - fade_out:] *= np.linspace(1, 0, fade_out, dtype=np.float32)
        return _master(out)

    def _room(self, x: np.ndarray) -> np.ndarray:
        """Early reflections: a few delayed, quieter copies, different on each side."""
        wet = np.zeros_like(x)
        for delay, gain, side in ((0.011, 0.5, 0), (0.017, 0.45, 1), (0.029, 0.35, 0), (0.037, 0.3, 1),
                                  (0.053, 0.22, 0), (0.071, 0.18, 1), (0.097, 0.12, 0), (0.13, 0.1, 1)):
            d = int(delay * self.sr)
            wet[side, d:] += gain * x[1 - side, :-d]
            wet[1 - side, d:] += 0.5 * gain * x[side, :-d]
        return x + self.v.room * wet

    def _crackle(self) -> np.ndarray:
        """Vinyl: soft hiss and sparse clicks, one second tiled over the song."""
        sec = self.sr
        tile = synth.spectral_filter(synth.noise(sec, self.rng), self.sr, low=1000, high=6000) * 0.004
        clicks = self.rng.random(sec) < 6.0 / sec
        tile[clicks] += self.rng.uniform(-0.08, 0.08, clicks.sum()).astype(np.float32)
        reps = -(-self.n // sec)
        mono = np.tile(tile, reps)[: self.n]
        return np.stack([mono, np.roll(mono, sec // 3)])


def _bar_slice(pattern: str, bar: int, spb: int) -> str:
    """The part of a one- or multi-bar pattern that ``bar`` plays."""
    bars = max(1, len(pattern) // spb)
    i = bar % bars
    return pattern[i * spb:(i + 1) * spb]


def _events(pattern: str) -> list[tuple[int, int, str]]:
    """(step, length in steps, symbol) of each note in a pattern; ``-`` extends, ``.`` ends."""
    events = []
    for step, ch in enumerate(pattern):
        if ch in ".-":
            continue
        stop = step + 1
        while stop < len(pattern) and pattern[stop] == "-":
            stop += 1
        events.append((step, stop - step, ch))
    return events


def _interval(symbol: str, tones: tuple[int, ...]) -> int:
    """Semitones above the root for a bass symbol, taken from the chord where it has that tone."""
    if symbol == "8":
        return 12
    if symbol == "3":
        return tones[1] if len(tones) > 1 and tones[1] in (3, 4) else 4
    if symbol == "5":
        return 7
    if symbol == "6":
        return 9
    if symbol == "7":
        return tones[3] if len(tones) > 3 else 10
    return 0


def _master(x: np.ndarray) -> np.ndarray:
    """Loudness to TARGET_RMS, then a soft knee that keeps every peak under PEAK_LIMIT."""
    flat = x.ravel()
    rms = float(np.sqrt(np.dot(flat, flat) / flat.size))
    if rms > 0:
        x *= np.float32(TARGET_RMS / rms)
    knee, room = 0.7, PEAK_LIMIT - 0.7
    over = np.abs(x) > knee
    if over.any():
        peaks = x[over]
        x[over] = np.sign(peaks) * (knee + room * np.tanh((np.abs(peaks) - knee) / room))
    return x
