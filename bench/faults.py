"""Replays the fault probes of issue 19 on a real library and prints, per fault, what held:
``python bench/faults.py [--music DIR] [--songs N]``.

Without ``--music``, a folder of links to the real recordings in ``../shared/audio`` is the
library. Everything is written into a temporary folder (odd files such as a FIFO named .mp3 go
into a folder of their own beside the music, which is only read: checked by checksums at the
end). Probes that need root (a small full tmpfs, dropping root's file access) say so when they
cannot run. Exits 1 when a probe does not hold.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from musicrec_desktop.audio.decode import AudioReader, SongSkipped  # noqa: E402
from musicrec_desktop.library.folders import read_song  # noqa: E402
from musicrec_desktop.paths import DataDirs  # noqa: E402
from musicrec_desktop.recommend.writers import m3u8_text  # noqa: E402
from musicrec_desktop.settings import Settings  # noqa: E402
from tests.support.processes import descendants, running, wait_for  # noqa: E402

SHARED_AUDIO = ROOT.parent / "shared" / "audio"
AUDIO = {".mp3", ".ogg", ".flac", ".wav", ".opus", ".m4a"}
GONE_S = 2.0  # a worker of a killed command must be gone within this


class Probe:
    """One fault: ``check`` returns what was seen; it holds when ``held`` is true."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, bool, str]] = []

    def report(self, fault: str, held: bool, seen: str) -> None:
        self.lines.append((fault, held, seen))
        print(f"{'held  ' if held else 'BROKEN'}  {fault}: {seen}", flush=True)


def musicrec(data: Path, *argv: str, timeout: float = 600, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "musicrec_desktop", "--data-dir", str(data), *argv],
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT, **kw)


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else ""


def kill_with_workers(data: Path, argv: list[str], workers: int, timeout: float = 600) -> tuple[bool, str]:
    """Starts ``musicrec argv``, SIGKILLs it once it has ``workers`` processes; whether they all
    went within GONE_S and the run lock is free."""
    with open(data / "console.txt", "w") as console:
        command = subprocess.Popen([sys.executable, "-m", "musicrec_desktop", "--data-dir", str(data),
                                    *argv], stdout=console, stderr=subprocess.STDOUT, cwd=ROOT,
                                   start_new_session=True)
    try:
        if not wait_for(lambda: len(descendants(command.pid)) >= workers or command.poll() is not None,
                        timeout, 0.1) or command.poll() is not None:
            return False, f"it never ran {workers} workers: {last_line((data / 'console.txt').read_text())}"
        time.sleep(1.0)
        below = descendants(command.pid)
        os.kill(command.pid, signal.SIGKILL)
        command.wait(10)
        gone = wait_for(lambda: not any(running(p) for p in below), GONE_S)
        left = [p for p in below if running(p)]
        for pid in left:  # leave nothing running, whatever the result
            os.kill(pid, signal.SIGKILL)
        return gone, f"{len(below)} processes below it, {len(left)} left {GONE_S:g} s after kill -9"
    finally:
        command.kill()
        command.wait()


def probe_kills(probe: Probe, data: Path) -> None:
    held, seen = kill_with_workers(data, ["build-cache", "--workers", "2"], 2)
    again = musicrec(data, "build-cache", "--workers", "2")
    probe.report("1 build-cache killed with 2 decoders", held and again.returncode == 0,
                 f"{seen}; the next build-cache: exit {again.returncode}, "
                 f"{last_line(again.stdout or again.stderr)}")
    held, seen = kill_with_workers(data, ["train-encoder", "--quick", "--workers", "2", "--device", "cpu"], 2)
    started = time.monotonic()
    busy = musicrec(data, "build-cache", "--workers", "0")
    probe.report("1 train-encoder killed with 2 loaders", held and busy.returncode == 0,
                 f"{seen}; build-cache (same lock) then: exit {busy.returncode} after "
                 f"{time.monotonic() - started:.1f} s")
    held, seen = kill_with_workers(data, ["run", "--quick"], 2)  # num_workers = 2
    busy = musicrec(data, "build-cache", "--workers", "0")
    probe.report("1 run killed with its workers", held and busy.returncode == 0,
                 f"{seen}; build-cache (same lock) then: exit {busy.returncode}, "
                 f"{last_line(busy.stderr) if busy.returncode else 'not refused'}")


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from musicrec_desktop.context import AppContext
    from musicrec_desktop.pipeline.lock import exclusive_run
    with exclusive_run(AppContext.open(sys.argv[1])):
        print("holding", flush=True)
        time.sleep(120)
""")


def probe_lock(probe: Probe, data: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data)], stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "holding"
        for argv in (["build-cache"], ["train-encoder", "--quick"], ["embed"], ["train-classifier"],
                     ["playlists"]):
            started = time.monotonic()
            done = musicrec(data, *argv, timeout=120)
            refused = done.returncode == 1 and "another musicrec run is working" in done.stderr
            probe.report(f"4 {argv[0]} while a run works", refused,
                         f"exit {done.returncode} after {time.monotonic() - started:.1f} s: "
                         f"{last_line(done.stderr)[:90]}")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()


def probe_fifo(probe: Probe, data: Path, odd: Path) -> None:
    os.mkfifo(odd / "pipe.mp3")
    try:
        done = musicrec(data, "library", "--json", timeout=120)
        probe.report("2 FIFO named .mp3 in folders mode", done.returncode == 0 and "pipe" in done.stderr,
                     f"library exit {done.returncode}, {last_line(done.stderr)}")
    except subprocess.TimeoutExpired:
        probe.report("2 FIFO named .mp3 in folders mode", False, "library hangs (killed after 120 s)")
    finally:
        (odd / "pipe.mp3").unlink()


def probe_nan(probe: Probe, data: Path) -> None:
    refused = []
    for key in ("learning_rate", "moco_weight", "moco_temperature", "cache_budget_gb"):
        done = musicrec(data, "config", "set", key, "nan")
        refused.append(done.returncode == 1 and "not allowed" in done.stderr)
    probe.report("3 NaN settings", all(refused), f"{sum(refused)} of 4 refused by config set")


def probe_m3u8(probe: Probe, odd: Path, real: Path) -> None:
    link = odd / "inj\n#EXTINF:1,evil\nevil-line.mp3"
    link.symlink_to(real)
    song = read_song(link)
    lines = m3u8_text("probe", [_Entry(song)]).splitlines() if song else []
    link.unlink()
    probe.report("5 M3U8 injection through a file name", len(lines) == 4,
                 f"{len(lines)} lines for one song (4 expected): {lines[-1:]}")


class _Entry:
    def __init__(self, song: object) -> None:
        self.song, self.reason = song, ""


WAL_WRITER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("UPDATE songs SET playcount = playcount + 1")
    print("written", flush=True)
    time.sleep(60)
""")


def probe_wal(probe: Probe, root: Path) -> None:
    demo = root / "demo"
    made = subprocess.run([sys.executable, "-m", "musicrec_desktop", "--data-dir", str(root / "demo-data"),
                           "demo", "--songs", "7", "--length", "31", "35", "--out", str(demo)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    database = next(demo.rglob("*.db"), None)
    if made.returncode != 0 or database is None:
        probe.report("6 WAL database left by a killed player", False,
                     f"no demo database: {last_line(made.stderr)}")
        return
    writer = subprocess.Popen([sys.executable, "-c", WAL_WRITER, str(database)],
                              stdout=subprocess.PIPE, text=True)
    writer.stdout.readline()
    writer.kill()
    writer.wait()
    writer.stdout.close()
    files = [database.with_name(database.name + tail) for tail in ("", "-wal", "-shm")]
    before = [_sha(f) for f in files]
    done = musicrec(root / "wal-data", "--db", str(database), "library", "--json")
    same = before == [_sha(f) for f in files]
    probe.report("6 WAL database left by a killed player", done.returncode == 0 and same,
                 f"library exit {done.returncode}; .db, -wal, -shm {'unchanged' if same else 'CHANGED'}")


@contextlib.contextmanager
def small_disk(folder: Path) -> Iterator[bool]:
    """A 2 MB tmpfs at ``folder`` (root only); yields whether it is mounted."""
    folder.mkdir(parents=True)
    mounted = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(folder)], capture_output=True,
        check=False).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> None:
    with open(folder / "filler", "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)


def probe_messages(probe: Probe, root: Path, data: Path) -> None:
    clean = lambda done: "Traceback" not in done.stderr  # noqa: E731
    with small_disk(root / "full") as mounted:
        if mounted:
            on_disk = root / "full" / "data"
            Settings().save(on_disk / "config" / "settings.toml")
            cache_elsewhere = root / "full-cache-data"
            Settings.load(data / "config" / "settings.toml").replace(
                cache_dir=str(root / "full" / "cache")).save(cache_elsewhere / "config" / "settings.toml")
            fill(root / "full")
            done = musicrec(on_disk, "config", "set", "batch_size", "32")
            probe.report("7 config set on a full disk", clean(done) and "disk is full" in done.stderr,
                         last_line(done.stderr)[:120])
            done = musicrec(cache_elsewhere, "build-cache", "--workers", "0")
            probe.report("7 build-cache on a full disk", clean(done) and "disk is full" in done.stderr,
                         last_line(done.stderr)[:120])
        else:
            probe.report("7 full disk", True, "not probed: mounting a small tmpfs needs root")
    locked = root / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    drop = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    done = subprocess.run([*drop, sys.executable, "-m", "musicrec_desktop", "--data-dir", str(locked / "d"),
                           "build-cache"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    probe.report("7 --data-dir that cannot be written", clean(done) and "permission denied" in done.stderr,
                 last_line(done.stderr)[:120])
    locked.chmod(0o755)
    shell = f"{sys.executable} -m musicrec_desktop --data-dir {data} config show | head -1"
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, cwd=ROOT, timeout=120)
    probe.report("7 config show | head -1", clean(done) and "BrokenPipe" not in done.stderr,
                 f"stderr: {last_line(done.stderr) or 'empty'}")


KILLED_SAVE = textwrap.dedent("""
    import os, signal, sys, torch
    from pathlib import Path
    from musicrec_desktop.model.checkpoint import save_checkpoint

    class Kill:
        def __reduce__(self):
            os.kill(os.getpid(), signal.SIGKILL)

    save_checkpoint(Path(sys.argv[1]), {"weights": torch.ones(1000), "then": Kill()})
""")


def probe_checkpoint_temporaries(probe: Probe, root: Path) -> None:
    from musicrec_desktop.model.checkpoint import save_checkpoint

    path = root / "ckpt" / "checkpoint.pt"
    subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], cwd=ROOT, check=False)
    left = list(path.parent.glob(".checkpoint-*.tmp"))
    save_checkpoint(path, {"step": 1})
    after = list(path.parent.glob(".checkpoint-*.tmp"))
    probe.report("8 temporary file of a killed checkpoint save", len(left) == 1 and not after,
                 f"{len(left)} left by the kill, {len(after)} after the next save")


def probe_small_ones(probe: Probe, data: Path, odd: Path, real_mp3: Path | None) -> None:
    (odd / "text.mp3").write_text("this is not audio\n" * 200)
    if real_mp3 is not None:
        (odd / "cut.mp3").write_bytes(real_mp3.read_bytes()[:3000])
    done = musicrec(data, "build-cache", "--folder", str(odd), "--workers", "0", "--json")
    skipped = json.loads(done.stdout)["skipped"] if done.returncode == 0 else {}
    bad = [odd / "text.mp3", *([odd / "cut.mp3"] if real_mp3 else [])]
    probe.report("9 text file / cut MP3 named .mp3 in a folder", sum(skipped.values()) == len(bad)
                 and "unsupported_format" not in skipped, f"build summary: skipped {skipped}")
    codes = []
    path = os.environ["PATH"]
    os.environ["PATH"] = str(odd)  # no ffmpeg: libsndfile's failure is all there is to go on
    try:
        for file in bad:
            try:
                AudioReader(file).close()
                codes.append("read")
            except SongSkipped as exc:
                codes.append(exc.code)
    finally:
        os.environ["PATH"] = path
    probe.report("9 the same decoded without ffmpeg", set(codes) == {"undecodable"}, f"reasons {codes}")
    for name, argv, code in (("recommend --n 0", ["recommend", "--n", "0"], 2),
                             ("recommend --n -5", ["recommend", "--n", "-5"], 2),
                             ("config set output_dir ''", ["config", "set", "output_dir", ""], 1),
                             ("build-cache --workers 1000", ["build-cache", "--workers", "1000"], 2)):
        done = musicrec(data, *argv)
        probe.report(f"9 {name}", done.returncode == code,
                     f"exit {done.returncode}: {last_line(done.stderr)[:90]}")
    shown = musicrec(data, "config", "show").stdout
    as_json = musicrec(data, "config", "show", "--json").stdout
    try:
        same = tomllib.loads(shown) == json.loads(as_json)
    except tomllib.TOMLDecodeError as exc:
        same, shown = False, str(exc)
    probe.report("9 config show pasted into settings.toml", same, "the same settings" if same else shown[:90])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "-"


def checksums(folder: Path) -> dict[str, str]:
    return {str(p): _sha(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music", type=Path, help="a folder of real audio (default: ../shared/audio)")
    parser.add_argument("--songs", type=int, default=8, help="songs taken from it (default 8)")
    args = parser.parse_args()
    source = args.music or SHARED_AUDIO
    files = sorted(p for p in source.rglob("*") if p.suffix.lower() in AUDIO and p.is_file())[:args.songs]
    if not files:
        print(f"no audio files in {source}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="musicrec-faults-") as folder:
        root = Path(folder)
        music, odd, data = root / "music", root / "odd", root / "data"
        music.mkdir()
        odd.mkdir()
        for i, file in enumerate(files):
            (music / f"{i:02d} {file.name}").symlink_to(file.resolve())
        before = checksums(source)
        Settings(player="folders", music_folders=[str(music), str(odd)], num_workers=2,
                 cache_format="npy", device="cpu").save(DataDirs.under(data).create().settings_file)
        print(f"library: {len(files)} songs from {source}; data folder {data}", flush=True)
        probe = Probe()
        steps: list[Callable[[], None]] = [
            lambda: probe_kills(probe, data),
            lambda: probe_fifo(probe, data, odd),
            lambda: probe_nan(probe, root / "nan-data"),
            lambda: probe_lock(probe, data),
            lambda: probe_m3u8(probe, odd, files[0]),
            lambda: probe_wal(probe, root),
            lambda: probe_messages(probe, root, data),
            lambda: probe_checkpoint_temporaries(probe, root),
            lambda: probe_small_ones(probe, data, odd, next((f for f in files if f.suffix == ".mp3"), None)),
        ]
        for step in steps:
            step()
        unchanged = checksums(source) == before
        probe.report("the music files", unchanged, "unchanged" if unchanged else "CHANGED")
        shutil.rmtree(root, ignore_errors=True)
    broken = [fault for fault, held, _ in probe.lines if not held]
    print(f"\n{len(probe.lines) - len(broken)} of {len(probe.lines)} held" +
          (f"; broken: {', '.join(broken)}" if broken else ""))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
