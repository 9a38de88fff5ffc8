"""The musical recipes of the demo styles: tempo, grooves, harmony, scales and instruments.

Pattern strings have one character per step (sixteenth notes unless ``steps_per_bar`` says
otherwise; a pattern twice as long spans two bars):
- drums and chords: ``X`` accent, ``x`` normal, ``g`` ghost note, ``.`` rest, ``-`` hold (chords);
- bass: ``R`` root, ``3`` third, ``5`` fifth, ``6`` sixth, ``7`` seventh, ``8`` octave,
  ``w`` a walking tone from the scale, ``a`` a half step below the next chord's root,
  ``-`` hold, ``.`` rest.
Chords are (semitones above the key's root, quality).
"""

from __future__ import annotations

from dataclasses import dataclass, field

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
MAJOR_PENTA = (0, 2, 4, 7, 9)
MINOR_PENTA = (0, 3, 5, 7, 10)
BLUES = (0, 3, 5, 6, 7, 10)
HARMONIC_MINOR = (0, 2, 3, 5, 7, 8, 11)

CHORD_TONES = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "5": (0, 7, 12), "dim": (0, 3, 6), "sus": (0, 5, 7),
    "9": (0, 4, 7, 10, 14), "m9": (0, 3, 7, 10, 14), "6": (0, 4, 7, 9), "maj9": (0, 4, 7, 11, 14),
}

Chord = tuple[int, str]


@dataclass(frozen=True)
class Variant:
    """One way a style sounds; a song picks one variant of its style from its seed."""

    name: str
    genres: tuple[str, ...]  # raw genre tags as people write them
    tempo: tuple[float, float]  # beats per minute, low..high
    scale: tuple[int, ...]
    progressions: tuple[tuple[Chord, ...], ...]
    drums: dict[str, tuple[str, ...]]  # drum -> patterns (verse and chorus pick one each)
    bass: tuple[str, ...]
    bass_sounds: tuple[str, ...]
    comp: tuple[str, ...]  # chord rhythm
    comp_sounds: tuple[str, ...]
    lead_sounds: tuple[str, ...]
    lead_density: float  # chance of a new melody note on each melody step
    lead_step: int = 2  # melody grid in steps (2 = eighth notes)
    pad_sounds: tuple[str, ...] = ()
    arp_sounds: tuple[str, ...] = ()
    arp_step: int = 2
    bars_per_chord: int = 1
    steps_per_bar: int = 16
    swing: float = 0.0  # how late the off-beat steps fall, as a fraction of a step
    swing_unit: int = 16  # 16: sixteenths swing; 8: eighths swing
    room: float = 0.3  # early-reflection level
    crackle: bool = False  # vinyl noise
    gains: dict[str, float] = field(default_factory=dict)  # per-part level changes


ROCK = (
    Variant(
        "rock", ("Rock", "Hard Rock", "Alternative", "Punk Rock"), (108, 152), MINOR_PENTA,
        (((0, "5"), (10, "5"), (5, "5"), (0, "5")), ((0, "5"), (8, "5"), (10, "5"), (0, "5")),
         ((0, "5"), (5, "5"), (7, "5"), (5, "5"))),
        {"kick": ("X.....x.X.x.....", "X.x...x.X.....x."), "snare": ("....X.......X...",),
         "hat": ("x.x.x.x.x.x.x.x.", "x.xgx.x.x.xgx.x."), "open_hat": ("..............x.",)},
        ("R-R-R-R-R-R-R-R-", "R-R-R-5-R-R-8-5-"), ("pluck_bass", "synth_bass"),
        ("X-x-x-x-X-x-x-x-", "X-------X-----x-", "X-x-.-x-X-x-.-x-"), ("dist_guitar",),
        ("dist_guitar", "saw_lead"), 0.45, room=0.25,
    ),
    Variant(
        "blues rock", ("Rock/Blues", "Blues Rock", "Blues"), (88, 124), BLUES,
        (((0, "7"), (5, "7"), (0, "7"), (7, "7")), ((0, "7"), (0, "7"), (5, "7"), (0, "7"))),
        {"kick": ("X.......X.......", "X.....x.X......."), "snare": ("....X.......X...",),
         "hat": ("x.x.x.x.x.x.x.x.",), "ride": ("X.x.X.x.X.x.X.x.",)},
        ("R-3-5-6-8-6-5-3-", "R---5---6---5---"), ("pluck_bass", "upright"),
        ("X-x-X-x-X-x-X-x-", "X---x---X---x---"), ("dist_guitar", "organ"),
        ("dist_guitar", "organ"), 0.4, swing=0.33, swing_unit=8, room=0.3,
    ),
)

POP = (
    Variant(
        "pop", ("Pop", "Synthpop", "Teen Pop", "Synth-Pop"), (96, 126), MAJOR,
        (((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")), ((9, "min"), (5, "maj"), (0, "maj"), (7, "maj")),
         ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj"))),
        {"kick": ("X.......X.x.....", "X.....x.X......."), "clap": ("....X.......X...",),
         "hat": ("x.g.x.g.x.g.x.g.", "x.x.x.x.x.x.x.x.")},
        ("R---R-R-R---R-5-", "R-.RR-.RR-.RR-.R"), ("sine_bass", "synth_bass"),
        ("X--.x-x-X--.x-x-", "X-------X---x---"), ("piano", "epiano", "steel"),
        ("square_lead", "bell", "saw_lead"), 0.55, pad_sounds=("supersaw", "strings"),
        arp_sounds=("bell",), arp_step=2, room=0.3,
    ),
    Variant(
        "dance pop", ("Dance", "Disco", "Dance-Pop", "Pop/Dance"), (112, 128), MAJOR,
        (((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")), ((5, "maj"), (7, "maj"), (9, "min"), (9, "min"))),
        {"kick": ("X...X...X...X...",), "clap": ("....X.......X...",),
         "open_hat": ("..x...x...x...x.",), "hat": ("x.x.x.x.x.x.x.x.",)},
        ("R.8.R.8.R.8.R.8.", "R.8.5.8.R.8.5.8."), ("synth_bass",),
        ("..X...X...X...X.", "X..X..X.X..X..X."), ("epiano", "piano", "organ"),
        ("square_lead", "saw_lead"), 0.5, pad_sounds=("strings",), room=0.25,
    ),
)

ELECTRONIC = (
    Variant(
        "house", ("House", "Electronic", "Electronica", "Deep House"), (120, 128), MINOR,
        (((0, "m7"), (8, "maj7"), (10, "7"), (0, "m7")), ((0, "m9"), (5, "m7"))),
        {"kick": ("X...X...X...X...",), "clap": ("....X.......X...",),
         "open_hat": ("..x...x...x...x.",), "hat": ("xgxgxgxgxgxgxgxg",)},
        ("..R...R...R...R.", "..R.R.8...R.5.R."), ("synth_bass", "acid_bass"),
        ("..X.....X..x....", "...X..X....X..X."), ("organ", "epiano"),
        ("bell", "square_lead"), 0.25, pad_sounds=("supersaw",), arp_sounds=("square_lead",),
        arp_step=1, bars_per_chord=2, room=0.35,
    ),
    Variant(
        "techno", ("Techno", "Electronic", "Trance"), (126, 138), MINOR,
        (((0, "min"), (0, "min"), (8, "maj"), (10, "maj")), ((0, "min"), (3, "maj"))),
        {"kick": ("X...X...X...X...",), "hat": ("..x...x...x...x.",),
         "clap": ("....x.......x...", "................"), "shaker": ("gxgxgxgxgxgxgxgx",)},
        ("RRR.RR.RRR.R8R.R", "R.RR.R8.R.RR.R5."), ("acid_bass",),
        ("X.......X.......",), ("supersaw",), ("saw_lead", "bell"), 0.2,
        pad_sounds=("supersaw",), arp_sounds=("square_lead", "bell"), arp_step=1,
        bars_per_chord=2, room=0.4,
    ),
    Variant(
        "drum & bass", ("Drum & Bass", "Drum and Bass", "Electronic", "Jungle/Drum & Bass"), (168, 176),
        MINOR,
        (((0, "m7"), (8, "maj7")), ((0, "m9"), (10, "7"), (8, "maj7"), (7, "min"))),
        {"kick": ("X.........X.....", "X.........X..x.."), "snare": ("....X..g.g..X...", "....X.......X..g"),
         "hat": ("x.x.x.x.x.x.x.x.",), "ride": ("..x...x...x...x.",)},
        ("R-------R---5---", "R---------R-----"), ("sine_bass", "synth_bass"),
        ("X---------------",), ("strings", "epiano"), ("bell", "saw_lead"), 0.3,
        pad_sounds=("supersaw", "strings"), bars_per_chord=2, room=0.4,
    ),
)

HIPHOP = (
    Variant(
        "boom bap", ("Hip-Hop", "Hip Hop", "Rap", "Hip-Hop/Rap"), (82, 96), DORIAN,
        (((0, "m7"), (5, "m7")), ((0, "m9"), (8, "maj7"), (7, "m7"), (7, "7"))),
        {"kick": ("X.....X...X.....", "X.......X.X...x."), "snare": ("....X.......X...", "....X.......X..g"),
         "hat": ("x.x.x.x.x.x.x.x.", "x.xgx.x.x.x.xgx.")},
        ("R-----R-.R------", "R-------..R-5---"), ("bass808", "sine_bass"),
        ("X-------x-----..", "X-----x-----X---"), ("epiano", "piano"), ("bell",), 0.12,
        bars_per_chord=2, swing=0.18, swing_unit=16, room=0.15, crackle=True,
    ),
    Variant(
        "trap", ("Trap", "Hip-Hop", "Rap"), (130, 150), HARMONIC_MINOR,
        (((0, "min"), (8, "maj"), (7, "maj"), (0, "min")), ((0, "min"), (3, "maj"))),
        {"kick": ("X.......X.....X.", "X.x.......X....."), "snare": ("........X.......",),
         "hat": ("xxxxxxxxxxxxxgxg", "xxxxxxxxxgggxxxx", "x.x.x.x.xxxxx.x.")},
        ("R-----------R---", "R-------R-----5-"), ("bass808",),
        ("X---------------",), ("bell", "strings"), ("bell",), 0.18,
        pad_sounds=("strings",), bars_per_chord=2, room=0.2, crackle=False,
        gains={"bass": 1.3},
    ),
)

JAZZ_CLASSICAL = (
    Variant(
        "swing jazz", ("Jazz", "Swing", "Jazz; Instrumental", "Bebop; Jazz"), (120, 200), MAJOR,
        (((2, "m7"), (7, "7"), (0, "maj7"), (0, "maj7")), ((0, "maj7"), (9, "7"), (2, "m7"), (7, "7")),
         ((2, "m7"), (7, "7"), (4, "m7"), (9, "7"))),
        {"ride": ("X...X.x.X...X.x.",), "hat": ("....x.......x...",), "kick": ("g.......g.......",),
         "brush": ("......g.....g...", "..g.......g....g")},
        ("R---w---w---a---", "R---3---5---a---"), ("upright",),
        ("...x-.......x-..", "x-.....x-.......", "...x-.x-....x-.."), ("piano", "epiano"),
        ("piano", "bell", "saw_lead"), 0.5, swing=0.33, swing_unit=8, room=0.45,
        gains={"lead": 0.8},
    ),
    Variant(
        "classical", ("Classical", "Classical; Instrumental", "Instrumental", "Classical/Romantic"),
        (60, 96), MAJOR,
        (((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")), ((0, "maj"), (9, "min"), (2, "min"), (7, "7")),
         ((9, "min"), (2, "min"), (4, "7"), (9, "min"))),
        {},
        ("R---------------", "R-------5-------"), ("strings", "upright"),
        ("X---------------",), ("strings",), ("strings", "piano"), 0.45,
        pad_sounds=("strings",), arp_sounds=("piano",), arp_step=2, room=0.6,
        gains={"comp": 0.6},
    ),
    Variant(
        "waltz", ("Classical", "Classical; Instrumental", "Classical; Waltz"), (84, 132), MAJOR,
        (((0, "maj"), (7, "7"), (7, "7"), (0, "maj")), ((0, "maj"), (5, "maj"), (7, "7"), (0, "maj"))),
        {},
        ("R-----------",), ("upright", "strings"),
        ("....x-..x-..",), ("piano", "strings"), ("piano", "strings", "bell"), 0.5,
        steps_per_bar=12, room=0.6,
    ),
)

COUNTRY = (
    Variant(
        "country", ("Country", "Americana", "Country/Folk", "Folk"), (92, 138), MAJOR_PENTA,
        (((0, "maj"), (5, "maj"), (0, "maj"), (7, "maj")), ((0, "maj"), (7, "maj"), (5, "maj"), (0, "maj"))),
        {"kick": ("X.......X.......",), "snare": ("....x.......x...", "gxgxgxgxgxgxgxgx"),
         "hat": ("x.x.x.x.x.x.x.x.",)},
        ("R.......5.......", "R.......5...3.5."), ("pluck_bass", "upright"),
        ("....X-x-....X-x-", "X-x-X-x-X-x-X-x-"), ("steel",), ("fiddle", "steel"), 0.5, room=0.25,
    ),
    Variant(
        "bluegrass", ("Bluegrass", "Folk", "Country"), (128, 160), MAJOR_PENTA,
        (((0, "maj"), (0, "maj"), (5, "maj"), (0, "maj")), ((0, "maj"), (7, "maj"), (0, "maj"), (7, "maj"))),
        {"shaker": ("x.g.x.g.x.g.x.g.",)},
        ("R.......5.......",), ("upright",),
        ("....X.......X...",), ("nylon", "steel"), ("fiddle",), 0.65, arp_sounds=("steel",),
        arp_step=1, room=0.2,
    ),
)

LATIN_WORLD = (
    Variant(
        "bossa nova", ("Bossa Nova", "Latin", "MPB/Bossa Nova"), (118, 140), MAJOR,
        (((0, "maj7"), (2, "m7"), (7, "9"), (0, "maj7")), ((2, "m7"), (7, "7"), (0, "6"), (9, "m7"))),
        {"clave": ("x..x..x...x..x..",), "shaker": ("gxgxgxgxgxgxgxgx",), "kick": ("X.....x.X.....x.",)},
        ("R-----5-R-----5-",), ("upright", "pluck_bass"),
        ("X..X..X...X..X..", "x.-x.-x.x.-x.-x."), ("nylon",), ("piano", "bell", "saw_lead"), 0.4,
        bars_per_chord=2, room=0.3, gains={"drums": 0.7},
    ),
    Variant(
        "salsa", ("Salsa", "Latin", "Salsa/Tropical"), (168, 196), MINOR,
        (((0, "min"), (5, "min"), (7, "7"), (0, "min")), ((0, "min"), (7, "7"))),
        {"clave": ("X.....X.....X.......X...X.......",), "conga": ("....g.x.....x.x.", "g.g.x.x.g.g.x.xx"),
         "shaker": ("x.x.x.x.x.x.x.x.",)},
        ("......R-----5---", "...R--5-...R--5-"), ("pluck_bass", "upright"),
        ("x.x.xx.x.x.xx.x.",), ("piano",), ("bell", "saw_lead", "square_lead"), 0.5, room=0.3,
    ),
    Variant(
        "reggae", ("Reggae", "Roots Reggae", "World"), (68, 86), MINOR,
        (((0, "min"), (10, "maj")), ((0, "min"), (5, "min"), (10, "maj"), (5, "min"))),
        {"kick": ("........X.......",), "snare": ("........x.......",), "hat": ("x.x.x.x.x.x.x.x.",),
         "clave": ("....g.......g...",)},
        ("R-.R....5-.R-...", "R---..R-5-..3---"), ("sine_bass",),
        ("....x.......x...", "..x...x...x...x."), ("organ", "steel"), ("bell", "organ"), 0.3,
        bars_per_chord=2, swing=0.12, room=0.35, gains={"bass": 1.2},
    ),
    Variant(
        "reggaeton", ("Reggaeton", "Latin", "Reggaeton/Latin"), (88, 100), MINOR,
        (((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),),
        {"kick": ("X...X...X...X...",), "snare": ("...X..X....X..X.",), "hat": ("x.x.x.x.x.x.x.x.",)},
        ("R.......R.......",), ("bass808", "sine_bass"),
        ("X-------X-------",), ("steel", "bell"), ("saw_lead", "bell"), 0.35, room=0.2,
    ),
)

STYLE_VARIANTS: dict[str, tuple[Variant, ...]] = {
    "rock": ROCK,
    "pop": POP,
    "electronic": ELECTRONIC,
    "hiphop": HIPHOP,
    "jazz_classical": JAZZ_CLASSICAL,
    "country": COUNTRY,
    "latin_world": LATIN_WORLD,
}
