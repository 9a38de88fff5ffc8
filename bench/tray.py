"""Tray start-up time and idle memory: ``python bench/tray.py [--offscreen] [--idle S]``.

Starts ``musicrec tray`` in a fresh data folder whose settings name a small music folder and
watch it, under Xvfb (or Qt's offscreen platform when Xvfb is missing or --offscreen is given).
Times launch -> tray icon shown (the running tray answers on its single-instance socket only
after showing the icon), then measures resident memory and CPU time while it sits idle watching
the folder, again after a song was added to the folder and the tray had a few more idle seconds
(no model is built, so the change is only noticed and held), and how long a SIGTERM takes to end
it. Goals: shown within 1.5 s (median), at most 150 MB resident while idle; exits 1 when one is
missed.

``--rebuild`` then asks the running tray for "Rebuild model" (as ``musicrec tray --rebuild``
does), waits for it to finish (cache, a quick encoder training on the CPU, embeddings, rating
model, playlists) and measures the tray's resident memory and whether libtorch is mapped in it.
Goal: no libtorch and at most 150 MB after the rebuild.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QCoreApplication  # noqa: E402

from musicrec_desktop.app.single_instance import send, server_name  # noqa: E402
from musicrec_desktop.paths import DataDirs  # noqa: E402

VISIBLE_GOAL_S = 1.5
RSS_GOAL_MB = 150.0
SONGS = 5  # in the watched folder


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_xvfb() -> tuple[subprocess.Popen, str] | None:
    if shutil.which("Xvfb") is None:
        return None
    for number in range(90, 120):
        if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
            command = ["Xvfb", f":{number}", "-screen", "0", "1280x800x24", "-nolisten", "tcp"]
            server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not Path(f"/tmp/.X11-unix/X{number}").exists():
                time.sleep(0.05)
            return server, f":{number}"
    return None


def write_song(path: Path, seconds: float = 12.0) -> Path:
    """A real, quiet FLAC file with the tags the folder library reads."""
    import numpy as np
    import soundfile as sf
    from mutagen.flac import FLAC

    t = np.arange(int(16000 * seconds)) / 16000
    freq = 220 + 40 * (sum(map(ord, path.stem)) % 12)  # songs differ, so the encoder has something to learn
    sf.write(path, (0.1 * np.sin(2 * np.pi * freq * t)).astype(np.float32), 16000)
    tags = FLAC(path)
    tags["title"], tags["artist"], tags["genre"] = path.stem, "Bench Band", "Rock"
    tags.save()
    return path


def prepare(data: Path, encoder: str) -> Path:
    """Settings that point at a small music folder and watch it; returns the folder."""
    from musicrec_desktop.settings import Settings

    music = data / "music"
    music.mkdir(parents=True)
    for i in range(SONGS):
        write_song(music / f"song{i}.flac")
    dirs = DataDirs.under(data).create()
    Settings(player="folders", music_folders=[str(music)], watch_library=True, notifications=False,
             output_dir=str(data / "playlists"), encoder=encoder).save(dirs.settings_file)
    return music


def libtorch_mapped(pid: int) -> bool:
    return any("libtorch" in line for line in Path(f"/proc/{pid}/maps").read_text().splitlines())


def rebuild(name: str, pid: int, timeout_s: float) -> dict:
    """Asks the tray to rebuild, waits until it is idle again, and measures it."""
    started = time.monotonic()
    send(name, "rebuild", 1000)
    status, peak = "", 0.0
    while time.monotonic() - started < timeout_s:
        time.sleep(1.0)
        peak = max(peak, rss_mb(pid))
        status = send(name, "status", 1000) or ""
        if time.monotonic() - started > 3 and not status.startswith("ok working"):
            break
    seconds = time.monotonic() - started
    time.sleep(3.0)  # the finished run's last signals and a notification
    return {"rebuild_status": status, "rebuild_s": seconds, "rss_after_rebuild_mb": rss_mb(pid),
            "peak_during_rebuild_mb": peak, "libtorch_after_rebuild": libtorch_mapped(pid)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--offscreen", action="store_true", help="use Qt's offscreen platform")
    parser.add_argument("--idle", type=float, default=10.0,
                        help="seconds to settle, then seconds measured idle")
    parser.add_argument("--runs", type=int, default=3,
                        help="launches to time (the best and median are shown)")
    parser.add_argument("--rebuild", action="store_true",
                        help="then rebuild the model from the tray and measure it afterwards")
    parser.add_argument("--rebuild-timeout", type=float, default=1800.0, metavar="S")
    parser.add_argument("--encoder", default="moco",
                        help="the encoder setting (default moco: the rebuild trains it with torch)")
    args = parser.parse_args()
    QCoreApplication([])  # for the local socket the tray answers on
    xvfb = None if args.offscreen else start_xvfb()
    env = dict(os.environ)
    if xvfb is not None:
        env["DISPLAY"], platform = xvfb[1], f"xcb on Xvfb {xvfb[1]}"
        env.pop("QT_QPA_PLATFORM", None)
    else:
        env["QT_QPA_PLATFORM"], platform = "offscreen", "offscreen"
    times, results = [], {}
    try:
        for run in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="musicrec-bench-") as data:
                env["XDG_CONFIG_HOME"] = str(Path(data) / "xdg")
                music = prepare(Path(data), args.encoder)
                name = server_name(DataDirs.under(Path(data)).config)
                start = time.monotonic()
                tray = subprocess.Popen([sys.executable, "-m", "musicrec_desktop", "--data-dir", data,
                                         "tray", "--no-update"], env=env, cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                reply = None
                while reply is None and tray.poll() is None and time.monotonic() - start < 30:
                    reply = send(name, "status", 200)
                    if reply is None:
                        time.sleep(0.01)
                if reply is None:
                    print(f"the tray did not start: {tray.stderr.read().decode()[-2000:]}", file=sys.stderr)
                    tray.kill()
                    return 1
                times.append(time.monotonic() - start)
                if run == args.runs - 1:
                    time.sleep(args.idle)
                    cpu0, t0 = cpu_s(tray.pid), time.monotonic()
                    time.sleep(args.idle)
                    results["idle_cpu_share"] = (cpu_s(tray.pid) - cpu0) / (time.monotonic() - t0)
                    results["rss_mb"] = rss_mb(tray.pid)
                    write_song(music / "added.flac")  # the watcher notices it after 5 quiet seconds
                    time.sleep(5 + args.idle)
                    results["rss_after_change_mb"] = rss_mb(tray.pid)
                    results["status"] = send(name, "status", 1000)
                    if args.rebuild:
                        results.update(rebuild(name, tray.pid, args.rebuild_timeout))
                stop = time.monotonic()
                tray.send_signal(signal.SIGTERM)
                results["exit_code"] = tray.wait(30)
                results["quit_s"] = time.monotonic() - stop
    finally:
        if xvfb is not None:
            xvfb[0].terminate()
            xvfb[0].wait(10)
    times.sort()
    median = times[len(times) // 2]
    goals = {"shown": median <= VISIBLE_GOAL_S, "idle memory": results["rss_mb"] <= RSS_GOAL_MB,
             "idle memory after a change": results["rss_after_change_mb"] <= RSS_GOAL_MB}
    verdict = {True: "OK", False: "MISSED"}
    print(f"platform: {platform}")
    print(f"launch -> tray shown: best {times[0]:.2f} s, median {median:.2f} s over {len(times)} runs "
          f"(goal {VISIBLE_GOAL_S} s) {verdict[goals['shown']]}")
    print(f"idle resident memory after {2 * args.idle:.0f} s, watching {SONGS} songs: "
          f"{results['rss_mb']:.0f} MB (goal {RSS_GOAL_MB:.0f} MB) {verdict[goals['idle memory']]}")
    print(f"idle resident memory {5 + args.idle:.0f} s after a song was added: "
          f"{results['rss_after_change_mb']:.0f} MB (goal {RSS_GOAL_MB:.0f} MB) "
          f"{verdict[goals['idle memory after a change']]}; tray says {results['status']!r}")
    print(f"idle CPU: {100 * results['idle_cpu_share']:.2f} % of one core over {args.idle:.0f} s")
    print(f"SIGTERM -> exit: {results['quit_s']:.2f} s, exit code {results['exit_code']}")
    if args.rebuild:
        goals["after a rebuild"] = (not results["libtorch_after_rebuild"]
                                    and results["rss_after_rebuild_mb"] <= RSS_GOAL_MB)
        print(f"rebuild from the tray: {results['rebuild_s']:.0f} s, ended {results['rebuild_status']!r}; "
              f"the tray's resident memory at most {results['peak_during_rebuild_mb']:.0f} MB during it, "
              f"{results['rss_after_rebuild_mb']:.0f} MB after it (goal {RSS_GOAL_MB:.0f} MB), libtorch "
              f"{'mapped' if results['libtorch_after_rebuild'] else 'not mapped'} "
              f"{verdict[goals['after a rebuild']]}")
    missed = [goal for goal, met in goals.items() if not met]
    if missed or results["exit_code"] != 0:
        print(f"MISSED: {', '.join(missed) or 'a clean exit'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
