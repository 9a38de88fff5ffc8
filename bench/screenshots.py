"""README screenshots: ``python bench/screenshots.py [--out DIR] [--offscreen] [--data-dir DIR]``.

Renders the tray menu (with its Playlists submenu open) and the model report window to PNG files
in ``--out`` (default docs/screenshots), under Xvfb when it is installed (else Qt's offscreen
platform), and prints each file's size.

With ``--data-dir DIR`` everything shown comes from a real run in that data folder (for example
``musicrec --data-dir DIR run`` on the demo library). Without it the pictures are illustrative,
made in a minute without training: a made-up library of 200 tagged FLAC files (artists, titles,
genres, star ratings), embeddings drawn around one centre per genre (what a trained encoder
gives), then the real rating model, recommendations and playlist files from the pipeline's own
stages; the encoder figures (genre mAP, k-NN accuracy) and the cache figures are invented by this
script, since no encoder is trained and no audio is cached.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

log = logging.getLogger("screenshots")

# genre tag -> artists; neighbouring genres get neighbouring centres below
ARTISTS = {
    "Rock": ["The Paper Lanterns", "Granite Sky", "Velvet Static"],
    "Metal": ["Iron Orchard", "Black Tide Choir"],
    "Electronic": ["Neon Harbour", "Kilowatt Dreams", "Lumen"],
    "Jazz": ["Blue Mile Quartet", "Ella Marsh Trio"],
    "Classical": ["Aurora String Ensemble", "Clara Voss"],
    "Hip-Hop": ["MC Lowtide", "Concrete Poets"],
    "Folk": ["Willow & Wren", "Hollow Pines"],
    "Pop": ["Sunny Avenue", "Mira Lux"],
    "Reggae": ["Roots Harbour"],
    "Country": ["Dusty Creek"],
}
WORDS_A = ["Neon", "Quiet", "Golden", "Midnight", "Paper", "Electric", "Silver", "Lonely", "Wild",
           "Broken", "Summer", "Velvet", "Hidden", "Northern", "Slow", "Burning"]
WORDS_B = ["Harbour", "Lights", "River", "Highway", "Garden", "Signal", "Heart", "Machine", "Rain",
           "Skyline", "Letters", "Echoes", "Horizon", "Waltz", "Parade", "Fire"]
SONGS_PER_ARTIST = 10
LOVED_GENRES = {"Jazz": 0.9, "Electronic": 0.7, "Folk": 0.4}  # the made-up person's taste


def start_xvfb() -> tuple[subprocess.Popen, str] | None:
    if shutil.which("Xvfb") is None:
        return None
    server = subprocess.Popen(["Xvfb", "-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x900x24"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = server.stdout.readline().decode().strip() if server.stdout else ""
    if not line:
        server.kill()
        server.wait()
        return None
    return server, f":{line}"


def write_library(folder: Path, rng: np.random.Generator) -> None:
    """Short real FLAC files with the tags the folder library reads."""
    import soundfile as sf
    from mutagen.flac import FLAC

    silence = np.zeros(1600, dtype=np.float32)  # 0.1 s: the map needs tags, not sound
    for genre, artists in ARTISTS.items():
        for artist in artists:
            album = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
            for track in range(SONGS_PER_ARTIST):
                title = f"{rng.choice(WORDS_A)} {rng.choice(WORDS_B)}"
                path = folder / artist / f"{track + 1:02d} {title}.flac"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, silence, 16000)
                tags = FLAC(path)
                tags["title"], tags["artist"], tags["album"], tags["genre"] = title, artist, album, genre
                tags["tracknumber"] = str(track + 1)
                liking = LOVED_GENRES.get(genre, 0.1) + rng.normal(0, 0.25)
                if rng.random() < 0.8:  # some songs are never rated
                    stars = int(np.clip(round(1 + 4 * (liking + 0.2)), 1, 5))
                    tags["fmps_rating"] = f"{stars / 5:.1f}"
                tags.save()


def make_data(root: Path) -> object:
    """A data folder with the library, embeddings, the rating model and recommendations."""
    from musicrec_desktop.context import AppContext
    from musicrec_desktop.library import load_library
    from musicrec_desktop.paths import DataDirs
    from musicrec_desktop.pipeline import (
        LibraryStage,
        Pipeline,
        PipelineState,
        RatingStage,
        RecommendStage,
        state_path,
    )
    from musicrec_desktop.settings import Settings
    from musicrec_desktop.store.embeddings import EmbeddingStore

    rng = np.random.default_rng(3)
    music = root / "Music"
    write_library(music, rng)
    dirs = DataDirs.under(root / "data").create()
    settings = Settings(player="folders", music_folders=[str(music)], output_dir=str(root / "Playlists"),
                        notifications=False, watch_library=False, recent_days=0, playlist_length=25)
    ctx = AppContext(dirs, settings)
    ctx.save_settings(settings)

    songs = load_library(settings, dirs).songs
    dim = 64
    # Genre centres on a rough circle so that related genres sit side by side on the map.
    order = ["Metal", "Rock", "Pop", "Hip-Hop", "Reggae", "Electronic", "Jazz", "Classical", "Folk",
             "Country"]
    basis = np.linalg.qr(rng.normal(size=(dim, 2)))[0]
    centres = {g: 6 * (np.cos(2 * np.pi * i / len(order)) * basis[:, 0] +
                       np.sin(2 * np.pi * i / len(order)) * basis[:, 1]) + rng.normal(0, 1.2, dim)
               for i, g in enumerate(order)}
    artists = {a: rng.normal(0, 1.0, dim) for a in {s.artist for s in songs}}
    with EmbeddingStore(dirs.embeddings_db) as store:
        store.register_model("encoder-demo", dim)
        store.set_current("encoder-demo")
        rows = []
        for song in songs:
            v = centres[song.genre] + artists[song.artist] + rng.normal(0, 1.3, dim)
            rows.append((song.key, (v / np.linalg.norm(v)).astype(np.float32)))
        store.put("encoder-demo", rows)

    import torch

    torch.manual_seed(0)  # the same rating figures on every run
    report = Pipeline([LibraryStage(), RatingStage(), RecommendStage()]).run(ctx)
    if report.error is not None:
        raise report.error
    state = PipelineState.load(state_path(ctx))
    state.figures["encoder"] = {"genre_map": 0.642, "knn_accuracy": 0.713}
    state.figures["cache"] = {"songs": len(songs), "total_bytes": len(songs) * 2_310_000, "cached": 12,
                              "removed": 1, "skipped": {"too short": 2, "unreadable": 1}}
    state.save(state_path(ctx))
    return ctx


def grab_menu(tray, out: Path) -> Path:
    """The tray menu with the Playlists submenu open, composed side by side like on a desktop."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QColor, QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    menu, sub = tray.menu, tray.playlists_menu
    tray.fill_playlists()
    menu.popup(QPoint(40, 40))
    menu.setActiveAction(tray.actions["playlists"])
    sub.popup(QPoint(40 + menu.width() - 4, 40))
    for _ in range(5):
        QApplication.processEvents()
    top = menu.actionGeometry(tray.actions["playlists"]).top()
    left, right = menu.grab(), sub.grab()
    margin = 12
    canvas = QPixmap(left.width() + right.width() + 2 * margin - 4,
                     max(left.height(), top + right.height()) + 2 * margin)
    canvas.fill(QColor("#3b4252"))  # a desktop behind the menu
    painter = QPainter(canvas)
    painter.drawPixmap(margin, margin, left)
    painter.drawPixmap(margin + left.width() - 4, margin + top, right)
    painter.end()
    sub.hide()
    menu.hide()
    path = out / "tray-menu.png"
    if not canvas.save(str(path)):
        raise OSError(f"cannot write {path}")
    return path


def grab_report(tray, out: Path) -> Path:
    window = tray.report_window()  # at its default size, as a person first sees it
    window.reload()
    window.show()
    window.wait_for_map()
    from PySide6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()  # the map's points arrive through a queued signal
    if not window.map.keys:
        raise RuntimeError(f"the map has no songs: {window.map.message}")
    path = out / "model-report.png"
    if not window.grab().save(str(path)):
        raise OSError(f"cannot write {path}")
    window.close()
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--offscreen", action="store_true", help="use Qt's offscreen platform, not Xvfb")
    parser.add_argument("--data-dir", type=Path, help="show the results of a real run in this data folder")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)

    xvfb = None if args.offscreen else start_xvfb()
    if xvfb is not None:
        os.environ["DISPLAY"] = xvfb[1]
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    else:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        with tempfile.TemporaryDirectory(prefix="musicrec-shots-") as tmp:
            os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "xdg")  # no autostart entry of ours leaks
            from PySide6.QtWidgets import QApplication

            from musicrec_desktop.app.tray import TrayApp
            from musicrec_desktop.context import AppContext

            app = QApplication.instance() or QApplication([sys.argv[0]])
            app.setApplicationName("musicrec")
            ctx = AppContext.open(args.data_dir) if args.data_dir else make_data(Path(tmp))
            tray = TrayApp(ctx)
            try:
                paths = [grab_menu(tray, args.out), grab_report(tray, args.out)]
            finally:
                tray.shutdown(10_000)
        platform = "Xvfb" if xvfb is not None else "offscreen"
        content = f"the run in {args.data_dir}" if args.data_dir else "illustrative: invented figures"
        for path in paths:
            print(f"{path}  {path.stat().st_size / 1024:.0f} KB  ({platform}; {content})")
    finally:
        if xvfb is not None:
            xvfb[0].terminate()
            xvfb[0].wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
